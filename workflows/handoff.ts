/**
 * handoff(): control passes sideways. The current scope ends as `handed_off` and the
 * workflow continues-as-new as the target agent's workflow type, keeping its
 * workflow id: the new run is a new scope of kind `handoff` in the same session,
 * with `handoffFromScopeId` set — neither agent is the other's parent. It keeps the
 * parent of the scope it took over from: inside a delegation the target still works
 * for the delegator (its result is what the delegation returns), so it belongs to the
 * delegator's subtree; at the top of a session it has no parent.
 */
import { makeContinueAsNewFunc, workflowInfo } from '@temporalio/workflow';
import type { TypedSearchAttributes } from '@temporalio/common';
import { handoffRequestSchema, type ScopeContext } from '../cim/scope-context';
import { handoffPath, handoffScopeId } from '../cim/ids';
import { handedOverBudget } from '../cim/budget';
import { rollUpStatus } from '../cim/status';
import { agentNameOf, isKnownAgent, knownAgentNames, type AgentWorkflow } from './agent';
import { actionRecord, emitAction, emitPayload, nextActionId, now, requireState, type ScopeState } from './scope-state';
import { invalidField } from '../cim/invalid-field';
import { SCOPE_MEMO } from '../cim/names';
import { scopeMemo, scopeSearchAttributes } from '../cim/scope-visibility';
import { continueAsNewSuggested, continueInScope, memoWithObjective } from './continuation';
import { UNSENDABLE_HANDOFF_INPUT, unsendableInput } from './sendable-result';

export interface HandoffOptions<I> {
  reason: string;
  input: I;
  /**
   * Data to keep with the handoff's record in the store instead of passing it through
   * Temporal (whose payloads are limited): the target finds it by the scope it took
   * over from. Used for long conversations.
   */
  byReference?: unknown;
}

export async function handoff<I>(agent: AgentWorkflow<I, unknown> | string, options: HandoffOptions<I>): Promise<never> {
  const st = requireState('handoff()');
  const to = typeof agent === 'string' ? agent : agentNameOf(agent);
  const request = handoffRequestSchema().safeParse({ to, reason: options.reason, input: options.input });
  if (!request.success) {
    throw new TypeError(invalidField('handoff', request.error, 'options'));
  }
  if (!isKnownAgent(to)) {
    // Continuing as a workflow type this worker does not have would leave the session stuck.
    throw new TypeError(`handoff: unknown agent "${to}"; this worker's agents are ${knownAgentNames().join(', ')}`);
  }
  const start = prepareHandoff(st, to, options.reason, options.input, options.byReference);
  return makeContinueAsNewFunc<(input: I) => Promise<unknown>>({ workflowType: to, ...start })(options.input);
}

/**
 * Records the handoff to `to` and readies the next scope's context (ScopeState.pendingHandoff);
 * returns the memo and search attributes its run starts with: `base`'s (this run's unless
 * given) with the next scope's. Also used for a continue-as-new into another agent that the
 * agent asked of Temporal directly (workflows/interceptors.ts).
 */
export function prepareHandoff(
  st: ScopeState,
  to: string,
  reason: string,
  input: unknown,
  byReference?: unknown,
  base: { memo?: Record<string, unknown>; typedSearchAttributes?: TypedSearchAttributes } = {},
): { memo: Record<string, unknown>; typedSearchAttributes?: TypedSearchAttributes } {
  // The SDK converts the input only as the run continues, after the handoff's records have gone out.
  const unsent = unsendableInput(`handoff to ${to}`, input, UNSENDABLE_HANDOFF_INPUT);
  if (unsent) throw unsent;
  const info = workflowInfo();
  const handoffIndex = st.ctx.handoffIndex + 1;
  const scopeId = handoffScopeId(info.workflowId, handoffIndex);
  const next: ScopeContext = {
    sessionId: st.ctx.sessionId,
    scopeId,
    parentScopeId: st.ctx.parentScopeId,
    handoffFromScopeId: st.ctx.scopeId,
    kind: 'handoff',
    agent: to,
    agentVersion: 'unknown',
    // Nobody delegated to the target: its mandate reached it sideways (handoffFromScopeId).
    delegatedBy: null,
    // Control moves sideways, authority does not grow: the next agent inherits this scope's allowance.
    allowance: st.ctx.allowance,
    depth: st.ctx.depth,
    path: handoffPath(st.ctx, scopeId),
    handoffIndex,
    visibility: st.ctx.visibility,
    // The target spends from what is left, and carries what was spent for the delegator's account.
    budget: handedOverBudget(st.ctx.budget, st.used, st.ctx.scopeId, scopeId),
    sessionStartedAt: st.ctx.sessionStartedAt,
  };
  // The delegator sees only the chain's last result: a recovery on the way must reach it.
  if (st.ctx.chainRecovered || rollUpStatus({ own: 'handed_off', delegations: st.delegations, calls: st.calls, recoveredEarlier: st.ctx.continuation?.recoveredCalls }).recovered) {
    next.chainRecovered = true;
  }
  const actionId = nextActionId(st);
  // The payload goes first: whoever finds the handoff action can then find what it carried.
  if (byReference !== undefined) emitPayload(actionId, 'input', byReference);
  emitAction(
    actionRecord(st, actionId, {
      kind: 'handoff',
      name: to,
      status: 'success',
      endedAt: now(),
      targetScopeId: scopeId,
      input: { reason, input: input ?? null },
    }),
  );
  st.pendingHandoff = next;
  // The reason becomes the next scope's objective; like any user text it travels in the
  // memo (encoded by the worker's payload codec), not in the header.
  // The next scope's search attributes and memo go with the start of its run (cim/scope-visibility.ts).
  // The run's other search attributes go on with it, as they would without any given.
  const memo = memoWithObjective(reason, base.memo);
  if (next.visibility) memo[SCOPE_MEMO] = scopeMemo(next, reason);
  const attributes = next.visibility ? (base.typedSearchAttributes ?? info.typedSearchAttributes).updateCopy(scopeSearchAttributes(next)) : base.typedSearchAttributes;
  return attributes ? { memo, typedSearchAttributes: attributes } : { memo };
}

/** The handoff a router or a person asked for by signal, if any is waiting. */
export function requestedHandoff(): { to: string; reason: string; input: unknown } | undefined {
  const req = requireState('requestedHandoff()').requestedHandoff;
  return req ? { to: req.to, reason: req.reason, input: req.input } : undefined;
}

/**
 * A safe point between an agent's steps. If a handoff was requested by signal, it is
 * performed now (this call then never returns). Otherwise, given `continueWith`, a scope
 * whose history Temporal says has grown long continues-as-new in the same scope and the
 * agent starts again with `continueWith` (never returns either). Else it returns at once.
 */
export async function checkpoint<I>(options: { continueWith?: I } = {}): Promise<void> {
  const req = requireState('checkpoint()').requestedHandoff;
  if (req) await handoff(req.to, { reason: req.reason, input: req.input });
  if (options.continueWith !== undefined && continueAsNewSuggested()) await continueInScope(options.continueWith);
}
