/**
 * When Temporal stops waiting for an attempt: at its start-to-close or the call's
 * schedule-to-close deadline, whether or not the tool is still running. Read by the
 * activity interceptor (worker/attempt-deadline.ts records an attempt that outlived it)
 * and by tools that stop waiting then (attempt-signal.ts).
 */

export interface AttemptDeadline {
  /** Epoch ms, on this worker's clock. */
  at: number;
  timeout: 'start-to-close' | 'schedule-to-close';
  ms: number;
}

interface DeadlineInfo {
  startToCloseTimeoutMs?: number;
  scheduleToCloseTimeoutMs?: number;
  /** When the call's first attempt was scheduled (the server's clock). */
  scheduledTimestampMs?: number;
  /** When this attempt was scheduled (the server's clock). */
  currentAttemptScheduledTimestampMs?: number;
}

const usable = (ms: number | undefined): ms is number => typeof ms === 'number' && Number.isFinite(ms) && ms > 0;

/**
 * The earlier of the attempt's start-to-close and the call's schedule-to-close deadline,
 * both counted on this worker's clock from when it began the attempt, which is a little
 * after the server started it: the worker never calls an attempt late that the server
 * took in time, however the two clocks differ. (What was left of the schedule-to-close
 * budget is a difference of two server times.) Undefined: neither is set.
 */
export function attemptDeadline(info: DeadlineInfo, startedMs: number): AttemptDeadline | undefined {
  const candidates: AttemptDeadline[] = [];
  if (usable(info.startToCloseTimeoutMs)) candidates.push({ at: startedMs + info.startToCloseTimeoutMs, timeout: 'start-to-close', ms: info.startToCloseTimeoutMs });
  if (usable(info.scheduleToCloseTimeoutMs) && usable(info.scheduledTimestampMs) && usable(info.currentAttemptScheduledTimestampMs)) {
    const left = info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs - info.currentAttemptScheduledTimestampMs;
    candidates.push({ at: startedMs + Math.max(0, left), timeout: 'schedule-to-close', ms: info.scheduleToCloseTimeoutMs });
  }
  return candidates.sort((a, b) => a.at - b.at)[0];
}

/** The longest delay setTimeout takes (about 24.8 days): Node fires a longer timer at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onDeadline` when the deadline passes, unless the returned stop is called first. An
 * attempt allowed longer than a timer can wait is only checked when it ends.
 */
export function watchDeadline(deadline: AttemptDeadline | undefined, onDeadline: (deadline: AttemptDeadline) => void): () => void {
  if (!deadline || deadline.at - Date.now() > MAX_TIMER_MS) return () => undefined;
  const timer = setTimeout(() => onDeadline(deadline), Math.max(0, deadline.at - Date.now()));
  timer.unref();
  return () => clearTimeout(timer);
}
