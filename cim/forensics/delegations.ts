import { naturalCompare } from '../scope-tree';
import type { ScopeRecord } from '../schemas';

// delegations and the handoff chains that finish them

type ScopeOutcome = Pick<ScopeRecord, 'scopeId' | 'agent' | 'status' | 'recovered'>;

export interface DelegationOutcome extends ScopeOutcome {
  /**
   * Where the delegated work ended: the last scope of the handoff chain that started
   * with this delegation (the delegation itself when it did not hand off). Its result
   * is what the delegator got back, so its status is the delegation's outcome.
   */
  outcome: ScopeOutcome;
  /** The scopes the delegation handed off to, in order. */
  handoffs: ScopeOutcome[];
}

const outcomeOf = (s: ScopeRecord): ScopeOutcome => ({ scopeId: s.scopeId, agent: s.agent, status: s.status, recovered: s.recovered });

/**
 * The delegations a scope made, each with the outcome of its handoff chain. A
 * delegate that hands off ends its own scope (usually as `success`), but the
 * delegation is only over when the last scope of the chain is: reading the first
 * scope alone would report a failed delegation as a success.
 */
export function delegationOutcomes(scopeId: string, scopes: readonly ScopeRecord[]): DelegationOutcome[] {
  const children = scopes.filter((s) => s.parentScopeId === scopeId);
  const next = handoffSuccessors(children);
  return children
    .filter((s) => s.kind === 'delegation')
    .sort((a, b) => naturalCompare(a.scopeId, b.scopeId))
    .map((d) => {
      const chain = handoffChain(d, next);
      return { ...outcomeOf(d), outcome: outcomeOf(chain.at(-1) ?? d), handoffs: chain.map(outcomeOf) };
    });
}

/** Each scope that took over by handoff, by the scope it took over from. */
export function handoffSuccessors(scopes: readonly ScopeRecord[]): Map<string, ScopeRecord> {
  const next = new Map<string, ScopeRecord>();
  for (const s of scopes) if (s.kind === 'handoff' && s.handoffFromScopeId !== null) next.set(s.handoffFromScopeId, s);
  return next;
}

/** The scopes `first` handed off to, in order (see handoffSuccessors). */
export function handoffChain(first: ScopeRecord, next: ReadonlyMap<string, ScopeRecord>): ScopeRecord[] {
  const chain: ScopeRecord[] = [];
  const seen = new Set([first.scopeId]);
  // A cycle of forged rows must not hang the query.
  for (let n = next.get(first.scopeId); n && !seen.has(n.scopeId); n = next.get(n.scopeId)) {
    chain.push(n);
    seen.add(n.scopeId);
  }
  return chain;
}
