/**
 * ScopetrailPlugin on a worker that also has activities of its own: an agent that calls
 * them with the SDK's proxyActivities (or proxyLocalActivities) gets their values as
 * outside an agent, and each attempt is still recorded under the agent's scope.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { ScopetrailPlugin } from '../../worker/plugin';
import { ScopeClient } from '../../client/scope-client';
import { Client, Connection } from '@temporalio/client';
import { unwrapAgentResult } from '../../index';
import { openTestStore, dropTestSchema } from '../helpers/runtime';
import type { Store } from '../../store/types';
import { bundleAgents } from '../../worker/create-worker';
import { addSignal, doubleUpdate, sdkFeatures, totalQuery } from '../fixtures/agents';

let store: Store;
let schema: string;
before(async () => {
  ({ store, schema } = await openTestStore());
});
after(async () => {
  await store?.close();
  if (schema) await dropTestSchema(schema);
});

const address = process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';

/** A worker of the user's own: the plugin beside activities of its own (`plainFlaky` as the test needs it). */
async function ownWorker(taskQueue: string, plainFlaky: (key: string) => Promise<{ tries: number }>) {
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('../fixtures/agents'),
    activities: {
      plainGreet: async (name: string) => `hello ${name}`,
      plainFlaky,
      plainRefuse: async (reason: string) => {
        throw ApplicationFailure.nonRetryable(`refused: ${reason}`, 'Refused', { why: reason });
      },
    },
    plugins: [new ScopetrailPlugin({ store, tools: [], spool: false })],
  });
  return { connection, worker };
}

test('an agent calling the worker\'s own activities gets their values, plain and local, after a retry and on failure, and every attempt is recorded', async () => {
  const taskQueue = `own-activities-${randomBytes(4).toString('hex')}`;
  const tries = new Map<string, number>();
  const { connection, worker } = await ownWorker(taskQueue, async (key: string) => {
    const n = (tries.get(key) ?? 0) + 1;
    tries.set(key, n);
    if (n < 2) throw new Error('not yet');
    return { tries: n };
  });
  const running = worker.run();
  const client = await ScopeClient.connect({ store, taskQueue, address });
  try {
    const s = await client.startSession('plainCaller', { input: { name: 'root' }, waitForWorker: true });
    assert.deepEqual(await s.result(), { greeting: 'hello root', local: 'hello root', flaky: { tries: 2 }, refused: 'refused: no|[{"why":"no"}]' });
    worker.shutdown();
    await running;
    const actions = await client.actionsUnder(s.sessionId);
    assert.deepEqual(
      actions.map((a) => `${a.name}#${a.attempt}:${a.status}`).sort(),
      ['plainFlaky#1:error', 'plainFlaky#2:success', 'plainGreet#1:success', 'plainGreet#1:success', 'plainRefuse#1:error'],
    );
    assert.deepEqual((await client.reconcile(s.sessionId)).differences, []);
  } finally {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => undefined);
    await client.close();
    await connection.close();
  }
});

test('an agent started by a workflow of the user\'s own returns its value to it; a plain Temporal client unwraps the envelope with unwrapAgentResult', async () => {
  const taskQueue = `own-parent-${randomBytes(4).toString('hex')}`;
  const { connection, worker } = await ownWorker(taskQueue, async () => ({ tries: 1 }));
  const running = worker.run();
  const plain = new Client({ connection: await Connection.connect({ address }) });
  const expected = { greeting: 'hello own', local: 'hello own', flaky: { tries: 1 }, refused: 'refused: no|[{"why":"no"}]' };
  try {
    const id = `own-parent-${randomBytes(4).toString('hex')}`;
    assert.deepEqual(await plain.workflow.execute('ownParent', { taskQueue, workflowId: id, args: [{ name: 'own' }] }), expected);
    const raw = await plain.workflow.execute('plainCaller', { taskQueue, workflowId: `ses-${randomBytes(6).toString('hex')}`, args: [{ name: 'own' }] });
    const { value, meta } = unwrapAgentResult(raw);
    assert.deepEqual(value, expected);
    assert.equal(meta?.status, 'success');
    assert.deepEqual(unwrapAgentResult('not an agent\'s'), { value: 'not an agent\'s' });
    // A workflow of the user's own whose id looks like a session's is no session to reconcile or verify.
    const lookalike = `ses-${randomBytes(6).toString('hex')}`;
    assert.equal(await plain.workflow.execute('plainGreeting', { taskQueue, workflowId: lookalike, args: ['you'] }), 'hi you');
    const scopes = await ScopeClient.connect({ store, taskQueue, address });
    try {
      await assert.rejects(scopes.reconcile(lookalike), { name: 'UnknownIdError' });
      await assert.rejects(scopes.verify(lookalike), { name: 'UnknownIdError' });
    } finally {
      await scopes.close();
    }
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await plain.connection.close();
    await connection.close();
  }
});

