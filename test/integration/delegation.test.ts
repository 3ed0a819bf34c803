/** Delegation in full: nesting, fan-out, failure, retry by the delegator, cancellation. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowNotFoundError } from '@temporalio/client';
import { dropTestSchema, openTestStore, startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { ScopeClient } from '../../client/scope-client';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { badTimeout, canceller, deep, fanout, looseDelegator, misrouter, retrier, sleeperBoss } from '../fixtures/agents';

let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
});
after(async () => rt?.stop());

test('nested delegation to depth 5 forms a chain of scopes with paths, depths and delegators', async () => {
  const s = await rt.client.startSession(deep, { input: { depth: 5 } });
  assert.equal(await s.result(), 5);
  const rows = await sessionRows(rt, s.sessionId);
  assert.equal(rows.scopes.length, 6);
  let id = s.sessionId;
  for (let depth = 0; depth <= 5; depth++) {
    const scope = rows.scopes.find((x) => x.scopeId === id)!;
    assert.equal(scope.depth, depth);
    assert.equal(scope.kind, depth === 0 ? 'root' : 'delegation');
    assert.equal(scope.parentScopeId, depth === 0 ? null : id.slice(0, id.lastIndexOf('.')));
    assert.equal(scope.delegatedBy, depth === 0 ? null : 'deep');
    assert.equal(scope.status, 'success');
    assert.ok(scope.path.endsWith(`/${id}/`));
    assert.equal(scope.path.split('/').filter(Boolean).length, depth + 1);
    const kinds = rows.actionsOf(id).map((a) => a.kind).sort();
    assert.deepEqual(kinds, depth === 5 ? ['tool_call'] : ['delegate', 'tool_call']);
    id = `${id}.1`;
  }
  const under = await rt.client.actionsUnder(`${s.sessionId}.1.1.1`, { descendants: true });
  assert.equal(under.length, 3 + 2, 'three echo calls at depths 3-5 and two delegations');
});

test('parallel fan-out: some delegates fail, the delegator catches the typed error and ends degraded', async () => {
  const s = await rt.client.startSession(fanout, { input: { n: 5, failing: [1, 3] } });
  const results = (await s.result()) as Array<{ ok: boolean; scopeId?: string; message?: string }>;
  assert.deepEqual(results.map((r) => r.ok), [true, false, true, false, true]);
  assert.equal(results[1]!.scopeId, `${s.sessionId}.2`);
  assert.match(results[1]!.message!, /leaf refused: t1/);
  const rows = await sessionRows(rt, s.sessionId);
  assert.equal(rows.scope('').status, 'degraded');
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((i) => rows.scope(`.${i}`).status),
    ['success', 'error', 'success', 'error', 'success'],
  );
  const delegates = rows.actionsOf(s.sessionId).filter((a) => a.kind === 'delegate');
  assert.equal(delegates.length, 5);
  assert.deepEqual(
    delegates.map((a) => `${a.targetScopeId?.slice(s.sessionId.length)}:${a.status}`).sort(),
    ['.1:success', '.2:error', '.3:success', '.4:error', '.5:success'],
  );
});

test('when every delegate fails the delegator ends in error even though its own code returned', async () => {
  const s = await rt.client.startSession(fanout, { input: { n: 2, failing: [0, 1] } });
  await s.result();
  const rows = await sessionRows(rt, s.sessionId);
  assert.equal(rows.scope('').status, 'error');
});

test('a delegate retried by the delegator: failed attempts are scopes of their own, the slot recovers', async () => {
  const s = await rt.client.startSession(retrier, { input: { attempts: 3, failFirst: 2 } });
  assert.equal(await s.result(), 'succeeded on attempt 3');
  const rows = await sessionRows(rt, s.sessionId);
  assert.deepEqual(['.1', '.2', '.3'].map((x) => rows.scope(x).status), ['error', 'error', 'success']);
  const root = rows.scope('');
  assert.equal(root.status, 'success');
  assert.equal(root.recovered, true);
  const delegates = rows.actionsOf(s.sessionId).filter((a) => a.kind === 'delegate');
  assert.deepEqual(delegates.map((a) => [a.attempt, a.status]), [[1, 'error'], [2, 'error'], [3, 'success']]);
  // status shows the three scopes as tries of one delegation, each linked to the one it repeated.
  const report = await rt.client.status(s.sessionId);
  const id = (x: string) => (x ? `${s.sessionId}${x}` : null);
  assert.deepEqual(
    report.children.map((c) => [c.scopeId, c.attempt, c.retryOf, c.retriedAs]),
    [[id('.1'), 1, null, id('.2')], [id('.2'), 2, id('.1'), id('.3')], [id('.3'), 3, id('.2'), null]],
  );
});

test('a delegate that fails on every attempt surfaces as DelegationError and the delegator fails', async () => {
  const s = await rt.client.startSession(retrier, { input: { attempts: 2, failFirst: 5 } });
  await assert.rejects(s.result(), (err: Error) => {
    const cause = err.cause as Error & { type?: string };
    assert.equal(cause.type, 'DelegationError');
    assert.match(cause.message, /delegation to unreliable \(scope .*\.2\) failed after 2 attempt/);
    return true;
  });
  const rows = await sessionRows(rt, s.sessionId);
  assert.equal(rows.scope('').status, 'error');
  assert.match(rows.scope('').error ?? '', /DelegationError|delegation to unreliable/);
});

test('a delegate cancelled from outside fails a delegator that does not catch it, and its row says error, as history does', async () => {
  const s = await rt.client.startSession(sleeperBoss, { input: {} });
  const child = `${s.sessionId}.1`;
  for (let i = 0; i < 50; i++) {
    const rows = await rt.store.scopesOfSession(s.sessionId);
    if (rows.some((r) => r.scopeId === child)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await rt.client.temporal.workflow.getHandle(child).cancel();
  await assert.rejects(s.result());
  const { status } = await rt.client.temporal.workflow.getHandle(s.sessionId).describe();
  assert.equal(status.name, 'FAILED', 'Temporal fails the delegator: only its delegate was asked to cancel');
  await rt.worker.recorder.drain();
  const rows = await sessionRows(rt, s.sessionId);
  assert.deepEqual([rows.scope('').status, rows.scope('.1').status], ['error', 'cancelled']);
  assert.equal(rows.scope('').error, 'Child Workflow execution cancelled', 'in the words history has');
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});

test('cancelling a delegate ends its scope as cancelled and records the delegation as cancelled', async () => {
  const s = await rt.client.startSession(canceller, { input: {} });
  assert.equal(await s.result(), 'cancelled');
  const rows = await sessionRows(rt, s.sessionId);
  assert.equal(rows.scope('.1').status, 'cancelled');
  const [del] = rows.actionsOf(s.sessionId).filter((a) => a.kind === 'delegate');
  assert.equal(del?.status, 'cancelled');
  assert.equal(rows.scope('').status, 'success', 'a deliberate cancellation is not a failure');
  // The activity learns of the cancellation at its next heartbeat, after the parent has returned.
  const slowStatus = async () =>
    (await rt.client.actionsUnder(`${s.sessionId}.1`)).find((a) => a.name === 'slow')?.status;
  for (let i = 0; i < 100 && (await slowStatus()) !== 'cancelled'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await slowStatus(), 'cancelled');
});

test('a delegation to an agent this worker does not have fails at once, naming the agent, instead of waiting forever', async () => {
  const caught = await rt.client.startSession(misrouter, { input: { to: 'nobodyHere', catchIt: true } });
  const said = (await caught.result()) as string;
  assert.match(said, /^refused: delegate: unknown agent "nobodyHere"; this worker's agents are .*misrouter.*workflowOptions\.taskQueue/);
  const rows = await sessionRows(rt, caught.sessionId);
  assert.deepEqual(rows.scopes.map((s) => [s.kind, s.status]), [['root', 'success']], 'no delegation scope was born');
  assert.deepEqual((await rt.client.reconcile(caught.sessionId)).differences, []);

  const failed = await rt.client.startSession(misrouter, { input: { to: 'nobodyHere', catchIt: false } });
  await assert.rejects(failed.result());
  const root = (await sessionRows(rt, failed.sessionId)).scopes[0]!;
  assert.equal(root.status, 'error');
  assert.match(root.error ?? '', /unknown agent "nobodyHere"/);
});

test('a session id is one session for good: starting another under it, running or closed, is refused naming sessionId, and the first keeps its records', async () => {
  const sessionId = `once-${Date.now()}`;
  const first = await rt.client.startSession(deep, { input: { depth: 1 }, sessionId });
  await assert.rejects(rt.client.startSession(deep, { input: { depth: 0 }, sessionId }), (err: Error & { field?: string }) => {
    assert.equal(err.name, 'SessionIdTakenError');
    assert.equal(err.field, 'sessionId');
    assert.match(err.message, /startSession: invalid field "sessionId": session "once-\d+" already exists/);
    return true;
  });
  assert.equal(await first.result(), 1);
  const before = await sessionRows(rt, sessionId);
  await assert.rejects(rt.client.startSession(fanout, { input: { n: 1 }, sessionId }), { name: 'SessionIdTakenError' });
  const after = await sessionRows(rt, sessionId);
  assert.deepEqual(after.scopes.map((s) => [s.scopeId, s.agent, s.status]), before.scopes.map((s) => [s.scopeId, s.agent, s.status]));
  assert.deepEqual((await rt.client.reconcile(sessionId)).differences, []);
});

test('delegate() checks its options before anything starts: an allowance given as a string is refused, not read letter by letter', async () => {
  for (const [options, field] of [
    [{ objective: 'narrow', allowance: 'api:*' }, 'allowance'],
    [{ objective: 42 }, 'objective'],
    [{ objective: '  ' }, 'objective'],
    [{ objective: 'retry', attempts: -3 }, 'attempts'],
    [{ objective: 'spend', budget: { turns: 'many' } }, 'budget.turns'],
  ] as const) {
    const s = await rt.client.startSession(looseDelegator, { input: { options } });
    assert.match(String(await s.result()), new RegExp(`^refused: delegate to leaf: invalid field "${field.replace('.', '\\.')}"`), JSON.stringify(options));
    const rows = await sessionRows(rt, s.sessionId);
    assert.deepEqual(rows.scopes.map((x) => x.kind), ['root'], `${field}: no delegation started`);
  }
  const ok = await rt.client.startSession(looseDelegator, { input: { options: { objective: 'fine', allowance: ['api:*'] } } });
  assert.equal(await ok.result(), 'delegated');
});

test('a session of an agent no worker has registered is refused before anything starts, naming agent and the agents the store knows', async () => {
  // The worker registers its manifests as it starts running.
  for (let i = 0; i < 100 && (await rt.store.manifests()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  const sessionId = `typo-${Date.now()}`;
  await assert.rejects(rt.client.startSession('fanuot', { input: { n: 1 }, sessionId }), (err: Error & { field?: string; knownAgents?: string[] }) => {
    assert.equal(err.name, 'UnknownAgentError');
    assert.equal(err.field, 'agent');
    assert.match(err.message, /^startSession: invalid field "agent": no worker has registered an agent "fanuot"; the store knows .*\bfanout\b/);
    assert.ok(err.knownAgents?.includes('fanout') && err.knownAgents.includes('deep'));
    return true;
  });
  await assert.rejects(rt.client.temporal.workflow.getHandle(sessionId).describe(), WorkflowNotFoundError, 'nothing started in Temporal');
  assert.deepEqual(await rt.store.scopesOfSession(sessionId), [], 'nothing recorded');
  // A name that cannot be an agent's is refused the same way, whatever the store knows.
  await assert.rejects(rt.client.startSession('no such agent', { input: {} }), { name: 'InvalidArgumentError', field: 'agent' });
  // Asked to wait for a worker deployed later, it starts, and Temporal holds it.
  const waiting = await rt.client.startSession('notDeployedYet', { input: {}, waitForWorker: true });
  const handle = rt.client.temporal.workflow.getHandle(waiting.sessionId);
  assert.equal((await handle.describe()).status.name, 'RUNNING');
  await handle.terminate('test over');
  await assert.rejects(rt.client.startSession('fanout', { input: {}, waitForWorker: 'yes' as unknown as boolean }), { name: 'InvalidArgumentError', field: 'waitForWorker' });
});

test('a session started before any worker registered its agents starts as before: Temporal holds it for the worker to come', async () => {
  const { store, schema } = await openTestStore();
  const client = await ScopeClient.connect({ store, address: rt.temporal.address, taskQueue: `nobody-yet-${Date.now()}` });
  try {
    const s = await client.startSession('notYetServed', { input: {} });
    const handle = client.temporal.workflow.getHandle(s.sessionId);
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    await handle.terminate('test over');
  } finally {
    await client.close();
    await store.close();
    await dropTestSchema(schema);
  }
});

test('a delegation whose options Temporal cannot read fails naming the field, and leaves no row history cannot explain', async () => {
  for (const [how, field, reason] of [
    ['delegate', 'workflowOptions.workflowExecutionTimeout', "Invalid duration string: 'abc'"],
    ['executeChild', 'workflowOptions.retry.initialInterval', "Invalid duration string: '1 fortnight'"],
  ] as const) {
    const s = await rt.client.startSession(badTimeout, { input: { how } });
    const context = how === 'delegate' ? 'delegate to waiter' : 'start child waiter';
    assert.deepEqual(await s.result(), { name: 'InvalidOptionError', field, message: `${context}: invalid field "${field}": ${reason}` });
    const { actions, scopes } = await sessionRows(rt, s.sessionId);
    assert.deepEqual(actions.filter((a) => a.kind === 'delegate'), [], how);
    assert.deepEqual(scopes.map((x) => x.scopeId), [s.sessionId], how);
    await rt.worker.recorder.drain();
    assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, [], how);
  }
});

test('a delegation whose input Temporal cannot send fails naming the value, and leaves no row history cannot explain', async () => {
  const s = await rt.client.startSession(badTimeout, { input: { how: 'bigintInput' } });
  // Before, the agent got "Unable to convert [object Object] to payload", and a delegate row history cannot explain was written (reconcile: "extra").
  assert.deepEqual(await s.result(), {
    name: 'ApplicationFailure',
    type: 'UnsendableDelegationInput',
    message: 'delegate to waiter: its input cannot be sent to Temporal: input.n is a BigInt (10n), which JSON cannot hold',
  });
  const { actions, scopes } = await sessionRows(rt, s.sessionId);
  assert.deepEqual(actions.filter((a) => a.kind === 'delegate'), []);
  assert.deepEqual(scopes.map((x) => [x.scopeId, x.status]), [[s.sessionId, 'success']]);
  await rt.worker.recorder.drain();
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});

test('a delegation whose input JSON would change on the way (a Map) is refused on this build, naming the value; earlier builds started it (replay-compat keeps those)', async () => {
  const s = await rt.client.startSession(badTimeout, { input: { how: 'mapDelegate' } });
  assert.deepEqual(await s.result(), {
    name: 'ApplicationFailure',
    type: 'UnsendableDelegationInput',
    message: 'delegate to waiter: its input cannot be sent to Temporal: input.seen is a Map, which JSON would turn into an empty object; send an object or an array of [key, value] pairs',
  });
  assert.deepEqual((await sessionRows(rt, s.sessionId)).actions.filter((a) => a.kind === 'delegate'), []);
  await rt.worker.recorder.drain();
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});

for (const [how, type, context] of [
  ['handoffInput', 'UnsendableHandoffInput', 'handoff to waiter'],
  ['continueInput', 'UnsendableContinuationInput', 'continue as new'],
] as const) {
  test(`a ${how === 'handoffInput' ? 'handoff' : 'continue-as-new'} whose input Temporal cannot send fails naming the value; the agent keeps control, and no row says control left`, async () => {
    const s = await rt.client.startSession(badTimeout, { input: { how } });
    // Before, a handoff's row was written (history has no handoff: reconcile found it "extra") and the agent got "Unable to convert [object Object] to payload".
    assert.deepEqual(await s.result(), { name: 'ApplicationFailure', type, message: `${context}: its input cannot be sent to Temporal: input.n is a BigInt (10n), which JSON cannot hold` });
    const { actions, scopes } = await sessionRows(rt, s.sessionId);
    assert.deepEqual(actions.filter((a) => a.kind === 'handoff'), []);
    assert.deepEqual(scopes.map((x) => [x.scopeId, x.status]), [[s.sessionId, 'success']]);
    await rt.worker.recorder.drain();
    assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  });
}
