import type { ActionRecord, ScopeRecord } from '../schemas';
import { groupCalls, scopeChain, type ChainLink, type ToolCall } from './calls';
import { byEnd, byStart } from './shared';
import { handoffChain, handoffSuccessors } from './delegations';

// root cause

export interface RootCause {
  /**
   * The final attempt of the failing call; the scope's `budget_exceeded` action when it failed by
   * running out of budget; null when the failure was the agent's own code.
   */
  action: ActionRecord | null;
  /** Every attempt of that call, by attempt (empty when `action` is null, the overrun alone for a budget). */
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
  /**
   * Every other scope of the session that ended in `error`, off the chain: branches that
   * failed beside the cause (a delegation the agent caught, a handoff that failed), in
   * the order they started. The cause is one failure; these are the rest.
   */
  otherFailures: ScopeRecord[];
}

/**
 * Why a session failed.
 *
 * A failed scope records what failed it, when it fails (`failedBy`): its own code, a call,
 * or a delegation whose failure passed up. The cause is found by following that from the
 * top of the session (the last scope of the root's handoff chain that did not succeed) down to where the
 * failure started. Agents catch failures and go on, so the earliest failure in time is
 * often not the one that failed the session: a caught tool error, then an agent that
 * throws for reasons of its own, is the agent's failure, not the tool's.
 *
 * A degraded scope is degraded by its delegations (the status rules: a caught call degrades
 * nothing), so a degraded session is followed into the first of its failed delegations to
 * end (or, where none failed, the first degraded one), and on down from there.
 *
 * Where the records do not say (every delegation of the top failed and was caught; rows
 * written before `failedBy` was recorded), the cause is the earliest *call* whose final attempt failed: failures
 * usually propagate up, so the first leaf failure in time is where the damage started,
 * and everything above it is impact. A call is judged by its final attempt because an
 * attempt that a retry made good did not cause anything; those are only counted
 * (`recoveredFailures`). When no call failed, an agent may still have failed by throwing
 * in its own code: then the cause is the earliest `error` scope that no `error` child
 * explains, a scope whose child failed being only one that passed the failure on.
 *
 * A scope that ran out of budget fails by itself (its agent's code did nothing wrong): its
 * `budget_exceeded` action, recorded as the overrun happened, is then the cause.
 *
 * Actions whose scope is not among `scopes` are ignored: a cause without its
 * delegation chain cannot be placed, and the missing row is a reconcile finding.
 * Returns null when nothing failed.
 */
export function rootCause(scopes: readonly ScopeRecord[], actions: readonly ActionRecord[]): RootCause | null {
  // A session that succeeded has no root cause, whatever failures its agents caught on the way.
  if (sessionSucceeded(scopes)) return null;
  const byId = new Map(scopes.map((s) => [s.scopeId, s]));
  const calls = groupCalls(actions.filter((a) => byId.has(a.scopeId)));
  const recoveredFailures = calls.filter((c) => c.recovered).length;

  const followed = followFailure(scopes, byId, calls);
  let scope: ScopeRecord;
  let failedCall: ToolCall | undefined;
  if ('scope' in followed) {
    scope = followed.scope;
    failedCall = followed.call;
  } else {
    // Below where the records stop saying, the earliest failure there (its subtree is what its path holds).
    const under = followed.within?.path;
    const within = under === undefined ? undefined : new Set(scopes.filter((s) => s.path.startsWith(under)).map((s) => s.scopeId));
    const inside = (scopeId: string) => within === undefined || within.has(scopeId);
    failedCall = calls.find((c) => c.failed && inside(c.scopeId));
    if (failedCall) {
      scope = byId.get(failedCall.scopeId)!;
    } else {
      const candidates = scopes.filter((s) => inside(s.scopeId));
      const failedChildOf = new Set(candidates.filter((s) => s.status === 'error' && s.parentScopeId !== null).map((s) => s.parentScopeId));
      const own = candidates.filter((s) => s.status === 'error' && !failedChildOf.has(s.scopeId)).sort(byStart)[0];
      if (!own) {
        if (followed.within === null) return null;
        scope = followed.within;
      } else {
        scope = own;
      }
    }
  }
  const { chain, links } = scopeChain(scope, scopes);
  // Failed by itself: an overrun (the scope records one at most) is what failed it.
  const overrun = failedCall ? undefined : actions.find((a) => a.scopeId === scope.scopeId && a.kind === 'budget_exceeded');
  const action = failedCall?.final ?? overrun ?? null;
  return {
    action,
    attempts: failedCall?.attempts ?? (overrun ? [overrun] : []),
    scope,
    agent: action?.agent ?? scope.agent,
    chain,
    links,
    impact: chain.filter((s) => s.status === 'error' || s.status === 'degraded'),
    recoveredFailures,
    otherFailures: scopes.filter((s) => s.status === 'error' && !chain.includes(s)).sort(byStart),
  };
}

