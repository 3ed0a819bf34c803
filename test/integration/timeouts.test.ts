/**
 * Tool calls that outlive their timeout on a live worker: a tool that does not heartbeat
 * is never told that Temporal timed its attempt out, and finishes (touching resources)
 * after the workflow has retried, caught the timeout, ended and been sealed. The store
 * records each such attempt as history has it (failed, timed out), with what the tool
 * really did in its error, and the sealed scope stays whole: verify and reconcile are
 * clean. A resource the tool reported only after its scope was sealed is kept aside,
 * loudly, never lost and never written over the seal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import { testSql } from '../helpers/test-sql';
import { createFixtureTools } from '../fixtures/tools';
import { overrunner, quietStaller, staller, steady, toolQuitter } from '../fixtures/agents';
import { listQuarantine } from '../../worker/quarantine';
import { LATE_TIMEOUT_REASON } from '../../worker/late-records';
import type { ActionRecord } from '../../cim/schemas';

let rt: TestRuntime;
let spoolDir: string;
const fixtures = createFixtureTools();
const logs: string[] = [];
before(async () => {
  spoolDir = mkdtempSync(join(tmpdir(), 'scopetrail-timeouts-'));
  rt = await startTestRuntime({
    agents: require.resolve('../fixtures/agents'),
    tools: Object.values(fixtures.tools),
    spool: { dir: spoolDir },
    log: (message) => logs.push(message),
  });
});
after(async () => {
  await rt?.stop();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the session's scopes are sealed and its tools have had time to finish late. */
async function settled(sessionId: string, toolMs: number, tool = 'overrun'): Promise<ActionRecord[]> {
  await sleep(toolMs + 500);
  await rt.worker.recorder.drain();
  return (await rt.client.actionsOfSession(sessionId)).filter((a) => a.name === tool).sort((a, b) => a.attempt - b.attempt);
}

async function assertClean(sessionId: string): Promise<void> {
  assert.deepEqual((await rt.client.verify(sessionId)).problems, [], 'the sealed scope stays whole');
  assert.deepEqual((await rt.client.reconcile(sessionId)).differences, [], 'the store says what history says');
}

test('attempts that finish after their start-to-close timeout are recorded as timed out, and the sealed session verifies and reconciles', { timeout: 60_000 }, async () => {
  const s = await rt.client.startSession(overrunner, { input: { ms: 2_500 } });
  assert.match(await s.result(), /^gave up: Activity task timed out/);
  const attempts = await settled(s.sessionId, 2_500);
  assert.deepEqual(attempts.map((a) => [a.attempt, a.status]), [[1, 'error'], [2, 'error']]);
  for (const a of attempts) {
    assert.match(a.error ?? '', /^attempt timed out: its start-to-close timeout \(1000 ms\) passed/);
    assert.deepEqual(a.resources, [{ uri: 'api:slow-upstream', mode: 'read' }]);
    assert.equal(a.outputDigest, null, 'an output Temporal discarded has no digest');
  }
  // The tools finished after the scope was sealed; their records added nothing worth keeping aside.
  assert.ok((await rt.client.scope(s.sessionId)).status !== 'running');
  await assertClean(s.sessionId);
});

test('an attempt that ends after its call\'s schedule-to-close deadline (unlimited retries) still has its row', { timeout: 60_000 }, async () => {
  const s = await rt.client.startSession(overrunner, { input: { ms: 4_000, scheduleToClose: true } });
  assert.match(await s.result(), /^gave up: Activity task timed out/);
  const attempts = await settled(s.sessionId, 4_000);
  assert.ok(attempts.length >= 2, `several attempts ran before the call's deadline (${attempts.length})`);
  assert.ok(attempts.every((a) => a.status === 'error'));
  assert.match(attempts.at(-1)!.error ?? '', /^attempt timed out: its (schedule|start)-to-close timeout/);
  await assertClean(s.sessionId);
});

