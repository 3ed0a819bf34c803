/**
 * Local activities in history. Temporal records none of their scheduled, started or
 * closed events: the worker runs a local activity inside the workflow task and the SDK's
 * core records one `MarkerRecorded` event (marker name `core_local_activity`) when it
 * resolves, with the attempt it got to and its result or failure.
 *
 * One marker covers the attempts the worker retried in a row. A retry whose backoff is
 * longer than the local retry threshold waits on a workflow timer instead, and the SDK
 * schedules it again under a new sequence number (so a new activity id), starting from
 * the next attempt; every marker of such a chain carries the same original schedule
 * time. This module turns the markers of one run into the `ActivityFacts` reconcile
 * compares with the store, each with the attempts it covers.
 */
import type { ActivityCloseKind, ActivityFacts } from './reconcile';
import type { ResourceRef } from './schemas';

export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** What one local activity marker says, as the history adapter read it. */
export interface LocalActivityMarker {
  eventId: number;
  activityId: string;
  activityType: string;
  /** The last attempt the marker covers. */
  attempt: number;
  /** When the first attempt of its chain was scheduled, as the marker gives it (any stable text). */
  originalScheduleTime: string | null;
  /** Set when the activity goes on after a timer under a new activity id. */
  backoff: boolean;
  outcome: Exclude<ActivityCloseKind, 'open'>;
  /** For `timed_out`: which timeout (Temporal's enum name, e.g. TIMEOUT_TYPE_START_TO_CLOSE). */
  timeoutType?: string;
  result?: { outputDigest: string; resources: ResourceRef[] | null; value?: unknown };
  failureMessage?: string;
}

/** Timeouts that can fire before the attempt started; the others need it running. */
const BEFORE_START = new Set(['TIMEOUT_TYPE_SCHEDULE_TO_START', 'TIMEOUT_TYPE_SCHEDULE_TO_CLOSE']);

/** The markers of one run, in event order, as activity facts with the attempts each covers. */
export function localActivityFacts(markers: readonly LocalActivityMarker[]): ActivityFacts[] {
  /** The last attempt of each chain that is waiting out a backoff, by chain. */
  const backingOff = new Map<string, number>();
  const out: ActivityFacts[] = [];
  for (const m of [...markers].sort((a, b) => a.eventId - b.eventId)) {
    const chain = m.originalScheduleTime === null ? null : `${m.activityType}\u0000${m.originalScheduleTime}`;
    const previous = chain === null ? undefined : backingOff.get(chain);
    // A marker can only cover attempts it reached; a chain that does not add up starts over.
    const firstAttempt = previous !== undefined && previous < m.attempt ? previous + 1 : 1;
    if (chain !== null) {
      if (m.backoff) backingOff.set(chain, m.attempt);
      else backingOff.delete(chain);
    }
    const mayNotHaveStarted = m.outcome === 'canceled' || (m.outcome === 'timed_out' && (m.timeoutType === undefined || BEFORE_START.has(m.timeoutType)));
    out.push({
      activityId: m.activityId,
      activityType: m.activityType,
      scheduledEventId: m.eventId,
      lastAttempt: m.attempt,
      close: m.outcome,
      ...(m.result ? { result: m.result } : {}),
      ...(m.failureMessage !== undefined ? { failureMessage: m.failureMessage } : {}),
      local: { firstAttempt, mayNotHaveStarted },
    });
  }
  return out;
}
