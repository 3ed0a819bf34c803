/**
 * What a run's end says of the calls it left in flight (ScopeRecord.openCalls): their tools
 * go on and record their ends after the scope's, so the scope is sealed only once those are
 * in, or once the attempts in flight are past their deadlines (store/open-calls.ts). The
 * agent's own end record says it (workflows/open-calls.ts), and so does the end reconcile
 * writes from history for a run Temporal closed without agent code (cim/reconcile.ts).
 */
import { msOptionalToNumber, type Duration } from '@temporalio/common/lib/time';
import type { OpenCalls } from './schemas';

export interface CallInFlight {
  /** As the call's rows have it (scopedActivityId). */
  activityId: string;
  scheduledAtMs: number;
  /** As the call's options give them: read only for a call still in flight at the end. */
  startToClose: Duration | undefined;
  scheduleToClose: Duration | undefined;
  /**
   * For a local call that timed out: when. Its worker records the attempt's end within
   * the grace after that, so a run ending later than that need not wait for it.
   */
  timedOutAtMs?: number;
}

/**
 * After an attempt's deadline, the time its worker has to record that the deadline passed
 * (worker/attempt-deadline.ts) before the scope is sealed without it.
 */
export const OPEN_CALL_GRACE_MS = 10_000;

/** A call whose timeouts give no bound (Temporal requires one): its scope waits this long. */
const UNBOUNDED_WAIT_MS = 24 * 60 * 60 * 1000;

/** What the end record of a run ending at `endedAtMs` says of the calls still in flight; undefined when none are. */
export function openCallsAt(calls: Iterable<CallInFlight>, endedAtMs: number): OpenCalls | undefined {
  const activityIds: string[] = [];
  let latest = endedAtMs;
  for (const c of calls) {
    if (c.timedOutAtMs !== undefined && c.timedOutAtMs + OPEN_CALL_GRACE_MS <= endedAtMs) continue;
    activityIds.push(c.activityId);
    // The attempt in flight started no later than the run's end; after the run closes,
    // Temporal starts no further attempt.
    const startToCloseMs = msOptionalToNumber(c.startToClose);
    const scheduleToCloseMs = msOptionalToNumber(c.scheduleToClose);
    const byAttempt = startToCloseMs === undefined ? Infinity : endedAtMs + startToCloseMs;
    const byCall = scheduleToCloseMs === undefined ? Infinity : c.scheduledAtMs + scheduleToCloseMs;
    const bound = Math.min(byAttempt, byCall);
    latest = Math.max(latest, Number.isFinite(bound) ? bound : endedAtMs + UNBOUNDED_WAIT_MS);
  }
  if (activityIds.length === 0) return undefined;
  return { activityIds, until: new Date(latest + OPEN_CALL_GRACE_MS).toISOString() };
}
