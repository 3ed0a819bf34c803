/**
 * A final attempt lost with its worker. When a worker dies mid-attempt, the next
 * attempt completes the lost attempt's row (worker/activity-interceptor.ts); but the
 * last allowed attempt has no successor. Temporal then fails the call with a timeout
 * and MAXIMUM_ATTEMPTS_REACHED, which tells the workflow exactly which attempt it was,
 * so the workflow fills that row in. The fill never overwrites an attempt that
 * recorded its own end.
 */
import { ActivityFailure, TimeoutFailure } from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import { activityActionId } from '../cim/ids';
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
  emitGap({
    ...actionRecord(st, activityActionId(st.ctx.scopeId, err.activityId, maximumAttempts), {
      kind,
      name: err.activityType,
      status: 'error',
      attempt: maximumAttempts,
      activityId: err.activityId,
      error: `attempt timed out (${err.cause.timeoutType}) without reporting its outcome: its worker was lost`,
      startedAt: at,
      endedAt: at,
      attributes: { reconstructed: true },
    }),
    input,
  });
}
