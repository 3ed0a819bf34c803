/**
 * Scopes left `running` by runs Temporal closed without agent code, against a real server
 * and store: a terminated session (and the child Temporal terminated with it) and a child
 * that timed out get their end written by the worker from history, sealed, while a session
 * still running is left alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropTestSchema, openTestStore, startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { payloadCodec } from '../fixtures/aes-codec';
import { createWorker } from '../../worker/create-worker';
import { ScopeClient } from '../../client/scope-client';
import { isEncodedText } from '../../cim/encoded-text';
import { createFixtureTools } from '../fixtures/tools';
import { slowCaller, waiter, waitingBoss } from '../fixtures/agents';
import { reconcile } from '../../client/reconcile';
import { runsClosedWithoutAgent } from '../../store/run-status';
import type { ScopeRecord } from '../../cim/schemas';
import { Client, Connection } from '@temporalio/client';
import { ScopetrailPlugin } from '../../worker/plugin';
import { STORE_MEMO, VISIBILITY_MEMO } from '../../cim/names';
import { storeMark } from '../../store/store-mark';
import { until } from '../helpers/until';

let rt: TestRuntime;
const LOOK_EVERY_MS = 300;

before(async () => {
  rt = await startTestRuntime({
    agents: require.resolve('../fixtures/agents'),
    tools: Object.values(createFixtureTools().tools),
    unendedScopes: { everyMs: LOOK_EVERY_MS, afterMs: 0 },
  });
});
after(async () => {
  await rt?.stop();
});

/** Verify's problems once the repair's seal has committed (it is anchored in Temporal first), or the last ones seen. */
async function verified(client: { verify(id: string): Promise<{ problems: unknown[] }> }, sessionId: string): Promise<unknown[]> {
  let problems: unknown[] = [];
  await until('the repair to be sealed', async () => ((problems = (await client.verify(sessionId)).problems).length === 0 ? true : undefined), 10_000).catch(() => undefined);
  return problems;
}

const scopes = (sessionId: string, store = rt.store): Promise<ScopeRecord[]> => store.scopesOfSession(sessionId);
const ended = (sessionId: string, count: number, store = rt.store) => async () => {
  const found = await scopes(sessionId, store);
  return found.length === count && found.every((s) => s.status !== 'running') ? found : undefined;
};

test('a terminated session and the child terminated with it get their end from history; a running one is left alone', async () => {
  const stopped = await rt.client.startSession(waitingBoss, { input: { steps: 1_000 } });
  const going = await rt.client.startSession(waiter, { input: { steps: 1_000 } });
  await until('the delegate to start', async () => ((await scopes(stopped.sessionId)).length === 2 ? true : undefined));
  await rt.client.temporal.workflow.getHandle(stopped.sessionId).terminate('stopped by an operator');

  const [root, child] = await until('both scopes to end', ended(stopped.sessionId, 2));
  const byId = new Map([root, child].map((s) => [s!.scopeId, s!]));
  const boss = byId.get(stopped.sessionId)!;
  const delegate = [...byId.values()].find((s) => s.kind === 'delegation')!;
  assert.equal(boss.status, 'error');
  assert.match(boss.error ?? '', /^run terminated in Temporal \(reason: stopped by an operator\): no agent code recorded its end/);
  assert.equal(delegate.status, 'error');
  assert.match(delegate.error ?? '', /^run terminated in Temporal/);
  // What failed the session is the termination of its root, not the delegate Temporal terminated with it.
  assert.equal((await rt.client.rootCause(stopped.sessionId))?.scope.scopeId, stopped.sessionId);
  // Each ended when Temporal closed its run, not when the worker noticed.
  const { closeTime } = await rt.client.temporal.workflow.getHandle(stopped.sessionId).describe();
  assert.ok(Math.abs(Date.parse(boss.endedAt!) - closeTime!.getTime()) < 5, `${boss.endedAt} is the close time ${closeTime!.toISOString()}`);

  await rt.worker.recorder.drain();
  assert.deepEqual((await reconcile(rt.client.temporal, rt.store, stopped.sessionId)).differences, []);
  assert.deepEqual(await verified(rt.client, stopped.sessionId), [], 'the ends written are sealed');

  // The worker has looked many times meanwhile: an open run's scope is not touched, and is
  // asked about less and less often (300 ms, 600 ms, 1.2 s, 2.4 s, 4.8 s ...).
  await new Promise((r) => setTimeout(r, 6_000));
  assert.deepEqual((await scopes(going.sessionId)).map((s) => s.status), ['running']);
  // Terminated now, it is found at the next look all the same: visibility lists the run as
  // terminated (the query the worker sends each look, against the real server).
  const since = new Date().toISOString();
  const handle = rt.client.temporal.workflow.getHandle(going.sessionId);
  await handle.terminate('done with it');
  const { runId } = await handle.describe();
  await until('visibility to list the run', async () =>
    (await runsClosedWithoutAgent(rt.client.temporal.connection, 'default', since)).some((r) => r.workflowId === going.sessionId && r.runId === runId) ? true : undefined,
  );
  await until('the second session to end', ended(going.sessionId, 1));
});

