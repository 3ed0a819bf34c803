/**
 * Workflow interceptors (sandbox side). They carry the scope context across every
 * border Temporal offers — child workflow start, activity schedule, continue-as-new,
 * signal — in the `scopetrail-scope` header, and record delegations and signals as
 * CIM actions. Registered on the worker through `interceptors.workflowModules`.
 */
import {
  CancellationScope,
  isCancellation,
  workflowInfo,
  type ActivityInput,
  type ContinueAsNewInput,
  type LocalActivityInput,
  type Next,
  type SignalInput,
  type SignalWorkflowInput,
  type StartChildWorkflowExecutionInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInternalsInterceptor,
  type ConcludeActivationInput,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { TypedSearchAttributes, type Payload } from '@temporalio/common';
import { HANDOFF_SIGNAL, UNHANDLED_SIGNAL_ERROR } from '../cim/names';
import { handoffRequestSchema, type ScopeContext } from '../cim/scope-context';
import { childPath } from '../cim/ids';
import { intersectAllowances } from '../cim/allowance';
import { narrowBudget, remainingBudget } from '../cim/budget';
import { chargeDelegate, usageInFailure } from './budget';
import { SCOPE_HEADER, decodeScopeHeader, encodeScopeHeader, legacyHeaderObjective } from '../cim/header';
import { OBJECTIVE_MEMO, SCOPE_MEMO } from '../cim/names';
import { scopeMemo, scopeSearchAttributes } from '../cim/scope-visibility';
import { unwrapAgentResult } from '../cim/envelope';
import { isKnownAgent } from './agent';
import { terminatedWithParent } from './open-delegates';
import { trackCall, trackLocalCall } from './open-calls';
import { isPlainCall, plainCall } from './plain-calls';
import { invalidChildDuration } from './child-options';
import { UNSENDABLE_DELEGATION_INPUT, unsendableInput } from './sendable-result';
import { memoWithObjective, prepareContinuation } from './continuation';
import { prepareHandoff } from './handoff';
import {
  actionRecord,
  batchRecordsPerActivation,
  currentState,
  emitAction,
  errorMessage,
  flushRecords,
  nextActionId,
  now,
  setIncomingContext,
  type ScopeState,
} from './scope-state';
import { invalidField } from '../cim/invalid-field';
import { ALREADY_PENDING_REFUSAL, unknownAgentRefusal } from '../cim/handoff-request';

class ScopeInbound implements WorkflowInboundCallsInterceptor {
  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    // Not `async` (see ScopeOutbound): a header that cannot be read still fails the run's execution.
    return withHeader(() => {
      setIncomingContext(decodeScopeHeader(input.headers[SCOPE_HEADER]), legacyHeaderObjective(input.headers[SCOPE_HEADER]));
      return next(input);
    });
  }

  async handleSignal(input: SignalInput, next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>): Promise<void> {
    const st = currentState();
    // A replayed run's last task committed what it drained before it completed; a history
    // written before unhandled signals were recorded must not add rows to a sealed scope.
    const replayedDrain = st?.drainingSignals && workflowInfo().unsafe.isReplaying;
    if (st && !input.signalName.startsWith('__') && !replayedDrain) {
      const sender = decodeScopeHeader(input.headers[SCOPE_HEADER]);
      let error: string | null = null;
      if (st.drainingSignals) {
        error = UNHANDLED_SIGNAL_ERROR;
      } else if (input.signalName === HANDOFF_SIGNAL) {
        const req = handoffRequestSchema().safeParse(input.args[0]);
        if (!req.success) {
          error = invalidField('handoff request', req.error, 'payload');
        } else if (!isKnownAgent(req.data.to)) {
          error = unknownAgentRefusal(req.data.to);
        } else if (st.requestedHandoff) {
          error = ALREADY_PENDING_REFUSAL;
        }
      }
      // An accepted handoff request waits for the agent's next checkpoint: its row stays
      // `running` until the run ends and says whether it was honoured (handoff-request.ts).
      const pending = input.signalName === HANDOFF_SIGNAL && error === null;
      const row = emitAction(
        actionRecord(st, nextActionId(st), {
          kind: 'signal',
          name: input.signalName,
          status: error ? 'error' : pending ? 'running' : 'success',
          error,
          endedAt: pending ? null : now(),
          input: { args: input.args, from: sender?.scopeId ?? null },
        }),
      );
      if (pending) st.requestedHandoffRow = row;
    }
    return next(input);
  }
}

/**
 * The calls that only add the scope header hand on the SDK's own promise instead of being
 * `async`: in the workflow sandbox every promise created is a stack trace captured and
 * source-mapped (the SDK's promise hook, for its stack-trace query), and these run once
 * per tool call. A header that cannot be made rejects the call, as an `async` method would.
 */
