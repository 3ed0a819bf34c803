import type { ActionRecord, ScopeRecord } from '../schemas';
import { groupCalls, scopeChain, type ChainLink } from './calls';
import { byStart } from './shared';

// root cause

export interface RootCause {
  /** The final attempt of the failing call; null when the failure was the agent's own code. */
  action: ActionRecord | null;
  /** Every attempt of that call, by attempt (empty when `action` is null). */
  attempts: ActionRecord[];
  /** The scope the failure happened in. */
  scope: ScopeRecord;
  agent: string;
  /** From the failing scope up to the session's root, through delegations and handoffs. */
  chain: ScopeRecord[];
  /** `links[i]` joins `chain[i]` to `chain[i + 1]`. */
  links: ChainLink[];
  /** Scopes on the chain that the failure (or another one) left `error` or `degraded`. */
  impact: ScopeRecord[];
  /** Calls that failed at least once and then succeeded: noise a reader may want to know about, not causes. */
  recoveredFailures: number;
}

/**
 * Why a session failed.
 *
 * The cause is the earliest *call* whose final attempt failed: failures propagate up
 * (a tool error fails its agent, which fails its delegator), so the first leaf
 * failure in time is where the damage started, and everything above it is impact.
 * A call is judged by its final attempt because an attempt that a retry made good
 * did not cause anything; those are only counted (`recoveredFailures`).
 *
 * When no call failed, an agent may still have failed by throwing in its own code.
 * Then the cause is the earliest `error` scope that no `error` child explains: a
 * scope whose child failed is only passing the failure on.
 *
 * Actions whose scope is not among `scopes` are ignored: a cause without its
 * delegation chain cannot be placed, and the missing row is a reconcile finding.
 * Returns null when nothing failed.
 */
export function rootCause(scopes: readonly ScopeRecord[], actions: readonly ActionRecord[]): RootCause | null {
  const byId = new Map(scopes.map((s) => [s.scopeId, s]));
  const calls = groupCalls(actions.filter((a) => byId.has(a.scopeId)));
  const recoveredFailures = calls.filter((c) => c.recovered).length;

  const failedCall = calls.find((c) => c.failed);
  let scope: ScopeRecord;
  let action: ActionRecord | null = null;
  let attempts: ActionRecord[] = [];
  if (failedCall) {
    scope = byId.get(failedCall.scopeId)!;
    action = failedCall.final;
    attempts = failedCall.attempts;
  } else {
    const failedChildOf = new Set(scopes.filter((s) => s.status === 'error' && s.parentScopeId !== null).map((s) => s.parentScopeId));
    const own = scopes.filter((s) => s.status === 'error' && !failedChildOf.has(s.scopeId)).sort(byStart)[0];
    if (!own) return null;
    scope = own;
  }
  const { chain, links } = scopeChain(scope, scopes);
  return {
    action,
    attempts,
    scope,
    agent: action?.agent ?? scope.agent,
    chain,
    links,
    impact: chain.filter((s) => s.status === 'error' || s.status === 'degraded'),
    recoveredFailures,
  };
}
