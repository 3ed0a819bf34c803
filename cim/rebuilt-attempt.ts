/**
 * When a rebuilt attempt ran. A worker that was lost (killed, or held by a full spool)
 * never recorded how its attempt ended; the attempt that followed, or the workflow once
 * Temporal gave up, writes the row instead (worker/activity-interceptor.ts,
 * workflows/lost-attempt.ts). Those writers know only the call's window (when it was
 * first scheduled or called, and when the next attempt was), so every rebuilt attempt
 * would start at the window's start: attempt 2 before attempt 1, which the timeline then
 * shows first. Attempt n began after attempt n-1 did, and after it ended where that end
 * was recorded by the attempt itself rather than rebuilt in the same way.
 */

export interface AttemptTimes {
  startedAt: string;
  endedAt: string | null;
}

export interface EarlierAttempt extends AttemptTimes {
  /** Its end was written by a later writer, not by the attempt (attributes.reconstructed): a bound of the window, not when it ended. */
  reconstructed: boolean;
}

/**
 * The rebuilt attempt's times, begun no earlier than what is known of the attempt before
 * it; its end is moved along where the start passes it, so it never ends before it began.
 */
export function rebuiltAttemptTimes(own: AttemptTimes, earlier: EarlierAttempt | undefined): AttemptTimes {
  if (!earlier) return own;
  const floors = [earlier.startedAt, ...(earlier.reconstructed || earlier.endedAt === null ? [] : [earlier.endedAt])];
  const startMs = Math.max(Date.parse(own.startedAt), ...floors.map((t) => Date.parse(t)).filter((t) => Number.isFinite(t)));
  if (!Number.isFinite(startMs) || startMs === Date.parse(own.startedAt)) return own;
  const startedAt = new Date(startMs).toISOString();
  const endedAt = own.endedAt === null || Date.parse(own.endedAt) >= startMs ? own.endedAt : startedAt;
  return { startedAt, endedAt };
}

/** The id of the attempt before this one (`<scope>/a<activity>#<n>`), or undefined for a first attempt. */
export function earlierAttemptId(actionId: string, attempt: number): string | undefined {
  if (attempt <= 1 || !actionId.endsWith(`#${attempt}`)) return undefined;
  return `${actionId.slice(0, -String(attempt).length)}${attempt - 1}`;
}