test('a call still running when its run is terminated holds the seal back until its tool records its end', async () => {
  const s = await rt.client.startSession(slowCaller, { input: { ms: 3_000 } });
  await until('the call to start', async () => ((await rt.store.actionsOfSession(s.sessionId)).some((a) => a.name === 'overrun') ? true : undefined));
  await rt.client.temporal.workflow.getHandle(s.sessionId).terminate('stopped mid-call');
  const [scope] = await until('the scope to end', ended(s.sessionId, 1));
  assert.match(scope!.error ?? '', /^run terminated in Temporal \(reason: stopped mid-call\): no agent code recorded its end \(written from history by a worker\)/);
  assert.equal(scope!.openCalls?.activityIds.length, 1, 'the end names the call left running');
  // The tool runs on and records its end after the scope's; only then is the scope sealed.
  const call = await until('the call to end', async () => (await rt.store.actionsOfSession(s.sessionId)).find((a) => a.name === 'overrun' && a.status !== 'running'));
  assert.ok(Date.parse(call.endedAt!) > Date.parse(scope!.endedAt!), 'the call ended after its scope');
  await rt.worker.recorder.drain();
  await rt.worker.recorder.sealer.drain();
  assert.deepEqual(await verified(rt.client, s.sessionId), []);
});

test('a delegate that timed out gets its end; its delegator, which went on, keeps its own', async () => {
  const s = await rt.client.startSession(waitingBoss, { input: { steps: 1_000, childTimeout: '2s' } });
  const answer = await s.result();
  assert.match(String(answer), /^the waiter did not finish/);
  const found = await until('the delegate to end', ended(s.sessionId, 2));
  const delegate = found.find((x) => x.kind === 'delegation')!;
  assert.equal(delegate.status, 'error');
  assert.match(delegate.error ?? '', /^run timed out in Temporal: no agent code recorded its end/);
  // Its own end, recorded by its code: its only delegation failed (the status rules' `error`), with its failure's text.
  const root = found.find((x) => x.kind === 'root')!;
  assert.equal(root.status, 'error');
  assert.doesNotMatch(root.error ?? '', /no agent code recorded/);
  await rt.worker.recorder.drain();
  assert.deepEqual((await reconcile(rt.client.temporal, rt.store, s.sessionId)).differences, []);
  assert.deepEqual(await verified(rt.client, s.sessionId), []);
});

test('with a payload codec, the end is written encoded as workers write it, and reads back decoded', async () => {
  const dataConverter = { payloadCodecs: [payloadCodec] };
  const { store, schema } = await openTestStore();
  const taskQueue = `unended-enc-${randomBytes(5).toString('hex')}`;
  const worker = await createWorker({
    agents: require.resolve('../fixtures/agents'),
    tools: Object.values(createFixtureTools().tools),
    store,
    taskQueue,
    address: rt.temporal.address,
    spool: { dir: join(tmpdir(), `scopetrail-spool-${taskQueue}`) },
    dataConverter,
    unendedScopes: { everyMs: LOOK_EVERY_MS, afterMs: 0 },
  });
  const running = worker.run();
  const client = await ScopeClient.connect({ address: rt.temporal.address, taskQueue, store, dataConverter });
  try {
    const s = await client.startSession(waiter, { input: { steps: 1_000 }, objective: 'wait, in confidence' });
    await until('the scope to start', async () => ((await scopes(s.sessionId, store)).length === 1 ? true : undefined));
    await client.temporal.workflow.getHandle(s.sessionId).terminate('stopped by an operator');
    const [raw] = await until('the scope to end', ended(s.sessionId, 1, store));
    assert.ok(isEncodedText(raw!.error), `stored error: ${raw!.error?.slice(0, 40)}`);
    const read = await client.scope(s.sessionId);
    assert.match(read.error ?? '', /^run terminated in Temporal \(reason: stopped by an operator\)/);
    assert.equal(read.objective, 'wait, in confidence');
    await worker.recorder.drain();
    assert.deepEqual((await client.reconcile(s.sessionId)).differences, []);
    assert.deepEqual(await verified(client, s.sessionId), []);
  } finally {
    await client.close();
    await worker.shutdown();
    await running.catch(() => undefined);
    await store.close();
    await dropTestSchema(schema);
  }
});