class ScopeOutbound implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    return withHeader(() => {
      const st = currentState();
      const plain = st !== undefined && isPlainCall(st);
      const scheduled = next(withScopeHeader(input, st?.ctx));
      if (!st) return scheduled;
      // Followed until it settles: a run that ends without awaiting it says so (open-calls.ts).
      const tracked = trackCall(st, input, scheduled);
      return plain ? plainCall(st, tracked) : tracked;
    });
  }

  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    return withHeader(() => {
      const st = currentState();
      const plain = st !== undefined && isPlainCall(st);
      const scheduled = next(withScopeHeader(input, st?.ctx));
      if (!st) return scheduled;
      const tracked = trackLocalCall(st, input, scheduled);
      return plain ? plainCall(st, tracked, input.activityType) : tracked;
    });
  }

  signalWorkflow(input: SignalWorkflowInput, next: Next<WorkflowOutboundCallsInterceptor, 'signalWorkflow'>): Promise<void> {
    return withHeader(() => next(withScopeHeader(input, currentState()?.ctx)));
  }

  continueAsNew(input: ContinueAsNewInput, next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>): Promise<never> {
    // A handoff carries the next scope's context; a continue-as-new in the scope keeps it.
    return withHeader(() => {
      const st = currentState();
      const to = input.options.workflowType;
      if (st && !st.pendingHandoff && !st.pendingContinuation) {
        // The agent called Temporal's continueAsNew itself. Into its own workflow type the
        // next run is the same scope (as continueInScope() has it), whose counters go with it,
        // so that its ids do not start again over this run's; its objective goes on in the memo.
        // Into any other type it is a handoff (as handoff() has it), with the memo and search
        // attributes the agent gave, and the next scope's: control leaves this scope either
        // way, and a type this worker does not have may be an agent of a worker on another
        // task queue, which begins that scope. (A type that is no agent anywhere never
        // begins it, and reconcile says so.)
        if (to === workflowInfo().workflowType) {
          prepareContinuation(st, input.args[0]);
          input = { ...input, options: { ...input.options, memo: memoWithObjective(st.objective, input.options.memo) } };
        } else {
          const { memo, typedSearchAttributes: given } = input.options;
          const typedSearchAttributes = Array.isArray(given) ? new TypedSearchAttributes(given) : given;
          const start = prepareHandoff(st, to, `continued as new as ${to}`, input.args[0], undefined, { memo, typedSearchAttributes });
          input = { ...input, options: { ...input.options, ...start } };
        }
      }
      return next(withScopeHeader(input, st?.pendingHandoff ?? st?.pendingContinuation ?? st?.ctx));
    });
  }

  startChildWorkflowExecution(
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ): Promise<[Promise<string>, Promise<unknown>]> {
    // Not `async`, like the tool callers (tools.ts): a promise made in the sandbox costs a captured stack.
    return withHeader(() => this.startChild(input, next));
  }

  private startChild(
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ): Promise<[Promise<string>, Promise<unknown>]> {
    const st = currentState();
    // A workflow of the user's own (no scope) that starts an agent gets the agent's value, as delegate() does.
    if (!st) return next(input).then(([started, completed]) => [started, completed.then((result) => unwrapAgentResult(result).value)]);
    const childId = input.options.workflowId;
    const pending = st.pendingChildren.get(childId);
    st.pendingChildren.delete(childId);
    // The scope the SDK links the child's cancellation to (it reads the same as it starts it).
    const startedIn = CancellationScope.current();
    // The SDK refuses a start asked for in a cancelled scope before it reaches Temporal: nothing happened to record.
    if (startedIn.consideredCancelled) return next(input);
    // Refused before its row is written: a start the SDK cannot build leaves nothing in history.
    const invalid = invalidChildDuration(`start child ${input.workflowType}`, input.options);
    if (invalid) return Promise.reject(invalid);
    // So is one whose input the SDK cannot convert: it would reject the start after its row went out.
    const unsent = unsendableInput(pending ? `delegate to ${input.workflowType}` : `start child ${input.workflowType}`, input.options.args?.[0], UNSENDABLE_DELEGATION_INPUT);
    if (unsent) return Promise.reject(unsent);
    const slot = pending?.slot ?? `c:${childId}`;
    const attempt = pending?.attempt ?? 1;
    const child: ScopeContext = {
      sessionId: st.ctx.sessionId,
      scopeId: childId,
      parentScopeId: st.ctx.scopeId,
      handoffFromScopeId: null,
      kind: 'delegation',
      agent: input.workflowType,
      // The child states its own version when it starts; this is what the parent knows.
      agentVersion: 'unknown',
      delegatedBy: st.ctx.agent,
      // A narrower allowance asked for in delegate() applies; a wider one is cut back to the delegator's.
      allowance: intersectAllowances(st.ctx.allowance, pending?.allowance ?? null) as string[] | null,
      depth: st.ctx.depth + 1,
      path: childPath(st.ctx.path, childId),
      handoffIndex: 0,
      visibility: st.ctx.visibility,
      // What the delegator has left, narrowed by what the delegation asked for.
      budget: narrowBudget(remainingBudget(st.ctx.budget, st.used), pending?.budget, Date.now(), childId),
      sessionStartedAt: st.ctx.sessionStartedAt,
    };
    const actionId = nextActionId(st);
    const base = actionRecord(st, actionId, {
      kind: 'delegate',
      name: input.workflowType,
      status: 'running',
      attempt,
      targetScopeId: childId,
    });
    // The end rewrites the row: it carries the input as written here, or the digest would be lost.
    const begun = emitAction({ ...base, input: input.options.args?.[0] ?? null });
    st.delegations.push({ slot, attempt, status: 'running', recovered: false });

    // The objective is the delegator's words: it goes in the child's memo, which the
    // worker's payload codec encodes, never in the header, which no codec sees.
    const objective = pending?.objective ?? null;
    const withObjective: StartChildWorkflowExecutionInput =
      objective === null ? input : { ...input, options: { ...input.options, memo: { ...input.options.memo, [OBJECTIVE_MEMO]: objective } } };
    const askedInTask = workflowInfo().historyLength;
    const starting = next(withScopeHeader(child.visibility ? visibleFromStart(withObjective, child, objective) : withObjective, child));
    return starting.then(([started, completed]) => {
      const tracked = completed.then(
        (result) => {
          st.openDelegates.delete(childId);
          const { meta } = unwrapAgentResult(result);
          chargeDelegate(st, meta?.used);
          settleDelegation(st, slot, attempt, meta?.status ?? 'success', meta?.recovered ?? false);
          emitAction({ ...begun, status: 'success', endedAt: now() });
          // Whatever started it (delegate(), or executeChild in the agent's code) gets the agent's own value.
          return unwrapAgentResult(result).value;
        },
        (err: unknown) => {
          st.openDelegates.delete(childId);
          chargeDelegate(st, usageInFailure(err));
          const cancelled = isCancellation(err);
          settleDelegation(st, slot, attempt, cancelled ? 'cancelled' : 'error', false);
          emitAction({
            ...begun,
            status: cancelled ? 'cancelled' : 'error',
            error: errorMessage(err),
            endedAt: now(),
          });
          throw err;
        },
      );
      // A child the server would terminate with this run is cancelled, and waited for, before
      // the run closes, so that it can record its end (open-delegates.ts).
      if (terminatedWithParent(input.options)) st.openDelegates.set(childId, { workflowId: childId, startedIn, askedInTask, started, settled: tracked });
      return [started, tracked];
    });
  }
}

