/**
 * Replay safety: workflow-side records have deterministic ids and the store upserts
 * by id, so replays never duplicate or change what was recorded. Each scenario ends
 * with an exact count of scope and action rows against what happened.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { assertExactExampleSession, sessionRows } from '../helpers/session';
import { createExampleTools } from '../../examples/tools';
import { exampleLlm } from '../../examples/llm-script';
import { orchestrator } from '../../examples/agents';
import { bundleAgents } from '../../worker/create-worker';
import type { SinkEvent } from '../../workflows/sinks';

const AGENTS = require.resolve('../../examples/agents');
let rt: TestRuntime;

before(async () => {
  const { tools } = createExampleTools({ latencyMs: 300 });
  // No workflow cache: every workflow task replays the whole history so far.
  rt = await startTestRuntime({ agents: AGENTS, tools: Object.values(tools), llm: exampleLlm(), maxCachedWorkflows: 0 });
});
after(async () => rt?.stop());

test('with the workflow cache disabled (every task replays) sessions record exactly once', async () => {
  const sessions = await Promise.all(
    [1, 2, 3].map((i) => rt.client.startSession(orchestrator, { input: { question: `replayed ${i}` } })),
  );
  await Promise.all(sessions.map((s) => s.result()));
  for (const s of sessions) assertExactExampleSession(await sessionRows(rt, s.sessionId));
});

test('replaying recorded histories with the SDK replayer is deterministic and re-emits the same records', async () => {
  const s = await rt.client.startSession(orchestrator, { input: { question: 'history' } });
  await s.result();
  const rows = await sessionRows(rt, s.sessionId);
  const histories = await Promise.all(
    rows.scopes.map(async (scope) => ({
      workflowId: scope.workflowId,
      history: await rt.client.temporal.workflow.getHandle(scope.workflowId, scope.runId).fetchHistory(),
    })),
  );
  const replayed: SinkEvent[] = [];
  const results = Worker.runReplayHistories(
    {
      workflowBundle: await bundleAgents(AGENTS),
      sinks: { scopetrail: { record: { fn: (_info, events: SinkEvent[]) => void replayed.push(...events), callDuringReplay: true } } },
    },
    histories,
  );
  let count = 0;
  for await (const r of results) {
    assert.equal(r.error, undefined, `replay of ${r.workflowId}/${r.runId}: ${r.error?.message}`);
    count++;
  }
  assert.equal(count, rows.scopes.length, 'one history per scope');
  const replayedScopes = new Set(replayed.filter((e) => e.type === 'scope').map((e) => e.record.scopeId));
  assert.deepEqual([...replayedScopes].sort(), rows.scopes.map((x) => x.scopeId).sort());
  const replayedActions = new Set(replayed.filter((e) => e.type === 'action').map((e) => (e.record as { actionId: string }).actionId));
  const storedWorkflowSide = rows.actions.filter((a) => a.activityId === null).map((a) => a.actionId).sort();
  assert.deepEqual([...replayedActions].sort(), storedWorkflowSide, 'replay emits exactly the stored workflow-side ids');
  for (const e of replayed) {
    if (e.type !== 'scope' || e.record.status === 'running') continue;
    const stored = rows.scopes.find((x) => x.scopeId === e.record.scopeId)!;
    assert.deepEqual(
      { status: e.record.status, recovered: e.record.recovered, endedAt: e.record.endedAt },
      { status: stored.status, recovered: stored.recovered, endedAt: stored.endedAt },
      `replayed end of ${stored.scopeId} matches the stored row`,
    );
  }
});

test('restarting the worker in the middle of sessions loses and duplicates nothing', async () => {
  const sessions = await Promise.all(
    [1, 2].map((i) => rt.client.startSession(orchestrator, { input: { question: `restart ${i}` } })),
  );
  await new Promise((r) => setTimeout(r, 700));
  const before = (await rt.store.scopesOfSession(sessions[0]!.sessionId)).length;
  assert.ok(before > 0 && before < 7, `the restart happens mid-session (${before} of 7 scopes started)`);
  await rt.restartWorker();
  await Promise.all(sessions.map((s) => s.result()));
  for (const s of sessions) {
    const rows = await sessionRows(rt, s.sessionId);
    assert.equal(rows.scopes.length, 7);
    assert.ok(rows.scopes.every((x) => x.status !== 'running') && rows.actions.every((a) => a.status !== 'running'));
    // A tool call cut short by the shutdown is retried: one more attempt than a quiet run,
    // and history says so too — the store must hold exactly what history proves.
    const report = await rt.client.reconcile(s.sessionId);
    assert.deepEqual(report.differences, []);
    assert.equal(report.stored.actions, report.expected.actions);
    assert.ok(rows.actions.length >= 19);
  }
});