test('workflows of the user\'s own beside the plugin keep their own SDK state, several at once, and replay', async () => {
  // The plugin shares '@temporalio/workflow' across the workflows of a worker thread (SHARED_SANDBOX_MODULES).
  const taskQueue = `own-sdk-${randomBytes(4).toString('hex')}`;
  const { connection, worker } = await ownWorker(taskQueue, async () => ({ tries: 1 }));
  const running = worker.run();
  const plain = new Client({ connection: await Connection.connect({ address }) });
  try {
    const expects = [2, 3, 5, 1];
    const handles = await Promise.all(
      expects.map((expect, i) => plain.workflow.start(sdkFeatures, { taskQueue, workflowId: `own-sdk-${i}-${randomBytes(4).toString('hex')}`, args: [{ expect }] })),
    );
    // Interleaved: every workflow gets a signal before any gets its second.
    for (let round = 0; round < Math.max(...expects); round++) {
      await Promise.all(handles.map((h, i) => (round < expects[i]! ? h.signal(addSignal, 1) : undefined)));
    }
    assert.deepEqual(await Promise.all(handles.map((h) => h.query(totalQuery))), expects);
    assert.deepEqual(await Promise.all(handles.map((h) => h.executeUpdate(doubleUpdate))), expects.map((n) => n * 2));
    const results = await Promise.all(handles.map((h) => h.result()));
    assert.deepEqual(
      results,
      handles.map((h, i) => ({ workflowId: h.workflowId, whoFinished: h.workflowId, total: expects[i]! * 2, draws: true, uuid: 36, patched: true, cancelled: true })),
    );
    const histories = await Promise.all(handles.map(async (h) => ({ workflowId: h.workflowId, history: await h.fetchHistory() })));
    let replayed = 0;
    for await (const r of Worker.runReplayHistories({ workflowBundle: await bundleAgents(require.resolve('../fixtures/agents')) }, histories)) {
      assert.equal(r.error, undefined, `replay of ${r.workflowId}: ${r.error?.message}`);
      replayed++;
    }
    assert.equal(replayed, handles.length);
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await plain.connection.close();
    await connection.close();
  }
});

test("the plugin on a worker whose workflows module holds only workflows of the user's own: it starts, runs them, and registers no agent", async () => {
  const taskQueue = `own-workflows-${randomBytes(4).toString('hex')}`;
  const connection = await NativeConnection.connect({ address });
  const lines: string[] = [];
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('../fixtures/own-workflows'),
    activities: { shipOrder: async (order: number) => `shipped ${order}` },
    plugins: [new ScopetrailPlugin({ store, tools: [], spool: false, log: (line) => lines.push(line) })],
  });
  const running = worker.run();
  const plain = new Client({ connection: await Connection.connect({ address }) });
  try {
    assert.equal(await plain.workflow.execute('ordersWorkflow', { taskQueue, workflowId: `orders-${randomBytes(4).toString('hex')}`, args: [7] }), 'shipped 7');
    assert.deepEqual((await store.manifests()).filter((m) => m.name === 'ordersWorkflow'), []);
    assert.deepEqual(lines.filter((l) => /agent/.test(l)), [], 'nothing said about agents it does not have');
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await plain.connection.close();
    await connection.close();
  }
  // An agents module given as such must hold agents: that is a mistake worth stopping for.
  await assert.rejects(
    Worker.create({
      connection: await NativeConnection.connect({ address }),
      taskQueue,
      workflowsPath: require.resolve('../fixtures/own-workflows'),
      plugins: [new ScopetrailPlugin({ store, tools: [], spool: false, agents: require.resolve('../fixtures/own-workflows') })],
    }),
    /exports no agent made with defineAgent\(\)/,
  );
});
