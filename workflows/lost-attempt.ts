/**
 * Attempts lost with their worker. When a worker dies mid-attempt, the next attempt
 * completes the lost attempt's row (worker/activity-interceptor.ts); but the last
 * allowed attempt has no successor, and a successor may die too. When Temporal fails
 * the call with a timeout and MAXIMUM_ATTEMPTS_REACHED, the workflow knows exactly how
 * many attempts there were and fills in every row still missing or running. The fill
 * never overwrites an attempt that recorded its own end.
 */
import { ActivityFailure, TimeoutFailure } from '@temporalio/workflow';
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
): void {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof TimeoutFailure)) return;
  if (err.retryState !== RetryState.MAXIMUM_ATTEMPTS_REACHED || !maximumAttempts || !err.activityId) return;
  const at = now();
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
        error: last
          ? `attempt timed out (${err.cause.timeoutType}) without reporting its outcome: its worker was lost`
          : 'attempt ended without reporting its outcome (worker lost or timed out); a later attempt followed',
        startedAt: at,
        endedAt: at,
        attributes: { reconstructed: true },
      }),
      input,
    });
  }
}
