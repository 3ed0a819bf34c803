/**
 * A bundle built with the plugin, given to a worker without it: the agent must not run
 * unrecorded. Its first workflow task fails naming the plugin, no tool runs and the store
 * holds nothing; once a worker with the plugin takes the task queue, the same session runs,
 * is recorded whole and reconciles with zero differences.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { bundleAgents, createWorker } from '../../worker/create-worker';
import { ScopeClient } from '../../client/scope-client';
import { createFixtureTools } from '../fixtures/tools';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { until } from '../helpers/until';

const AGENTS = require.resolve('../fixtures/agents');
let rt: TestRuntime;
let bundle: WorkflowBundle;

before(async () => {
  rt = await startTestRuntime({ agents: AGENTS, tools: [], log: () => undefined });
  bundle = await bundleAgents(AGENTS);
});
after(async () => rt?.stop());

test('an agent on a worker without the plugin does not run; it runs, recorded, once a worker with the plugin takes its queue', async () => {
  const taskQueue = `no-plugin-${randomBytes(4).toString('hex')}`;
  const tools = createFixtureTools().tools;
  const connection = await NativeConnection.connect({ address: rt.temporal.address });
  const client = await ScopeClient.connect({ address: rt.temporal.address, namespace: rt.temporal.namespace, taskQueue, store: rt.store });
  // The plugin's bundle, the tools as plain activities: everything but the plugin.
  const bare = await Worker.create({
    connection,
    namespace: rt.temporal.namespace,
    taskQueue,
    workflowBundle: bundle,
    activities: Object.fromEntries(Object.values(tools).map((t) => [t.spec.name, t.activity])),
  });
  const bareRunning = bare.run();
  let bareStopped = false;
  const stopBare = async () => {
    if (bareStopped) return;
    bareStopped = true;
    bare.shutdown();
    await bareRunning.catch(() => undefined);
  };
  try {
    const session = await client.startSession('leaf', { input: { text: 'only when recorded' } });
    const handle = client.temporal.workflow.getHandle(session.sessionId);
    const failed = await until('a failed workflow task', async () => {
      const { events } = await handle.fetchHistory();
      return events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
    });
    assert.match(failed, /agent leaf runs on a worker of task queue "no-plugin-[0-9a-f]+" without the ScopetrailPlugin/);
    assert.match(failed, /Give that worker the plugin/);
    const { events } = await handle.fetchHistory();
    assert.equal(events?.some((e) => e.activityTaskScheduledEventAttributes), false, 'no tool was called');
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'the session waits');
    assert.equal(await rt.store.sessionHasScopes(session.sessionId), false, 'nothing is recorded');
    await stopBare();

    const worker = await createWorker({
      agents: AGENTS,
      workflowBundle: bundle,
      tools: Object.values(tools),
      store: rt.store,
      taskQueue,
      address: rt.temporal.address,
      namespace: rt.temporal.namespace,
      spool: false,
    });
    const running = worker.run();
    try {
      assert.equal(await session.result(), 'only when recorded');
      await worker.recorder.drain();
      const tree = await client.scopeTree(session.sessionId);
      assert.deepEqual(tree.roots.map((n) => [n.scope.agent, n.scope.status]), [['leaf', 'success']]);
      const calls = (await client.actionsOfSession(session.sessionId)).filter((a) => a.kind === 'tool_call');
      assert.deepEqual(calls.map((a) => [a.name, a.status]), [['echo', 'success']]);
      const report = await client.reconcile(session.sessionId);
      assert.deepEqual(report.differences, [], JSON.stringify(report.differences, null, 1));
    } finally {
      await worker.shutdown();
      await running.catch(() => undefined);
    }
  } finally {
    await stopBare();
    await client.close();
    await connection.close();
  }
});
