/**
 * What became of an attempt the server no longer knows. A tool that heartbeats learns, on
 * its next heartbeat, that the server has no such attempt (the SDK's `NOT_FOUND`). Either
 * Temporal timed it out (its heartbeat timeout passed: the call then retried, or failed
 * with a timeout) or its run closed around it (the workflow ended, was cancelled with its
 * delegator, or continued as new). The worker cannot tell the two apart on its own, and
 * they are recorded differently, so it asks the run's history, which is what reconcile
 * holds the row to.
 */
import type { Client } from '@temporalio/client';

/**
 * `timed_out`: history has the attempt timed out. `closed`: history has the call cancelled
 * in this attempt, or the run closed with the call still open; the attempt ended as the
 * tool says. `unknown`: the history does not show (or could not be read).
 */
export type AttemptFate = 'timed_out' | 'closed' | 'unknown';

/** The few fields of a history event this reads (the shape of Temporal's `HistoryEvent`). */
export interface FateEvent {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  activityTaskScheduledEventAttributes?: { activityId?: string | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown; attempt?: number | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskFailedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskCanceledEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowExecutionCompletedEventAttributes?: unknown;
  workflowExecutionFailedEventAttributes?: unknown;
  workflowExecutionTimedOutEventAttributes?: unknown;
  workflowExecutionCanceledEventAttributes?: unknown;
  workflowExecutionTerminatedEventAttributes?: unknown;
  workflowExecutionContinuedAsNewEventAttributes?: unknown;
}

export interface AttemptOfCall {
  /** The activity id as Temporal has it (`info.activityId`). */
  activityId: string;
  attempt: number;
  /** When the call's first attempt was scheduled, on the server's clock (`info.scheduledTimestampMs`). */
  scheduledTimestampMs?: number;
}

/** An int64 field as the client decodes it (a Long), or a plain number. */
const num = (v: unknown): number => (typeof v === 'number' ? v : v == null ? NaN : Number(String(v)));

function eventMs(e: FateEvent): number {
  const t = e.eventTime;
  return t ? num(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : NaN;
}

const closesRun = (e: FateEvent): boolean =>
  Boolean(
    e.workflowExecutionCompletedEventAttributes ??
      e.workflowExecutionFailedEventAttributes ??
      e.workflowExecutionTimedOutEventAttributes ??
      e.workflowExecutionCanceledEventAttributes ??
      e.workflowExecutionTerminatedEventAttributes ??
      e.workflowExecutionContinuedAsNewEventAttributes,
  );

/**
 * The fate of `call`'s attempt in one run's history. The call is the one scheduled with its
 * activity id nearest the time its first attempt was scheduled (an id may be used again by
 * a later call). An attempt the server dropped while the call went on (it retried, or ended
 * in a later attempt) timed out: nothing else ends an attempt the worker did not report.
 */
export function attemptFate(events: readonly FateEvent[], call: AttemptOfCall): AttemptFate {
  const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityId === call.activityId);
  if (!scheduled.length) return 'unknown';
  const at = call.scheduledTimestampMs;
  const ours = at === undefined ? scheduled.at(-1)! : scheduled.reduce((best, e) => (Math.abs(eventMs(e) - at) < Math.abs(eventMs(best) - at) ? e : best));
  const id = num(ours.eventId);
  const of = (a: { scheduledEventId?: unknown } | null | undefined) => a != null && num(a.scheduledEventId) === id;
  const lastAttempt = events.filter((e) => of(e.activityTaskStartedEventAttributes)).at(-1)?.activityTaskStartedEventAttributes?.attempt ?? undefined;
  const close = events.find(
    (e) => of(e.activityTaskCompletedEventAttributes) || of(e.activityTaskFailedEventAttributes) || of(e.activityTaskTimedOutEventAttributes) || of(e.activityTaskCanceledEventAttributes),
  );
  if (close) {
    if (lastAttempt !== undefined && lastAttempt > call.attempt) return 'timed_out';
    if (close.activityTaskTimedOutEventAttributes) return lastAttempt === undefined || lastAttempt === call.attempt ? 'timed_out' : 'unknown';
    if (close.activityTaskCanceledEventAttributes) return 'closed';
    return 'unknown';
  }
  // Still open: either its run closed around it, or it goes on in a later attempt.
  return events.some(closesRun) ? 'closed' : 'timed_out';
}

/** How long the worker waits for the history before recording the attempt as it ended. */
const ASK_TIMEOUT_MS = 10_000;

/**
 * Reads the run's history with the worker's client and tells the attempt's fate. The
 * activity's own abort signal has fired by now (that is how the tool was told), and the
 * SDK ties the worker client's calls in an activity's context to it, so the read runs
 * under a signal of its own. `unknown` when the history cannot be read.
 */
export async function askAttemptFate(client: FateClient, execution: Execution, call: AttemptOfCall): Promise<AttemptFate> {
  const history = await within(client, () => client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory());
  return history ? attemptFate((history.events ?? []) as FateEvent[], call) : 'unknown';
}

/**
 * The fate of an attempt that ran past its heartbeat timeout without being told anything: a
 * tool that never heartbeats never hears NOT_FOUND, yet the server timed it out and retried.
 * The attempt may also simply have been long and heartbeating, so "still open" proves
 * nothing here: the server's pending attempt of the call says whether this one is over, and
 * a call no longer pending is judged by history's close of it. `unknown` when neither shows.
 */
export async function askQuietAttemptFate(client: FateClient, execution: Execution, call: AttemptOfCall): Promise<AttemptFate> {
  const described = await within(client, () => client.workflow.getHandle(execution.workflowId, execution.runId).describe());
  if (!described) return 'unknown';
  const pending = (described.raw.pendingActivities ?? []).find((p) => p.activityId === call.activityId);
  if (pending) return (pending.attempt ?? 0) > call.attempt ? 'timed_out' : 'unknown';
  return askAttemptFate(client, execution, call);
}

type FateClient = Pick<Client, 'workflow' | 'withAbortSignal'>;
type Execution = { workflowId: string; runId: string };

/** One read of the server under a deadline of its own (the activity's signal has fired); undefined when it fails. */
async function within<T>(client: FateClient, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await client.withAbortSignal(AbortSignal.timeout(ASK_TIMEOUT_MS), read);
  } catch {
    return undefined;
  }
}
