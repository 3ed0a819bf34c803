/**
 * The model-driven example (`scopetrail run research`): its tree and actions, and a
 * replay of every recorded history with no nondeterminism.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createExampleTools } from '../../examples/tools';
import { lead } from '../../examples/research-agents';
import { researchModel } from '../../examples/research-model';
import { bundleAgents } from '../../worker/create-worker';
import type { SinkEvent } from '../../workflows/sinks';

const AGENTS = require.resolve('../../examples/research-agents');
let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: AGENTS, tools: Object.values(createExampleTools({ latencyMs: 50 }).tools), model: researchModel() });
});
after(async () => rt?.stop());

test('the research team: parallel delegations, the same tool from sibling scopes, a failing tool, a handoff; replay is deterministic', async () => {
  const s = await rt.client.startSession(lead, { input: { prompt: 'How do durable workflows make agent delegation auditable?' } });
  const result = (await s.result()) as { text: string };
  assert.match(result.text, /^Durable workflows make delegation auditable/);
  const sid = s.sessionId;
  const rows = await sessionRows(rt, sid);

  assert.deepEqual(rows.scopes.map((x) => `${x.scopeId.slice(sid.length) || '(root)'} ${x.agent} ${x.kind} ${x.status}`).sort(), [
    '(root) lead root success',
    '.1 scout delegation success',
    '.2 scout delegation success',
    '.3 factChecker delegation success',
    '~1 editor handoff success',
  ]);
  // The three delegations ran side by side.
  const kids = ['.1', '.2', '.3'].map((x) => rows.scope(x));
  assert.ok(Math.max(...kids.map((k) => Date.parse(k.startedAt))) < Math.min(...kids.map((k) => Date.parse(k.endedAt!))), 'delegations overlap');
  // search from three sibling scopes, one call each, each under its own scope.
  assert.deepEqual(rows.actions.filter((a) => a.name === 'search').map((a) => a.scopeId).sort(), kids.map((k) => k.scopeId).sort());
  // translate failed on every attempt and the lead went on.
  assert.deepEqual(rows.actionsOf(sid).filter((a) => a.name === 'translate').map((a) => a.status), ['error', 'error', 'error']);
  assert.equal(rows.actions.filter((a) => a.kind === 'llm_call').length, 13);
  assert.deepEqual((await rt.client.reconcile(sid)).differences, []);
  assert.deepEqual((await rt.client.drift()).filter((d) => d.drifted), [], 'manifests come from the declarations');

  const histories = await Promise.all(
    rows.scopes.map(async (x) => ({ workflowId: x.workflowId, history: await rt.client.temporal.workflow.getHandle(x.workflowId, x.runId).fetchHistory() })),
  );
  const replayed: SinkEvent[] = [];
  const replays = Worker.runReplayHistories(
    { workflowBundle: await bundleAgents(AGENTS), sinks: { scopetrail: { record: { fn: (_i, events: SinkEvent[]) => void replayed.push(...events), callDuringReplay: true } } } },
    histories,
  );
  let n = 0;
  for await (const r of replays) {
    assert.equal(r.error, undefined, `replay of ${r.workflowId}/${r.runId}: ${r.error?.message}`);
    n++;
  }
  assert.equal(n, 5);
  const replayedIds = new Set(replayed.filter((e) => e.type === 'action').map((e) => (e.record as { actionId: string }).actionId));
  const recordedWorkflowSide = rows.actions.filter((a) => a.activityId === null).map((a) => a.actionId);
  assert.deepEqual(recordedWorkflowSide.filter((id) => !replayedIds.has(id)), [], 'replay re-emits the same workflow-side records');
});
