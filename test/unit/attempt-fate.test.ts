/** What history says became of an attempt the server told `NOT_FOUND`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import { attemptFate, askAttemptFate, type FateEvent } from '../../worker/attempt-fate';

/** Events as the client hands them over: int64 fields are Longs. */
const event = (e: Record<string, unknown>): FateEvent => temporal.api.history.v1.HistoryEvent.fromObject(e) as FateEvent;
const scheduled = (eventId: number, activityId: string, ms = 0): FateEvent =>
  event({ eventId, eventTime: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 }, activityTaskScheduledEventAttributes: { activityId } });
const started = (scheduledEventId: number, attempt: number): FateEvent => event({ activityTaskStartedEventAttributes: { scheduledEventId, attempt } });
const timedOut = (scheduledEventId: number): FateEvent => event({ activityTaskTimedOutEventAttributes: { scheduledEventId } });
const completed = (scheduledEventId: number): FateEvent => event({ activityTaskCompletedEventAttributes: { scheduledEventId } });
const canceled = (scheduledEventId: number): FateEvent => event({ activityTaskCanceledEventAttributes: { scheduledEventId } });
const runCompleted = event({ workflowExecutionCompletedEventAttributes: {} });
const runContinued = event({ workflowExecutionContinuedAsNewEventAttributes: {} });

test('a call closed as timed out in this attempt, or gone on to a later one, timed this attempt out', () => {
  assert.equal(attemptFate([scheduled(5, '1'), started(5, 2), timedOut(5), runCompleted], { activityId: '1', attempt: 2 }), 'timed_out');
  // Attempt 1 was dropped; attempt 2 completed (or failed, or timed out): attempt 1 timed out.
  assert.equal(attemptFate([scheduled(5, '1'), started(5, 2), completed(5)], { activityId: '1', attempt: 1 }), 'timed_out');
  assert.equal(attemptFate([scheduled(5, '1'), started(5, 3), timedOut(5)], { activityId: '1', attempt: 1 }), 'timed_out');
  // Still open while the run goes on: the call retries in a later attempt.
  assert.equal(attemptFate([scheduled(5, '1')], { activityId: '1', attempt: 1 }), 'timed_out');
});

test('a call cancelled in this attempt, or left open by a run that closed, is not a timeout', () => {
  assert.equal(attemptFate([scheduled(5, '1'), runCompleted], { activityId: '1', attempt: 1 }), 'closed');
  assert.equal(attemptFate([scheduled(5, '1'), runContinued], { activityId: '1', attempt: 3 }), 'closed');
  assert.equal(attemptFate([scheduled(5, '1'), started(5, 1), canceled(5), runCompleted], { activityId: '1', attempt: 1 }), 'closed');
});

test('an id used by two calls: the one scheduled nearest the attempt\'s call is read', () => {
  const events = [scheduled(5, 'fetch', 10_000), started(5, 1), completed(5), scheduled(9, 'fetch', 20_000), runCompleted];
  // The later call was left open by the run's close; the earlier one completed in attempt 1.
  assert.equal(attemptFate(events, { activityId: 'fetch', attempt: 1, scheduledTimestampMs: 20_004 }), 'closed');
  assert.equal(attemptFate(events, { activityId: 'fetch', attempt: 1, scheduledTimestampMs: 10_002 }), 'unknown');
  // Without the time, the latest call is taken.
  assert.equal(attemptFate(events, { activityId: 'fetch', attempt: 1 }), 'closed');
});

test('what history does not show is unknown, and so is a history that cannot be read', async () => {
  assert.equal(attemptFate([scheduled(5, '1'), runCompleted], { activityId: '2', attempt: 1 }), 'unknown');
  // A close that contradicts the attempt (history says it completed in this very attempt).
  assert.equal(attemptFate([scheduled(5, '1'), started(5, 1), completed(5)], { activityId: '1', attempt: 1 }), 'unknown');
  const failing = {
    withAbortSignal: <R>(_signal: AbortSignal, fn: () => Promise<R>) => fn(),
    workflow: { getHandle: () => ({ fetchHistory: () => Promise.reject(new Error('unavailable')) }) },
  };
  assert.equal(await askAttemptFate(failing as never, { workflowId: 'w', runId: 'r' }, { activityId: '1', attempt: 1 }), 'unknown');
});

test('the history is read under a signal of its own, not the activity\'s aborted one', async () => {
  let signal: AbortSignal | undefined;
  const client = {
    withAbortSignal: <R>(s: AbortSignal, fn: () => Promise<R>) => ((signal = s), fn()),
    workflow: { getHandle: (workflowId: string, runId: string) => ({ fetchHistory: async () => ({ events: workflowId === 'w' && runId === 'r' ? [scheduled(5, '1')] : [] }) }) },
  };
  assert.equal(await askAttemptFate(client as never, { workflowId: 'w', runId: 'r' }, { activityId: '1', attempt: 1 }), 'timed_out');
  assert.equal(signal?.aborted, false);
});
