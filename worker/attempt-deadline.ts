/**
 * What an attempt that outlived its deadline is recorded as. Temporal times an attempt out
 * at its start-to-close (or the call's schedule-to-close) deadline whether or not the tool
 * is still running (activities/attempt-deadline.ts says when): a tool that does not
 * heartbeat is never told, and may finish (and touch resources) long after the workflow
 * has retried or moved on. History then says the attempt timed out, so the store says so
 * too, with what the tool really did in the error text and every resource it reported
 * kept on the row.
 */
import { CancelledFailure } from '@temporalio/common';
import type { ActionRecord } from '../cim/schemas';
import type { AttemptDeadline } from '../activities/attempt-deadline';

export { attemptDeadline, watchDeadline, type AttemptDeadline } from '../activities/attempt-deadline';

/** The SDK's word that the server timed the attempt out (told through a heartbeat). */
export function isTimedOutCancellation(err: unknown): boolean {
  return err instanceof CancelledFailure && err.message === 'TIMED_OUT';
}

/**
 * The SDK's word that the server no longer knows the attempt (told through a heartbeat):
 * timed out, or its run closed; worker/attempt-fate.ts asks history which.
 */
export function isNotFoundCancellation(err: unknown): boolean {
  return err instanceof CancelledFailure && err.message === 'NOT_FOUND';
}

/**
 * Whether an attempt that ended at `endedMs` ended after Temporal had timed it out: its
 * deadline passed, or the SDK said so (its error, or the reason the attempt's cancellation
 * signal carries, set even when the tool returned without looking at it).
 */
export function overran(deadline: AttemptDeadline | undefined, endedMs: number, ...told: unknown[]): boolean {
  return (deadline !== undefined && endedMs >= deadline.at) || told.some(isTimedOutCancellation);
}

function timeoutName(deadline: AttemptDeadline | undefined): string {
  return deadline ? `its ${deadline.timeout} timeout (${deadline.ms} ms)` : 'its timeout';
}

/** Written at the deadline while the tool still runs: the row Temporal's timeout leaves, should the tool never finish. */
export function timedOutWhileRunning(running: Omit<ActionRecord, 'status' | 'error' | 'endedAt' | 'outputDigest'>, deadline: AttemptDeadline, now: number): ActionRecord {
  return {
    ...running,
    status: 'error',
    error: `attempt timed out: ${timeoutName(deadline)} passed while the tool was still running`,
    endedAt: new Date(now).toISOString(),
    outputDigest: null,
    attributes: { ...running.attributes, timedOut: true },
  };
}

/** When the tool itself ran, within an attempt that also waited for its records to be written. */
export interface ToolSpan {
  startedMs: number;
  endedMs: number;
}

/** Waits for records shorter than this are not worth a word: a group commit takes a few milliseconds. */
const NOTABLE_WAIT_MS = 100;
const WHY_RECORDS_WAIT = 'the store unreachable or slow, and the spool full or unwritable';

/**
 * An attempt that finished after its deadline: failed, as history has it, saying how the
 * tool really ended; its output was never delivered, so no digest of it is kept. `tool`:
 * when the tool ran. An attempt also waits for records to be written (earlier attempts'
 * ends before the tool, its own after), and with the store unreachable and the spool full
 * that wait can pass the deadline on its own: the text then says the tool ran in time and
 * what the attempt waited for, not that the tool was slow.
 */
export function overrunAttempt(
  ended: Omit<ActionRecord, 'status' | 'error' | 'endedAt' | 'outputDigest'>,
  deadline: AttemptDeadline | undefined,
  startedMs: number,
  endedMs: number,
  outcome: { error?: string; tool?: ToolSpan },
  heartbeatTimeoutMs?: number,
): ActionRecord {
  const how = outcome.error === undefined ? 'succeeded' : `failed (${outcome.error})`;
  const tool = outcome.tool ?? { startedMs, endedMs };
  const ran = tool.endedMs - tool.startedMs;
  const before = tool.startedMs - startedMs;
  const waited = before + (endedMs - tool.endedMs);
  // Told through a heartbeat before the worker's own deadline: its heartbeat timeout, when it has one.
  const which =
    deadline && endedMs >= deadline.at
      ? timeoutName(deadline)
      : heartbeatTimeoutMs
        ? `its heartbeat timeout (${heartbeatTimeoutMs} ms)`
        : 'a timeout the server counted (its heartbeat timeout, say)';
  const what =
    deadline && endedMs >= deadline.at && tool.endedMs < deadline.at && waited >= NOTABLE_WAIT_MS
      ? `${which} passed while the attempt waited ${waited} ms for records to be written (${WHY_RECORDS_WAIT}); the tool ${how} after ${ran} ms, in time`
      : `${which} passed before the tool finished; it ${how} after ${ran} ms${before >= NOTABLE_WAIT_MS ? `, having started ${before} ms late: the attempt waited for earlier records to be written (${WHY_RECORDS_WAIT})` : ''}`;
  return {
    ...ended,
    status: 'error',
    error: `attempt timed out: ${what}, and Temporal discarded that outcome`,
    endedAt: new Date(endedMs).toISOString(),
    outputDigest: null,
    attributes: { ...ended.attributes, timedOut: true },
  };
}

/**
 * A sealed row already says the attempt failed, with the resources it touched: a record
 * written when the tool finished late adds only its wording and times, and is not worth
 * keeping aside. One that adds a resource (reported after the deadline) is.
 */
export function sameOverrun(stored: ActionRecord, late: ActionRecord): boolean {
  const set = (r: ActionRecord) => new Set(r.resources.map((x) => `${x.mode} ${x.uri}`));
  const before = set(stored);
  return stored.status === late.status && [...set(late)].every((k) => before.has(k));
}
