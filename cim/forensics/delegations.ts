import { naturalCompare } from '../scope-tree';
import type { ActionRecord, ScopeRecord } from '../schemas';

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
  /** Which try of `delegate(…, { attempts })` this scope was: 1 unless it retried a failed one. */
  attempt: number;
  /** The failed scope this one tried again, if it is a retry. */
  retryOf: string | null;
  /** The scope that tried this one again after it failed, if any. */
  retriedAs: string | null;
}

const outcomeOf = (s: ScopeRecord): ScopeOutcome => ({ scopeId: s.scopeId, agent: s.agent, status: s.status, recovered: s.recovered });

/**
 * The delegations a scope made, each with the outcome of its handoff chain. A
 * delegate that hands off ends its own scope (usually as `success`), but the
 * delegation is only over when the last scope of the chain is: reading the first
 * scope alone would report a failed delegation as a success.
 */
export function delegationOutcomes(scopeId: string, scopes: readonly ScopeRecord[], delegateActions: readonly ActionRecord[] = []): DelegationOutcome[] {
  const children = scopes.filter((s) => s.parentScopeId === scopeId);
  const next = handoffSuccessors(children);
  const tries = delegationTries(delegateActions.filter((a) => a.scopeId === scopeId));
  return children
    .filter((s) => s.kind === 'delegation')
    .sort((a, b) => naturalCompare(a.scopeId, b.scopeId))
    .map((d) => {
      const chain = handoffChain(d, next);
      const t = tries.get(d.scopeId);
      return {
        ...outcomeOf(d),
        outcome: outcomeOf(chain.at(-1) ?? d),
        handoffs: chain.map(outcomeOf),
        attempt: t?.attempt ?? 1,
        retryOf: t?.retryOf ?? null,
        retriedAs: t?.retriedAs ?? null,
      };
    });
}

interface DelegationTry {
  attempt: number;
  retryOf: string | null;
  retriedAs: string | null;
}

/**
 * Which delegations retried which, from one delegator's `delegate` actions. The rows keep each
 * try's number, not the call it belonged to: a try numbered n retries the latest earlier try n−1
 * to the same agent not yet retried. delegate() starts try n only after try n−1 failed, so
 * within one call the tries are in order; two calls to one agent in flight at once may pair
 * across calls, which names a retry of the same agent with the same objective either way.
 */
export function delegationTries(actions: readonly ActionRecord[]): Map<string, DelegationTry> {
  const out = new Map<string, DelegationTry>();
  const delegations = actions
    .filter((a) => a.kind === 'delegate' && a.targetScopeId !== null)
    .sort((x, y) => Date.parse(x.startedAt) - Date.parse(y.startedAt) || naturalCompare(x.actionId, y.actionId));
  const open = new Map<string, string[]>(); // `${agent}\u0000${attempt}` → scopes not yet retried, oldest first
  for (const a of delegations) {
    const target = a.targetScopeId!;
    const previous = a.attempt > 1 ? open.get(`${a.name}\u0000${a.attempt - 1}`)?.pop() : undefined;
    out.set(target, { attempt: a.attempt, retryOf: previous ?? null, retriedAs: null });
    if (previous) out.get(previous)!.retriedAs = target;
    const key = `${a.name}\u0000${a.attempt}`;
    open.set(key, [...(open.get(key) ?? []), target]);
  }
  return out;
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