/**
 * The child's search attributes and scope memo, set in its start (cim/scope-visibility.ts).
 * Search attributes the caller chose in `workflowOptions` are left as they are; the
 * child then upserts its own beside them.
 */
function visibleFromStart(input: StartChildWorkflowExecutionInput, child: ScopeContext, objective: string | null): StartChildWorkflowExecutionInput {
  const { options } = input;
  const memo = { ...options.memo, [SCOPE_MEMO]: scopeMemo(child, objective) };
  const callerAttributes = options.typedSearchAttributes !== undefined || options.searchAttributes !== undefined;
  return { ...input, options: { ...options, memo, ...(callerAttributes ? {} : { typedSearchAttributes: scopeSearchAttributes(child) }) } };
}

function settleDelegation(
  st: ScopeState,
  slot: string,
  attempt: number,
  status: ScopeState['delegations'][number]['status'],
  recovered: boolean,
): void {
  const entry = st.delegations.find((d) => d.slot === slot && d.attempt === attempt);
  if (entry) {
    entry.status = status;
    entry.recovered = recovered;
  }
}

/** The call's promise; a synchronous throw (while making its header, say) becomes its rejection. */
function withHeader<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Encoded headers by scope context. A context is replaced, never changed, when its scope
 * changes (agent.ts), so one scope's tool calls share one encoding.
 */
const encodedHeaders = new WeakMap<ScopeContext, Payload>();

function withScopeHeader<T extends { headers: Record<string, Payload> }>(input: T, ctx: ScopeContext | undefined): T {
  if (!ctx) return input;
  let header = encodedHeaders.get(ctx);
  if (!header) {
    header = encodeScopeHeader(ctx);
    encodedHeaders.set(ctx, header);
  }
  return { ...input, headers: { ...input.headers, [SCOPE_HEADER]: header } };
}

/** Hands the activation's records to the worker in one sink call, before its commands go out. */
class ScopeInternals implements WorkflowInternalsInterceptor {
  concludeActivation(input: ConcludeActivationInput, next: Next<WorkflowInternalsInterceptor, 'concludeActivation'>) {
    flushRecords();
    return next(input);
  }
}

/**
 * Found in the code of a workflow bundle only when this module is in it: a worker given
 * a prebuilt bundle reads its code for this text (worker/bundle-check.ts), and refuses a
 * bundle made without scopetrail's interceptors. Exported, so no bundler drops it.
 */
export const BUNDLE_MARK = 'scopetrail:workflow-interceptors:1';

export const interceptors: WorkflowInterceptorsFactory = () => {
  batchRecordsPerActivation();
  return {
    inbound: [new ScopeInbound()],
    outbound: [new ScopeOutbound()],
    internals: [new ScopeInternals()],
  };
};