test('what a tool reports after its timeout lands on its row while the scope is open, and is kept aside, said so, once the scope is sealed', { timeout: 60_000 }, async () => {
  // Attempt 1 finishes at 1.5 s, while attempt 2 still runs: its scope is open. (Attempt 2
  // finishes at about 2.6 s, as its scope is being sealed: on its row or kept aside, either way.)
  const open = await rt.client.startSession(overrunner, { input: { ms: 1_500, lateResource: 'db:orders' } });
  await open.result();
  const first = (await settled(open.sessionId, 1_500))[0]!;
  assert.deepEqual([first.attempt, first.status, first.resources.map((r) => r.uri).sort()], [1, 'error', ['api:slow-upstream', 'db:orders']]);
  assert.match(first.error ?? '', /it succeeded after 1\d{3} ms, and Temporal discarded that outcome/);
  await assertClean(open.sessionId);

  // Both attempts finish at 6 s and 7 s, long after the session ended and was sealed.
  const sealed = await rt.client.startSession(overrunner, { input: { ms: 6_000, lateResource: 'db:invoices' } });
  await sealed.result();
  const attempts = await settled(sealed.sessionId, 7_200);
  assert.ok(attempts.every((a) => !a.resources.some((r) => r.uri === 'db:invoices')), 'the sealed rows were not changed');
  await assertClean(sealed.sessionId);
  const kept = listQuarantine(spoolDir).entries.filter((e) => e.reason === LATE_TIMEOUT_REASON);
  const keptOfSession = kept.flatMap((e) => e.ids).filter((id) => id.startsWith(`${sealed.sessionId}/`));
  assert.deepEqual(keptOfSession.sort(), attempts.map((a) => a.actionId).sort(), 'both late records, with what they touched, are in quarantine');
  assert.match(logs.join('\n'), /QUARANTINED 1 records of tool calls that finished after their timeout, when their scopes were already sealed/);
});

test('attempts of a tool that never heartbeats, past their heartbeat timeout, are not recorded as successes over what history says', { timeout: 60_000 }, async () => {
  // Each attempt lingers 2.5 s under a 1 s heartbeat timeout, and never hears of it.
  const s = await rt.client.startSession(quietStaller, { input: { ms: 2_500 } });
  assert.match(await s.result(), /^gave up: Activity task timed out/);
  let attempts = await settled(s.sessionId, 2_500, 'linger');
  for (const until = Date.now() + 10_000; Date.now() < until && attempts.some((a) => a.status !== 'error'); ) attempts = await settled(s.sessionId, 200, 'linger');
  assert.deepEqual(attempts.map((a) => [a.attempt, a.status]), [[1, 'error'], [2, 'error']]);
  assert.ok(attempts.every((a) => a.outputDigest === null), 'no output Temporal discarded has a digest');
  await assertClean(s.sessionId);
});

test('an attempt that heartbeats all along, running longer than its heartbeat timeout, is recorded as it ended: one success', { timeout: 60_000 }, async () => {
  // 2.5 s under a 1 s heartbeat timeout, heartbeating every 100 ms: the server keeps the attempt,
  // and the worker, which asks past the heartbeat timeout, must not take it for a dropped one.
  const s = await rt.client.startSession(steady, { input: { ms: 2_500 } });
  assert.equal(await s.result(), 2_500);
  const attempts = await settled(s.sessionId, 0, 'slow');
  assert.deepEqual(attempts.map((a) => [a.attempt, a.status, a.error]), [[1, 'success', null]]);
  assert.notEqual(attempts[0]!.outputDigest, null, 'the output Temporal took has its digest');
  await assertClean(s.sessionId);
});

for (const heed of [false, true]) {
  test(`attempts that miss their heartbeat timeout and then ${heed ? 'heed' : 'ignore'} the server's NOT_FOUND are recorded as timed out`, { timeout: 60_000 }, async () => {
    // Each attempt stalls 2.5 s under a 1 s heartbeat timeout; the server retries once, then fails the call.
    const ended = fixtures.runs.stallEnded;
    const s = await rt.client.startSession(staller, { input: { stallMs: 2_500, heed } });
    assert.match(await s.result(), /^gave up: Activity task timed out/);
    // Both tools have returned; their records follow once history has been read. Rows are
    // read until each attempt's record is on its row or kept aside (or 15 s pass).
    while (fixtures.runs.stallEnded < ended + 2) await sleep(100);
    const kept = () => new Set(listQuarantine(spoolDir).entries.filter((e) => e.reason === LATE_TIMEOUT_REASON).flatMap((e) => e.ids));
    const toolSaid = (a: ActionRecord) => /^attempt timed out: its heartbeat timeout/.test(a.error ?? '');
    const declared = [{ uri: 'api:stalled-upstream', mode: 'read' }];
    const filledAlike = (a: ActionRecord) => a.status === 'error' && a.attributes.reconstructed === true && JSON.stringify(a.resources) === JSON.stringify(declared);
    let attempts = await settled(s.sessionId, 0, 'stall');
    for (const until = Date.now() + 15_000; Date.now() < until && !attempts.every((a) => toolSaid(a) || filledAlike(a) || kept().has(a.actionId)); ) {
      attempts = await settled(s.sessionId, 200, 'stall');
    }
    assert.deepEqual(attempts.map((a) => [a.attempt, a.status]), [[1, 'error'], [2, 'error']]);
    for (const a of attempts) {
      assert.equal(a.outputDigest, null);
      if (toolSaid(a)) {
        // The tool's own record landed while the scope was open.
        assert.match(a.error!, /^attempt timed out: its heartbeat timeout \(1000 ms\) passed before the tool finished; it (succeeded|failed \(NOT_FOUND\)) after \d+ ms/);
        assert.equal(a.attributes.timedOut, true);
        assert.deepEqual(a.resources, declared);
      } else {
        // The workflow recorded the call's end first (HEARTBEAT, from history), and the scope
        // was sealed before the tool finished. Its record, saying the same, was dropped; one
        // that adds a resource the sealed row lacks is kept aside.
        assert.match(a.error ?? '', /^attempt timed out \(HEARTBEAT\)/);
        assert.ok(filledAlike(a) || kept().has(a.actionId), `${a.actionId}: the sealed row has the tool's resources, or its late record is in quarantine`);
      }
    }
    await assertClean(s.sessionId);
  });
}

