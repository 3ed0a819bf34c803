/**
 * Budgets per scope subtree: turns, tokens and wall time, narrowed on the way down and
 * charged on the way up. Running out cancels the subtree through Temporal cancellation
 * and records a `budget_exceeded` action; the scope ends as `error`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { bLeakBoss, bTimeBoss, bTurnBoss } from '../fixtures/model-agents';
import { ScriptedModelProvider, callTool } from '../../activities/scripted-model';

let rt: TestRuntime;
before(async () => {
  const looping = Array.from({ length: 50 }, () => ({ calls: [callTool('echo', { text: 'again' })] }));
  rt = await startTestRuntime({
    agents: require.resolve('../fixtures/model-agents'),
    tools: Object.values(createFixtureTools().tools),
    model: new ScriptedModelProvider({ bLooper: looping, bShortLooper: looping }),
  });
});
after(async () => rt?.stop());

test('a delegate gets what its delegator has left, runs out mid-subtree, and what it spent is charged upward', async () => {
  const s = await rt.client.startSession(bTurnBoss, { input: {} });
  await assert.rejects(s.result());
  const rows = await sessionRows(rt, s.sessionId);
  const [boss, looper] = [rows.scope(''), rows.scope('.1')];

  // The looper started with 3 of the boss's 4 turns and took exactly 3 model steps.
  assert.equal(looper.status, 'error');
  assert.match(looper.error ?? '', /^budget exceeded \(turns\): 3 of 3 model turns used/);
  assert.equal(rows.actionsOf(looper.scopeId).filter((a) => a.kind === 'llm_call').length, 3);
  const [overrun] = rows.actionsOf(looper.scopeId).filter((a) => a.kind === 'budget_exceeded');
  assert.deepEqual([overrun?.name, overrun?.status, overrun?.attributes.limit], ['turns', 'error', 3]);

  // The boss was charged the looper's 3 turns: its own next llm() is the 5th and is refused.
  assert.equal(boss.status, 'error');
  assert.match(boss.error ?? '', /^budget exceeded \(turns\): 4 of 4 model turns used/);
  assert.equal(rows.actionsOf(boss.scopeId).filter((a) => a.kind === 'llm_call').length, 1);
  assert.equal(rows.actionsOf(boss.scopeId).filter((a) => a.kind === 'budget_exceeded').length, 1);
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});

test('what a delegate spent is charged upward however it fails: one that stops at its own maxTurns leaves its delegator 0 of 4', async () => {
  const s = await rt.client.startSession(bLeakBoss, { input: {} });
  await assert.rejects(s.result());
  const rows = await sessionRows(rt, s.sessionId);
  const [boss, looper] = [rows.scope(''), rows.scope('.1')];
  assert.equal(looper.status, 'error');
  assert.match(looper.error ?? '', /stopped after maxTurns \(3\) model steps/);
  assert.equal(rows.actionsOf(looper.scopeId).filter((a) => a.kind === 'llm_call').length, 3);
  assert.deepEqual(rows.actionsOf(looper.scopeId).filter((a) => a.kind === 'budget_exceeded'), [], 'the looper ran out of maxTurns, not of budget');
  // 1 of its own and the looper's 3: the boss's second llm() would be the 5th turn of 4.
  assert.equal(boss.status, 'error');
  assert.match(boss.error ?? '', /^budget exceeded \(turns\): 4 of 4 model turns used/);
  assert.equal(rows.actionsOf(boss.scopeId).filter((a) => a.kind === 'llm_call').length, 1);
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});

test('wall time runs out: the subtree is cancelled through Temporal and the overrun recorded', async () => {
  const started = Date.now();
  const s = await rt.client.startSession(bTimeBoss, { input: {} });
  await assert.rejects(s.result());
  assert.ok(Date.now() - started < 20_000, 'ended at the deadline, not when the sleeper would have woken');
  // The activity hears of its cancellation at its next heartbeat, after its workflow ended.
  let rows = await sessionRows(rt, s.sessionId);
  for (let i = 0; i < 50 && rows.actions.some((a) => a.status === 'running'); i++) {
    await new Promise((r) => setTimeout(r, 200));
    rows = await sessionRows(rt, s.sessionId);
  }
  const [boss, sleeper] = [rows.scope(''), rows.scope('.1')];
  assert.equal(boss.status, 'error');
  assert.match(boss.error ?? '', /^budget exceeded \(wall_time\)/);
  assert.deepEqual(rows.actionsOf(boss.scopeId).filter((a) => a.kind === 'budget_exceeded').map((a) => a.name), ['wall_time']);
  assert.equal(sleeper.status, 'cancelled', `the delegate was cancelled, not left running: ${sleeper.error}`);
  const slow = rows.actionsOf(sleeper.scopeId).filter((a) => a.name === 'slow');
  assert.deepEqual(slow.map((a) => a.status), ['cancelled']);
  // The delegation is reported as cancelled by its delegator.
  assert.deepEqual(rows.actionsOf(boss.scopeId).filter((a) => a.kind === 'delegate').map((a) => a.status), ['cancelled']);
  const status = await rt.client.status(boss.scopeId);
  assert.equal(status.scope.status, 'error');
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});