test('a delegate terminated with its session before any worker ran it gets its whole row from history', async () => {
  // No worker polls the delegate's queue: it starts and never runs a workflow task.
  const s = await rt.client.startSession(waitingBoss, { input: { steps: 1_000, childQueue: `nobody-${randomBytes(4).toString('hex')}` } });
  const child = await until('the delegate to start', async () => {
    const { events } = await rt.client.temporal.workflow.getHandle(s.sessionId).fetchHistory();
    return events?.find((e) => e.childWorkflowExecutionStartedEventAttributes)?.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId ?? undefined;
  });
  await rt.client.temporal.workflow.getHandle(s.sessionId).terminate('stopped while its delegate waited');
  const found = await until('both scopes to end', ended(s.sessionId, 2));
  const delegate = found.find((x) => x.scopeId === child)!;
  assert.equal(delegate.kind, 'delegation');
  assert.equal(delegate.parentScopeId, s.sessionId);
  assert.equal(delegate.agent, 'waiter');
  assert.equal(delegate.objective, 'wait for a while');
  assert.equal(delegate.status, 'error');
  assert.match(delegate.error ?? '', /^run terminated in Temporal( \(reason: [^)]*\))?: it ended before any of its code ran \(written from history by a worker\)$/);
  const { closeTime, startTime } = await rt.client.temporal.workflow.getHandle(child).describe();
  assert.equal(delegate.startedAt, startTime.toISOString());
  assert.ok(Math.abs(Date.parse(delegate.endedAt!) - closeTime!.getTime()) < 5, `${delegate.endedAt} is the close time ${closeTime!.toISOString()}`);
  assert.equal((await rt.client.rootCause(s.sessionId))?.scope.scopeId, s.sessionId, 'the session failed by its own termination');
  await rt.worker.recorder.drain();
  assert.deepEqual((await reconcile(rt.client.temporal, rt.store, s.sessionId)).differences, []);
  assert.deepEqual(await verified(rt.client, s.sessionId), []);
});

test('a delegate that timed out waiting for a worker gets its row from history, though its delegator went on and nothing of it reads running', async () => {
  const s = await rt.client.startSession(waitingBoss, { input: { steps: 1_000, childTimeout: '2s', childQueue: `nobody-${randomBytes(4).toString('hex')}` } });
  assert.match(String(await s.result()), /^the waiter did not finish/);
  // Found through visibility's list of timed-out runs: no row of it, and the root ended by itself.
  const found = await until('the delegate\'s row', ended(s.sessionId, 2));
  const delegate = found.find((x) => x.kind === 'delegation')!;
  assert.equal(delegate.status, 'error');
  assert.match(delegate.error ?? '', /^run timed out in Temporal: it ended before any of its code ran \(written from history by a worker\)$/);
  await rt.worker.recorder.drain();
  assert.deepEqual((await reconcile(rt.client.temporal, rt.store, s.sessionId)).differences, []);
  assert.deepEqual(await verified(rt.client, s.sessionId), []);
});

