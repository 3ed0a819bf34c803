/**
 * Tools called as local activities. History holds no activity events for them, only one
 * marker per resolution, so reconcile and verify read the markers: each attempt the
 * worker recorded must be one a marker covers, with the status and result the marker
 * gives, and none a marker covers may be missing (save one that may never have started).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { createFixtureTools } from '../fixtures/tools';
import { localCaller, localQuitter } from '../fixtures/agents';
import type { ActionRecord } from '../../cim/schemas';

let rt: TestRuntime;
const fixtures = createFixtureTools();
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(fixtures.tools) });
});
after(async () => {
  await rt?.stop();
});

async function calls(sessionId: string, tool: string): Promise<ActionRecord[]> {
  await rt.worker.recorder.drain();
  return (await rt.client.actionsOfSession(sessionId)).filter((a) => a.name === tool).sort((a, b) => a.attempt - b.attempt);
}

async function assertClean(sessionId: string): Promise<void> {
  const report = await rt.client.reconcile(sessionId);
  assert.deepEqual(report.differences, [], 'the store says what history says');
  assert.deepEqual((await rt.client.verify(sessionId)).problems, [], 'and the session verifies');
}

test('a local activity retried in the worker: every attempt is recorded, and reconcile counts them from its marker', { timeout: 60_000 }, async () => {
  const s = await rt.client.startSession(localCaller, { input: { mode: 'retried' as const } });
  assert.equal(await s.result(), 'attempt 3');
  const rows = await calls(s.sessionId, 'flaky');
  assert.deepEqual(rows.map((r) => [r.attempt, r.status]), [[1, 'error'], [2, 'error'], [3, 'success']]);
  assert.equal(new Set(rows.map((r) => r.activityId)).size, 1, 'one activity id: one marker');
  // Temporal's clock for the run moved on by the call's run time only; the scope's end still follows the call's.
  const scope = await rt.client.scope(s.sessionId);
  assert.ok(Date.parse(scope.endedAt!) >= Date.parse(rows.at(-1)!.endedAt!), `scope ended ${scope.endedAt}, after the call's end ${rows.at(-1)!.endedAt}`);
  const report = await rt.client.reconcile(s.sessionId);
  assert.equal(report.expected.actions, 3);
  await assertClean(s.sessionId);
});

test('a local activity retried after workflow timers: each marker covers the attempts after the one before', { timeout: 60_000 }, async () => {
  const s = await rt.client.startSession(localCaller, { input: { mode: 'timer' as const } });
  assert.equal(await s.result(), 'attempt 3');
  const rows = await calls(s.sessionId, 'flaky');
  assert.deepEqual(rows.map((r) => [r.attempt, r.status]), [[1, 'error'], [2, 'error'], [3, 'success']]);
  assert.equal(new Set(rows.map((r) => r.activityId)).size, 3, 'each retry after a timer runs under a new activity id');
  assert.ok(rows.every((r) => r.attributes?.reconstructed === undefined), 'no attempt was made up for the ones under an earlier id');
  await assertClean(s.sessionId);
});

test('a local activity that gives up: its last attempt carries the failure history holds', { timeout: 60_000 }, async () => {
  const s = await rt.client.startSession(localCaller, { input: { mode: 'failed' as const } });
  assert.equal(await s.result(), 'gave up: flaky call: flaky failure on attempt 2 (details: [])');
  const rows = await calls(s.sessionId, 'flaky');
  assert.deepEqual(rows.map((r) => [r.attempt, r.status, r.error]), [
    [1, 'error', 'flaky failure on attempt 1'],
    [2, 'error', 'flaky failure on attempt 2'],
  ]);
  const scope = await rt.client.scope(s.sessionId);
  assert.ok(Date.parse(scope.endedAt!) >= Date.parse(rows.at(-1)!.endedAt!), `scope ended ${scope.endedAt}, after the call's end ${rows.at(-1)!.endedAt}`);
  await assertClean(s.sessionId);
});

test('a local call\'s failure that ends its scope is bound to the call, in the store and in history alike', { timeout: 60_000 }, async () => {
  const s = await rt.client.startSession(localCaller, { input: { mode: 'uncaught' as const } });
  await assert.rejects(s.result());
  const rows = await calls(s.sessionId, 'flaky');
  const scope = await rt.client.scope(s.sessionId);
  assert.equal(scope.status, 'error');
  assert.equal(scope.failedBy, rows.at(-1)!.activityId, 'failed by the call, not by the agent\'s own code');
  const cause = await rt.client.rootCause(s.sessionId);
  assert.equal(cause?.action?.actionId, rows.at(-1)!.actionId);
  assert.deepEqual(cause?.attempts.map((a) => a.attempt), [1, 2]);
  await assertClean(s.sessionId);
});

// The SDK's core settles a local call at its deadline without waiting for the tool; the
// worker records the attempt timed out a moment later, as the run may be ending.
for (const [mode, tool, error] of [
  ['timeout', 'slow', /^attempt timed out: its start-to-close timeout \(500 ms\) passed before the tool finished/],
  ['timeoutIgnored', 'overrun', /^attempt timed out: its start-to-close timeout \(500 ms\) passed while the tool was still running/],
] as const) {
  test(`a local call that times out (${tool === 'slow' ? 'its tool heeds the cancel' : 'its tool runs on'}) is named in its scope's end and recorded as timed out`, { timeout: 60_000 }, async () => {
    const s = await rt.client.startSession(localCaller, { input: { mode } });
    assert.equal(await s.result(), 'timed out: Local Activity timed out');
    const scope = await rt.client.scope(s.sessionId);
    await new Promise((r) => setTimeout(r, 2_500));
    const [row, ...more] = await calls(s.sessionId, tool);
    assert.equal(more.length, 0);
    assert.equal(row!.status, 'error');
    assert.match(row!.error ?? '', error);
    assert.deepEqual(scope.openCalls?.activityIds, [row!.activityId], 'the scope waits for the call\'s row before its seal');
    assert.ok(Date.parse(scope.openCalls!.until) - Date.parse(scope.endedAt!) <= 10_000, 'its deadline had passed: the grace alone');
    await assertClean(s.sessionId);
  });
}

test('a cancelled local activity is recorded as cancelled and reconciles', { timeout: 90_000 }, async () => {
  const s = await rt.client.startSession(localCaller, { input: { mode: 'cancelled' as const } });
  assert.equal(await s.result(), 'cancelled');
  const rows = await calls(s.sessionId, 'slow');
  assert.deepEqual(rows.map((r) => [r.attempt, r.status]), [[1, 'cancelled']]);
  await assertClean(s.sessionId);
});

test('a local activity the agent does not await still ends before its run: the workflow task waits for it, and the session verifies', { timeout: 60_000 }, async () => {
  const started = Date.now();
  const s = await rt.client.startSession(localQuitter, { input: { lateResource: 'db:after-the-end' } });
  assert.equal(await s.result(), 'left the local activity running');
  assert.ok(Date.now() - started >= 3_000, 'the run ended only after the local activity');
  const scope = await rt.client.scope(s.sessionId);
  assert.equal(scope.openCalls, undefined, 'nothing was in flight at the end');
  const [call, ...more] = await calls(s.sessionId, 'overrun');
  assert.equal(more.length, 0);
  assert.equal(call!.status, 'success');
  assert.ok(Date.parse(call!.endedAt!) <= Date.parse(scope.endedAt!), 'the call ended first');
  assert.ok(call!.resources.some((r) => r.uri === 'db:after-the-end'));
  await assertClean(s.sessionId);
});

// Why local activities need no following after their run ends (workflows/open-calls.ts):
// even cancelled, one whose tool runs on holds the run until it ends.
test('a cancelled local activity whose tool does not heed it holds its run until it ends, and its row is the scope\'s last word', { timeout: 90_000 }, async () => {
  const s = await rt.client.startSession(localCaller, { input: { mode: 'ignored' as const } });
  assert.equal(await s.result(), 'not cancelled', 'the call ran to its end');
  const scope = await rt.client.scope(s.sessionId);
  assert.equal(scope.openCalls, undefined);
  const [call, ...more] = await calls(s.sessionId, 'overrun');
  assert.equal(more.length, 0);
  assert.equal(call!.status, 'success');
  assert.ok(Date.parse(call!.endedAt!) <= Date.parse(scope.endedAt!), 'the call ended before its scope');
  assert.ok(call!.resources.some((r) => r.uri === 'db:after-the-cancel'));
  await assertClean(s.sessionId);
});
