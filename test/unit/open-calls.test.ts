/** What a run that ends with calls in flight says of them, and how long its scope waits for their ends. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPEN_CALL_GRACE_MS, openCallsAt, trackCall, type CallInFlight, type CallSettled } from '../../workflows/open-calls';
import { CancelledFailure, type ActivityInput } from '@temporalio/workflow';
import type { ScopeState } from '../../workflows/scope-state';
import { awaitsOpenCalls } from '../../store/open-calls';
import { verifyChains } from '../../store/chain';
import type { ScopeRecord } from '../../cim/schemas';

const end = Date.parse('2026-12-03T10:00:00.000Z');
const call = (activityId: string, fields: Partial<CallInFlight> = {}): CallInFlight => ({
  activityId, scheduledAtMs: end - 5_000, startToClose: undefined, scheduleToClose: undefined, ...fields,
});

test('no call in flight: nothing to say', () => {
  assert.equal(openCallsAt([], end), undefined);
});

test('the wait is the latest deadline an attempt in flight can have: start-to-close from the end, or the call\'s schedule-to-close if sooner', () => {
  const open = openCallsAt(
    [
      call('1', { startToClose: '30 seconds' }),
      call('2', { startToClose: 60_000, scheduleToClose: '20s' }), // its call ends at end + 15 s
      call('r1.3', { scheduleToClose: 45_000 }), // end + 40 s
    ],
    end,
  );
  assert.deepEqual(open, { activityIds: ['1', '2', 'r1.3'], until: new Date(end + 40_000 + OPEN_CALL_GRACE_MS).toISOString() });
});

test('a call whose deadline already passed waits only for the grace; one with no timeout at all, a day', () => {
  assert.equal(openCallsAt([call('1', { scheduleToClose: '1 second' })], end)!.until, new Date(end + OPEN_CALL_GRACE_MS).toISOString());
  assert.equal(openCallsAt([call('1')], end)!.until, new Date(end + 24 * 3_600_000 + OPEN_CALL_GRACE_MS).toISOString());
});

test('a scope waits for its open calls until their time, and at most a day after its end', () => {
  const endedAt = new Date(end).toISOString();
  const until = new Date(end + 40_000).toISOString();
  assert.equal(awaitsOpenCalls({ endedAt, openCalls: { until } }, end + 39_999), true);
  assert.equal(awaitsOpenCalls({ endedAt, openCalls: { until } }, end + 40_000), false);
  assert.equal(awaitsOpenCalls({ endedAt }, end), false);
  const farOff = new Date(end + 30 * 24 * 3_600_000).toISOString();
  assert.equal(awaitsOpenCalls({ endedAt, openCalls: { until: farOff } }, end + 24 * 3_600_000), false);
  assert.equal(awaitsOpenCalls({ endedAt, openCalls: { until: 'never' } }, end), false);
});

test('verify does not call a scope waiting for its open calls unsealed, and does once its wait is over', () => {
  const scope: ScopeRecord = {
    scopeId: 's', sessionId: 's', namespace: 'default', parentScopeId: null, handoffFromScopeId: null, kind: 'root', agent: 'a',
    agentVersion: '1', delegatedBy: null, objective: null, allowance: null, depth: 0, path: '/s/', status: 'success', recovered: false,
    error: null, startedAt: new Date(end - 1_000).toISOString(), endedAt: new Date(end).toISOString(), workflowId: 's', runId: 'r',
    openCalls: { activityIds: ['1'], until: new Date(end + 40_000).toISOString() },
  };
  const chains = { chains: [{ scope, chainLength: null, chainHead: null, scopeHash: null, actions: [] }], invalid: [] };
  assert.deepEqual(verifyChains('s', chains, undefined, end + 1_000).problems, []);
  assert.deepEqual(verifyChains('s', chains, undefined, end + 40_000).problems.map((p) => p.problem), ['unsealed']);
});

test('a local call that timed out is waited for only within the grace after its timeout', () => {
  const timedOut = (atMs: number) => call('7', { startToClose: 0, timedOutAtMs: atMs });
  assert.deepEqual(openCallsAt([timedOut(end - 100)], end), { activityIds: ['7'], until: new Date(end + OPEN_CALL_GRACE_MS).toISOString() });
  assert.equal(openCallsAt([timedOut(end - OPEN_CALL_GRACE_MS)], end), undefined, 'its worker has had the grace to record it');
  assert.deepEqual(openCallsAt([timedOut(end - OPEN_CALL_GRACE_MS), call('8', { startToClose: '5s' })], end)!.activityIds, ['8']);
});

/** Only what trackCall reads and writes of a scope's state. */
const followedState = () => ({ callsInFlight: new Map<number, CallInFlight>(), ctx: {} }) as unknown as ScopeState;
const scheduledInput = (seq: number, cancellationType?: ActivityInput['options']['cancellationType']) =>
  ({ seq, options: { startToCloseTimeout: '1 minute', ...(cancellationType ? { cancellationType } : {}) } }) as unknown as ActivityInput;

test('a call is followed until it settles, by its own promise or by the caller that asked to settle it', async () => {
  // Followed by the interceptor: its promise settles the call before the caller sees the outcome.
  const st = followedState();
  const chained = trackCall(st, scheduledInput(1), Promise.resolve('ok'));
  assert.deepEqual([...st.callsInFlight.keys()], [1]);
  assert.equal(await chained, 'ok');
  assert.equal(st.callsInFlight.size, 0);

  // Asked for by the caller: the SDK's own promise comes back, and the call stays in flight until told.
  const scheduled = Promise.resolve('ok');
  st.callerFollows = 'asked';
  assert.equal(trackCall(st, scheduledInput(2), scheduled), scheduled, 'no promise of its own');
  const settled = st.callerFollows as unknown as CallSettled;
  assert.equal(typeof settled, 'function');
  await scheduled;
  assert.deepEqual([...st.callsInFlight.keys()], [2], 'in flight until the caller says it settled');
  settled();
  assert.equal(st.callsInFlight.size, 0);

  // A call cancelled without waiting for its tool stays followed: the tool may run on.
  st.callerFollows = 'asked';
  trackCall(st, scheduledInput(3), new Promise(() => undefined));
  (st.callerFollows as unknown as CallSettled)({ error: new CancelledFailure('cancelled') });
  assert.deepEqual([...st.callsInFlight.keys()], [3]);
  st.callerFollows = undefined;
  const failing = trackCall(st, scheduledInput(4, 'WAIT_CANCELLATION_COMPLETED' as never), Promise.reject(new CancelledFailure('cancelled')));
  await assert.rejects(failing, CancelledFailure);
  assert.deepEqual([...st.callsInFlight.keys()], [3], 'one that waited for its tool is settled');
});
