/** When an attempt's deadline is, on the worker's clock, and how an attempt that outlived it is recorded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure } from '@temporalio/common';
import { attemptDeadline, overran, overrunAttempt, sameOverrun, timedOutWhileRunning, watchDeadline } from '../../worker/attempt-deadline';
import { action } from './fixtures';

test('the deadline is the earlier of start-to-close from the worker\'s start and what was left of schedule-to-close, on the worker\'s clock', () => {
  const started = 1_000_000;
  assert.deepEqual(attemptDeadline({ startToCloseTimeoutMs: 1_000 }, started), { at: 1_001_000, timeout: 'start-to-close', ms: 1_000 });
  // The server's clock is an hour ahead: only the difference of its two times counts.
  const hour = 3_600_000;
  const serverScheduled = started + hour;
  const d = attemptDeadline(
    { startToCloseTimeoutMs: 5_000, scheduleToCloseTimeoutMs: 3_000, scheduledTimestampMs: serverScheduled - 2_000, currentAttemptScheduledTimestampMs: serverScheduled },
    started,
  );
  assert.deepEqual(d, { at: started + 1_000, timeout: 'schedule-to-close', ms: 3_000 });
  // A budget already spent gives a deadline at the start, never before it.
  assert.equal(attemptDeadline({ scheduleToCloseTimeoutMs: 1_000, scheduledTimestampMs: 10, currentAttemptScheduledTimestampMs: 5_000 }, started)?.at, started);
  assert.equal(attemptDeadline({ startToCloseTimeoutMs: 0, scheduleToCloseTimeoutMs: 0 }, started), undefined);
  assert.equal(attemptDeadline({ startToCloseTimeoutMs: Number.NaN }, started), undefined);
});

test('an attempt overran when it ended at or after its deadline, or the SDK says the server timed it out', () => {
  const deadline = { at: 2_000, timeout: 'start-to-close' as const, ms: 1_000 };
  assert.equal(overran(deadline, 1_999), false);
  assert.equal(overran(deadline, 2_000), true);
  assert.equal(overran(undefined, 9_999), false);
  assert.equal(overran(undefined, 0, new CancelledFailure('TIMED_OUT')), true);
  assert.equal(overran(undefined, 0, new CancelledFailure('CANCELLED')), false);
  // A tool that returned without looking at its cancellation signal: the signal's reason tells.
  assert.equal(overran(undefined, 0, undefined, new CancelledFailure('TIMED_OUT')), true);
  assert.equal(overran(undefined, 0, new Error('boom'), undefined), false);
});

test('an overrun attempt is failed, as history has it, says how the tool really ended, and keeps every resource', () => {
  const base = action('S/a1#1', 'S', { resources: [{ uri: 'api:x', mode: 'read' }] });
  const deadline = { at: 2_000, timeout: 'start-to-close' as const, ms: 1_000 };
  const late = overrunAttempt(base, deadline, 1_000, 3_500, {});
  assert.equal(late.status, 'error');
  assert.equal(late.outputDigest, null);
  assert.equal(late.error, 'attempt timed out: its start-to-close timeout (1000 ms) passed before the tool finished; it succeeded after 2500 ms, and Temporal discarded that outcome');
  assert.match(overrunAttempt(base, deadline, 1_000, 3_500, { error: 'boom' }).error!, /it failed \(boom\) after 2500 ms/);
  // Cancelled as timed out before the worker's own deadline: the server counted another timeout.
  assert.match(overrunAttempt(base, deadline, 1_000, 1_500, { error: 'TIMED_OUT' }).error!, /^attempt timed out: a timeout the server counted \(its heartbeat timeout, say\) passed/);
  // The tool ran in time; the attempt then waited for its record to be written (store down, spool full).
  assert.equal(
    overrunAttempt(base, deadline, 1_000, 3_500, { tool: { startedMs: 1_000, endedMs: 1_200 } }).error,
    'attempt timed out: its start-to-close timeout (1000 ms) passed while the attempt waited 2300 ms for records to be written (the store unreachable or slow, and the spool full or unwritable); the tool succeeded after 200 ms, in time, and Temporal discarded that outcome',
  );
  // It started late, behind earlier attempts' records, and so finished past the deadline.
  assert.equal(
    overrunAttempt(base, deadline, 1_000, 2_600, { tool: { startedMs: 2_500, endedMs: 2_600 } }).error,
    'attempt timed out: its start-to-close timeout (1000 ms) passed before the tool finished; it succeeded after 100 ms, having started 1500 ms late: the attempt waited for earlier records to be written (the store unreachable or slow, and the spool full or unwritable), and Temporal discarded that outcome',
  );
  // A group commit's few milliseconds are not worth a word.
  assert.equal(overrunAttempt(base, deadline, 1_000, 3_510, { tool: { startedMs: 1_005, endedMs: 3_505 } }).error, late.error);
  const atDeadline = timedOutWhileRunning(base, deadline, 2_000);
  assert.deepEqual([atDeadline.status, atDeadline.endedAt, atDeadline.attributes.timedOut], ['error', new Date(2_000).toISOString(), true]);

  // Against a sealed row: nothing new but wording and times changes nothing; a new resource does.
  assert.equal(sameOverrun(atDeadline, late), true);
  assert.equal(sameOverrun(atDeadline, { ...late, resources: [...late.resources, { uri: 'db:orders', mode: 'write' }] }), false);
  assert.equal(sameOverrun({ ...atDeadline, status: 'success' }, late), false);
});

test('the deadline watch fires once the deadline passes, not when stopped first, and never for a deadline a timer cannot wait for', async () => {
  const fired: string[] = [];
  const soon = (ms: number) => ({ at: Date.now() + ms, timeout: 'start-to-close' as const, ms });
  watchDeadline(soon(5), () => fired.push('due'));
  const stop = watchDeadline(soon(5), () => fired.push('stopped'));
  stop();
  // 30 days: Node would fire such a timer at once.
  watchDeadline(soon(30 * 24 * 3_600_000), () => fired.push('too far'));
  watchDeadline(undefined, () => fired.push('none'));
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(fired, ['due']);
});