// A run that ends without awaiting a call leaves it running: the tool finishes (touching a
// resource) after the scope's end, and its record lands on the scope before it is sealed.
const endings = { return: 'returned', fail: 'failed', all: 'failed through a Promise.all', cancel: 'cancelled it and returned' } as const;
for (const end of ['return', 'fail', 'all', 'cancel'] as const) {
  test(`a tool call still running when its run ends (the agent ${endings[end]} without awaiting it) is recorded whole, and its scope is sealed after it`, { timeout: 60_000 }, async () => {
    const s = await rt.client.startSession(toolQuitter, { input: { end, lateResource: 'db:after-the-end' } });
    await s.result().catch(() => undefined);
    const scope = await rt.client.scope(s.sessionId);
    assert.equal(scope.status, { return: 'success', fail: 'error', all: 'error', cancel: 'success' }[end]);
    assert.equal(scope.openCalls?.activityIds.length, 1, 'the end record names the call left running');
    // 30 s start-to-close from the run's end, and the grace.
    const wait = Date.parse(scope.openCalls!.until) - Date.parse(scope.endedAt!);
    assert.ok(wait >= 40_000 && wait < 41_000, `waits for the call's deadline at most (${wait} ms)`);
    const [call, ...more] = await settled(s.sessionId, 3_000);
    assert.equal(more.length, 0);
    assert.equal(call!.status, 'success');
    assert.equal(call!.activityId, scope.openCalls!.activityIds[0]);
    assert.deepEqual(call!.resources.map((r) => r.uri).sort(), ['api:slow-upstream', 'db:after-the-end']);
    const chains = await rt.store.chainsOfSession(s.sessionId);
    const sealed = chains.chains.find((c) => c.scope.scopeId === s.sessionId)!;
    assert.equal(sealed.chainLength, (await rt.client.actionsOfSession(s.sessionId)).length, 'sealed, with the call\'s end in its chain');
    await assertClean(s.sessionId);
    assert.ok((await rt.client.footprint(s.sessionId)).resources.some((r) => r.uri === 'db:after-the-end'), 'the footprint has what the call touched after the end');
    if (end === 'return' && !usesPglite()) {
      // A store whose scope no longer names the call left running: history says it was.
      assert.equal((await testSql(`UPDATE "${rt.schema}".scopes SET open_calls = NULL WHERE scope_id = $1`, [s.sessionId])).rowCount, 1);
      const [diff, ...others] = (await rt.client.reconcile(s.sessionId)).differences;
      assert.deepEqual(others, []);
      assert.deepEqual([diff?.kind, diff?.record, diff?.id], ['mismatched', 'scope', s.sessionId]);
      assert.match(diff!.detail, new RegExp(`openCalls: history shows call "${call!.activityId}" still running when run \\S+ closed; the store's openCalls is absent`));
    }
  });
}

test('a call its run left unstarted records no end: its scope is sealed once the call\'s wait is over, by the worker that recorded the end', { timeout: 60_000 }, async () => {
  const s = await rt.client.startSession(toolQuitter, { input: { end: 'at once' } });
  assert.equal(await s.result(), 'left the tool call unstarted');
  const scope = await rt.client.scope(s.sessionId);
  const until = Date.parse(scope.openCalls!.until);
  // 1 s start-to-close from the run's end, and the grace.
  assert.equal(until - Date.parse(scope.endedAt!), 11_000);
  const sealedLength = async () => (await rt.store.chainsOfSession(s.sessionId)).chains[0]!.chainLength;
  await sleep(3_000);
  await rt.worker.recorder.drain();
  assert.equal(await sealedLength(), null, 'not sealed while the call might still end');
  assert.deepEqual((await rt.client.verify(s.sessionId)).problems, [], 'and not called unsealed meanwhile');
  // Queued again at `until` (the sweep runs once a minute): sealed within a few seconds of it.
  while (Date.now() < until + 5_000 && (await sealedLength()) === null) await sleep(250);
  assert.equal(await sealedLength(), 0, 'sealed once the wait is over, with no record of the call');
  assert.deepEqual((await rt.client.actionsOfSession(s.sessionId)).filter((a) => a.name === 'overrun'), []);
  await assertClean(s.sessionId);
});