test('a session terminated before any worker ran its root gets its one row from history', async () => {
  const nobody = await ScopeClient.connect({ address: rt.temporal.address, taskQueue: `nobody-${randomBytes(4).toString('hex')}`, store: rt.store });
  try {
    const s = await nobody.startSession(waiter, { input: { steps: 1 }, objective: 'never taken up' });
    // Nothing recorded yet, and nothing owed: the root waits for a worker.
    assert.deepEqual((await nobody.reconcile(s.sessionId)).expected, { scopes: 0, actions: 0 });
    assert.deepEqual((await nobody.verify(s.sessionId)).problems, []);
    await nobody.temporal.workflow.getHandle(s.sessionId).terminate('no worker came');
    const [root] = await until('the root\'s row', ended(s.sessionId, 1));
    assert.equal(root!.kind, 'root');
    assert.equal(root!.agent, 'waiter');
    assert.equal(root!.objective, 'never taken up', 'from the memo its client started it with');
    assert.equal(root!.status, 'error');
    assert.match(root!.error ?? '', /^run terminated in Temporal \(reason: no worker came\): it ended before any of its code ran/);
    await rt.worker.recorder.drain();
    assert.deepEqual((await reconcile(rt.client.temporal, rt.store, s.sessionId)).differences, []);
    assert.deepEqual(await verified(rt.client, s.sessionId), []);
  } finally {
    await nobody.close();
  }
});

test("a session of another store's client, terminated before any worker ran it, is left to that store", async () => {
  const other = await openTestStore();
  const queue = `nobody-${randomBytes(4).toString('hex')}`;
  const theirs = await ScopeClient.connect({ address: rt.temporal.address, taskQueue: queue, store: other.store });
  const ours = await ScopeClient.connect({ address: rt.temporal.address, taskQueue: queue, store: rt.store });
  try {
    const foreign = await theirs.startSession(waiter, { input: { steps: 1 }, objective: 'started against another store' });
    const own = await ours.startSession(waiter, { input: { steps: 1 }, objective: 'started against this store' });
    await theirs.temporal.workflow.getHandle(foreign.sessionId).terminate('no worker came');
    await ours.temporal.workflow.getHandle(own.sessionId).terminate('no worker came');
    // The session of this store's client is written: the looks have seen both runs closed by then.
    await until("this store's session row", ended(own.sessionId, 1));
    await new Promise((r) => setTimeout(r, 4 * LOOK_EVERY_MS));
    assert.deepEqual(await scopes(foreign.sessionId), [], "the other store's session is not written into this one");
  } finally {
    await theirs.close();
    await ours.close();
    await other.store.close();
    await dropTestSchema(other.schema);
  }
});

test("a workflow of the user's own, started through a Client with the plugin and terminated, is no session: nothing is written for it", async () => {
  const connection = await Connection.connect({ address: rt.temporal.address });
  const plugin = new ScopetrailPlugin({ store: rt.store, spool: false });
  const client = new Client({ connection, plugins: [plugin] });
  const queue = `nobody-${randomBytes(4).toString('hex')}`;
  try {
    const own = await client.workflow.start('ordersWorkflow', { taskQueue: queue, workflowId: `orders-${randomBytes(4).toString('hex')}`, args: [{ order: 1 }] });
    // An agent started through the same client, as a control: the looks do write its row.
    const agent = await client.workflow.start(waiter, { taskQueue: queue, workflowId: `ses-${randomBytes(4).toString('hex')}`, args: [{ steps: 1 }] });
    // A start marked as a session's though it is no agent (as a Client with an older plugin marked every start).
    const marked = await new Client({ connection }).workflow.start('ordersWorkflow', {
      taskQueue: queue,
      workflowId: `orders-${randomBytes(4).toString('hex')}`,
      args: [{ order: 2 }],
      memo: { [VISIBILITY_MEMO]: false, ...(storeMark(rt.store) ? { [STORE_MEMO]: storeMark(rt.store) } : {}) },
    });
    const described = await own.describe();
    assert.deepEqual(Object.keys(described.memo ?? {}), [], 'the plugin adds nothing to a workflow that is no agent');
    assert.ok((await agent.describe()).memo?.[VISIBILITY_MEMO] !== undefined, "an agent's start carries the memo");
    await own.terminate('no worker came');
    await marked.terminate('no worker came');
    await agent.terminate('no worker came');
    await until("the agent session's row", ended(agent.workflowId, 1));
    await new Promise((r) => setTimeout(r, 4 * LOOK_EVERY_MS));
    assert.deepEqual(await scopes(own.workflowId), [], 'no session row for a workflow of the user\'s own');
    assert.deepEqual(await scopes(marked.workflowId), [], 'nor for one whose start carries a session\'s memo');
  } finally {
    await connection.close();
  }
});