/**
 * The failure that failed the session, followed down what each failed scope recorded as
 * failing it. Where a scope on the way does not say (a run that ended without its agent
 * code, a row from before), or says what its records do not bear out (a call that did not
 * fail, a scope that is not its delegation), `within` is that scope: the cause is below it.
 * `within` is null when the top of the session did not fail by itself.
 */
function followFailure(
  scopes: readonly ScopeRecord[],
  byId: ReadonlyMap<string, ScopeRecord>,
  calls: readonly ToolCall[],
): { scope: ScopeRecord; call: ToolCall | undefined } | { within: ScopeRecord | null } {
  const successors = handoffSuccessors(scopes);
  // Where a delegated piece of work (or the session) ended: the last scope it handed off to.
  const lastOf = (first: ScopeRecord): ScopeRecord => handoffChain(first, successors).at(-1) ?? first;
  const root = scopes.find((s) => s.kind === 'root' && s.parentScopeId === null);
  if (!root) return { within: null };
  // The session did not succeed because some scope of the root's handoff chain did not: the last
  // of those is where to start. The last of the chain may well have succeeded after a predecessor
  // that handed off to it came out degraded.
  const chain = [root, ...handoffChain(root, successors)];
  const top = [...chain].reverse().find((s) => s.status !== 'success') ?? lastOf(root);
  const visited = new Set<string>();
  for (let scope = top; ; ) {
    const stop = { within: scope === top ? null : scope };
    if (visited.has(scope.scopeId)) return stop;
    if (scope.status === 'degraded') {
      // Degraded by the status rules: some delegation of it failed, or came back degraded itself
      // (a call it caught degrades nothing). The first of those failed ones to end is where to look.
      visited.add(scope.scopeId);
      const delegated = scopes.filter((c) => c.parentScopeId === scope.scopeId && c.kind === 'delegation').map(lastOf);
      const next = delegated.filter((c) => c.status === 'error').sort(byEnd)[0] ?? delegated.filter((c) => c.status === 'degraded').sort(byEnd)[0];
      if (!next) return stop;
      scope = next;
      continue;
    }
    if (scope.status !== 'error') return stop;
    visited.add(scope.scopeId);
    if (scope.failedBy === undefined) {
      // In error without failing itself: every delegation it made failed and it caught them.
      // The first of those to fail is where to look, not a call it caught beside them.
      // Delegations run side by side: the first to fail is the one whose work ended first, not started first.
      const failed = scopes
        .filter((c) => c.parentScopeId === scope.scopeId && c.kind === 'delegation' && lastOf(c).status === 'error')
        .map(lastOf)
        .sort(byEnd)[0];
      if (!failed) return stop;
      scope = failed;
      continue;
    }
    const by = scope.failedBy;
    if (by === scope.scopeId) return { scope, call: undefined };
    const call = calls.find((c) => c.scopeId === scope.scopeId && c.activityId === by);
    if (call) return call.failed ? { scope, call } : stop;
    const child = byId.get(by);
    if (!child || child.parentScopeId !== scope.scopeId || child.kind !== 'delegation') return stop;
    scope = lastOf(child);
  }
}


/** The root and every scope it handed off to ended `success`: the session did what it was asked. */
function sessionSucceeded(scopes: readonly ScopeRecord[]): boolean {
  const root = scopes.find((s) => s.kind === 'root' && s.parentScopeId === null);
  if (!root) return false;
  const successors = handoffSuccessors(scopes);
  return [root, ...handoffChain(root, successors)].every((s) => s.status === 'success');
}
