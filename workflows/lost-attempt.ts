/**
 * Attempts whose own record the store may lack. When a worker dies mid-attempt, the next
 * attempt completes the lost attempt's row (worker/activity-interceptor.ts); but the last
 * allowed attempt has no successor, and a successor may die too. And a worker cut off
 * from the store spools an attempt's record while the call's failure reaches the workflow
 * on another worker, which may seal the scope first (RELIABILITY.md). When Temporal fails
 * the call with MAXIMUM_ATTEMPTS_REACHED, the workflow knows exactly how many attempts
 * there were and fills in every row still missing or running. The fill never overwrites
 * an attempt that recorded its own end; where that end is already stored, as it is
 * whenever the tool's worker reached the store, it changes nothing.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import { activityActionId, scopedActivityId } from '../cim/ids';
import type { ActionKind } from '../cim/schemas';
import { actionRecord, emitGap, now, type ScopeState } from './scope-state';

export function recordLostFinalAttempt(
  st: ScopeState,
  err: unknown,
  kind: Extract<ActionKind, 'tool_call' | 'llm_call'>,
  input: unknown,
  maximumAttempts: number | undefined,
  /** When the agent made the call (the workflow's clock): the attempts ran between then and now. */
  calledAtMs?: number,
): void {
  if (!(err instanceof ActivityFailure)) return;
  if (err.retryState !== RetryState.MAXIMUM_ATTEMPTS_REACHED || !maximumAttempts || !err.activityId) return;
  const cause = err.cause;
  const final =
    cause instanceof TimeoutFailure
      ? `attempt timed out (${cause.timeoutType}) without reporting its outcome in time: its worker was lost, or the tool ran past its timeout`
      : // What the attempt's own record says (the tool's message), as Temporal has it from the failure.
        (cause ?? err).message;
  // No worker of the queue has the tool: every attempt failed so, before the tool could run.
  const unregistered = cause instanceof ApplicationFailure && cause.type === 'NotFoundError' && cause.message.startsWith(`Activity function ${err.activityType} is not registered`);
  const at = now();
  const from = calledAtMs !== undefined && calledAtMs <= Date.parse(at) ? new Date(calledAtMs).toISOString() : at;
  // Every attempt up to the last happened; any of them may have died with its worker
  // before a successor could close it. Gaps only: recorded ends are kept.
  for (let attempt = 1; attempt <= maximumAttempts; attempt++) {
    const last = attempt === maximumAttempts;
    emitGap({
      ...actionRecord(st, activityActionId(st.ctx.scopeId, scopedActivityId(err.activityId, st.ctx.continuation?.run), attempt), {
        kind,
        name: err.activityType,
        status: 'error',
        attempt,
        activityId: scopedActivityId(err.activityId, st.ctx.continuation?.run),
        error: last || unregistered ? final : 'attempt ended without reporting its outcome (worker lost or timed out); a later attempt followed',
        startedAt: from,
        endedAt: at,
        attributes: { reconstructed: true },
      }),
      input,
    });
  }
}
