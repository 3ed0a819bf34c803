/**
 * A long-running agent continues-as-new inside its own scope when Temporal suggests it:
 * one scope across several runs, every call attributed to it with an id of its own,
 * child ids unique across runs, and reconcile follows the chain to 0 differences.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { marathon, rawLooper } from '../fixtures/agents';
import { groupCalls } from '../../cim/forensics';
import { UNHANDLED_SIGNAL_ERROR } from '../../cim/names';

let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({
    agents: require.resolve('../fixtures/agents'),
    tools: Object.values(createFixtureTools().tools),
    maxConcurrentActivityTaskExecutions: 100,
  });
});
after(async () => rt?.stop());

test('one scope, 5,000 tool calls over several runs: every call attributed, ids unique, 0 differences', { timeout: 600_000 }, async () => {
  const TOTAL = 5_000;
  const s = await rt.client.startSession(marathon, { input: { done: 0, total: TOTAL, batch: 100 } });
  // Signals no handler takes, sent while it works: each is recorded by the run it reached, as
  // that run continues as new or ends, under an id of that run's.
  const handle = rt.client.temporal.workflow.getHandle(s.sessionId);
  for (const n of [1, 2, 3]) {
    await new Promise((r) => setTimeout(r, 1_500 * n));
    await handle.signal('note', n);
  }
  assert.equal(await s.result(), TOTAL);
  const sid = s.sessionId;
  const rows = await sessionRows(rt, sid);

  const runs = await runsOf(sid);
  assert.ok(runs.length >= 2, `Temporal suggested continuing as new: ${runs.length} runs`);
  const root = rows.scope('');
  assert.equal(root.status, 'success');
  assert.equal(root.runId, runs.at(-1), 'the scope row names its latest run');

  const echoes = rows.actionsOf(sid).filter((a) => a.name === 'echo');
  assert.equal(echoes.length, TOTAL, 'one row per call, none overwritten by a later run');
  assert.ok(echoes.every((a) => a.status === 'success' && a.attempt === 1));
  assert.equal(groupCalls(echoes).length, TOTAL, 'calls of different runs never group together');
  assert.equal(new Set(echoes.map((a) => a.runId)).size, runs.length, 'calls came from every run');

  // One delegation per run, each its own child scope.
  const children = rows.scopes.filter((x) => x.parentScopeId === sid).map((x) => x.scopeId).sort();
  assert.deepEqual(children, runs.map((_, i) => `${sid}.${i + 1}`).sort());
  assert.equal(rows.actionsOf(sid).filter((a) => a.kind === 'delegate').length, runs.length);

  const notes = rows.actionsOf(sid).filter((a) => a.kind === 'signal');
  // Three rows: an id reused by a later run would have overwritten one.
  assert.deepEqual(notes.map((a) => [a.name, a.status, a.error]), Array(3).fill(['note', 'error', UNHANDLED_SIGNAL_ERROR]));

  const report = await rt.client.reconcile(sid);
  assert.deepEqual(report.differences, []);
  assert.equal(report.runs, runs.length * 2);
});

test('an agent that calls Temporal\'s continueAsNew itself stays one scope: no id of a run is taken again by the next, 0 differences', { timeout: 120_000 }, async () => {
  const RUNS = 4;
  const s = await rt.client.startSession(rawLooper, { input: { run: 1, runs: RUNS }, objective: 'loop four times' });
  assert.equal(await s.result(), RUNS);
  const sid = s.sessionId;
  const runs = await runsOf(sid);
  assert.equal(runs.length, RUNS);
  const rows = await sessionRows(rt, sid);
  const root = rows.scope('');
  assert.deepEqual([root.status, root.runId, root.objective], ['success', runs.at(-1), 'loop four times'], 'one scope, its objective kept, ended by its last run');
  const echoes = rows.actionsOf(sid).filter((a) => a.name === 'echo');
  assert.equal(echoes.length, 2 * RUNS, 'every run\'s calls have rows of their own');
  assert.equal(new Set(echoes.map((a) => a.runId)).size, RUNS);
  const children = rows.scopes.filter((x) => x.parentScopeId === sid).map((x) => x.scopeId).sort();
  assert.equal(children.length, RUNS, 'one delegate scope per run');
  assert.equal(rows.actionsOf(sid).filter((a) => a.kind === 'delegate').length, RUNS);
  assert.deepEqual((await rt.client.reconcile(sid)).differences, []);
  await rt.worker.recorder.drain();
  assert.deepEqual((await rt.client.verify(sid)).problems, []);
});

async function runsOf(workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const w of rt.client.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(w.runId);
  // Visibility lists newest first; a run's history names the run it continued.
  const order = new Map<string, string | undefined>();
  for (const runId of runs) {
    const h = await rt.client.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
    order.set(runId, h.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined);
  }
  const first = runs.find((r) => !order.get(r))!;
  const chain = [first];
  while (chain.length < runs.length) chain.push(runs.find((r) => order.get(r) === chain.at(-1))!);
  return chain;
}
