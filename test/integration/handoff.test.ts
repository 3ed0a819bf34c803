/** Handoffs: control passes sideways through continue-as-new, by call or by signal. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { chainA, dropper, rawAcross, rawSideways, waiter } from '../fixtures/agents';
import { ScopeClient } from '../../client/scope-client';

/** Two workers writing one store: a Postgres server, not the embedded store, which lives in one process. */
const SHARED_STORE_SKIP = usesPglite() && 'two workers share the store, which the embedded store cannot (set DATABASE_URL to a Postgres server to run it)';

let rt: TestRuntime;
/** A worker with other agents on its own task queue, writing to the same store. */
let remote: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
  remote = await startTestRuntime({ agents: require.resolve('../fixtures/remote-agents'), tools: Object.values(createFixtureTools().tools), schema: rt.schema });
});
after(async () => {
  await remote?.stop();
  await rt?.stop();
});

test('a handoff chain A → B → C is three lateral scopes in one session, none the parent of another', async () => {
  const s = await rt.client.startSession(chainA, { input: { hops: [] } });
  assert.deepEqual(await s.result(), ['A', 'B', 'C']);
  const rows = await sessionRows(rt, s.sessionId);
  assert.equal(rows.scopes.length, 3);
  const [a, b, c] = [rows.scope(''), rows.scope('~1'), rows.scope('~2')];
  assert.deepEqual([a.agent, b.agent, c.agent], ['chainA', 'chainB', 'chainC']);
  assert.deepEqual([a.kind, b.kind, c.kind], ['root', 'handoff', 'handoff']);
  assert.deepEqual([a.parentScopeId, b.parentScopeId, c.parentScopeId], [null, null, null]);
  assert.deepEqual([b.handoffFromScopeId, c.handoffFromScopeId], [a.scopeId, b.scopeId]);
  assert.equal(b.agentVersion, '2.0.0', 'the target states its own version');
  assert.equal(b.objective, 'B handles billing');
  assert.ok(a.workflowId === b.workflowId && b.workflowId === c.workflowId, 'same workflow id');
  assert.equal(new Set([a.runId, b.runId, c.runId]).size, 3, 'each scope is its own run');
  assert.ok([a, b, c].every((x) => x.status === 'success' && x.endedAt));
  const handoffs = rows.actions.filter((x) => x.kind === 'handoff');
  assert.deepEqual(handoffs.map((h) => [h.scopeId, h.name, h.targetScopeId]), [
    [a.scopeId, 'chainB', b.scopeId],
    [b.scopeId, 'chainC', c.scopeId],
  ]);
  // Each scope's echo stays its own: no scope is another's descendant.
  for (const x of [a, b, c]) {
    const under = await rt.client.actionsUnder(x.scopeId, { descendants: true });
    assert.ok(under.every((u) => u.scopeId === x.scopeId));
  }
  const tree = await rt.client.scopeTree(s.sessionId);
  assert.equal(tree.roots.length, 1);
  assert.equal(tree.roots[0]!.handoffs[0]!.scope.scopeId, b.scopeId);
  assert.equal(tree.roots[0]!.handoffs[0]!.handoffs[0]!.scope.scopeId, c.scopeId);
});

test('an agent that calls Temporal\'s continueAsNew itself into another agent hands off to it, recorded as a handoff', async () => {
  const s = await rt.client.startSession(rawSideways, { input: { hops: [] } });
  assert.deepEqual(await s.result(), ['raw', 'C']);
  const rows = await sessionRows(rt, s.sessionId);
  const [a, b] = [rows.scope(''), rows.scope('~1')];
  assert.equal(rows.scopes.length, 2);
  assert.deepEqual([a.agent, b.agent, b.kind, b.handoffFromScopeId, b.parentScopeId], ['rawSideways', 'chainC', 'handoff', a.scopeId, null]);
  assert.equal(b.objective, 'continued as new as chainC');
  assert.ok([a, b].every((x) => x.status === 'success' && x.endedAt));
  const handoffs = rows.actions.filter((x) => x.kind === 'handoff');
  assert.deepEqual(handoffs.map((h) => [h.scopeId, h.name, h.targetScopeId]), [[a.scopeId, 'chainC', b.scopeId]]);
  assert.deepEqual(rows.actionsOf(b.scopeId).map((x) => x.name), ['echo'], 'the target\'s call is its own');
  const described = await rt.client.temporal.workflow.getHandle(s.sessionId).describe();
  assert.equal(described.memo?.team, 'billing', 'the memo the agent gave goes on');
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  await rt.worker.recorder.drain();
  assert.deepEqual((await rt.client.verify(s.sessionId)).problems, []);
});

test('continueAsNew into an agent only another worker has is a handoff too: the next scope is that agent\'s, and no id repeats', { skip: SHARED_STORE_SKIP }, async () => {
  const s = await rt.client.startSession(rawAcross, { input: { queue: remote.taskQueue } });
  assert.equal(await s.result(), 'remote after rawAcross');
  const rows = await sessionRows(rt, s.sessionId);
  assert.equal(rows.scopes.length, 2);
  const [a, b] = [rows.scope(''), rows.scope('~1')];
  assert.deepEqual([a.agent, b.agent, b.agentVersion, b.kind, b.handoffFromScopeId], ['rawAcross', 'remoteAgent', '3.0.0', 'handoff', a.scopeId]);
  assert.notEqual(a.runId, b.runId);
  assert.ok([a, b].every((x) => x.status === 'success' && x.endedAt));
  const handoffs = rows.actions.filter((x) => x.kind === 'handoff');
  assert.deepEqual(handoffs.map((h) => [h.scopeId, h.name, h.targetScopeId]), [[a.scopeId, 'remoteAgent', b.scopeId]]);
  assert.deepEqual(rows.actionsOf(a.scopeId).map((x) => x.name), ['echo', 'remoteAgent']);
  assert.deepEqual(rows.actionsOf(b.scopeId).map((x) => x.name), ['echo'], 'the target\'s call is its own');
  assert.equal(new Set(rows.actions.map((x) => x.actionId)).size, rows.actions.length, 'every action id is its own');
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  await Promise.all([rt.worker.recorder.drain(), remote.worker.recorder.drain()]);
  assert.deepEqual((await rt.client.verify(s.sessionId)).problems, []);
});

test('continueAsNew into a workflow that is no agent is recorded as a handoff to it, and reconcile reports the scope that never began', { skip: SHARED_STORE_SKIP }, async () => {
  const s = await rt.client.startSession(rawAcross, { input: { queue: remote.taskQueue, to: 'plainAfter' } });
  assert.equal(await rt.client.temporal.workflow.getHandle(s.sessionId).result(), 'plain after rawAcross');
  const rows = await sessionRows(rt, s.sessionId);
  assert.deepEqual(rows.scopes.map((x) => [x.scopeId, x.status]), [[s.sessionId, 'success']]);
  const handoffs = rows.actions.filter((x) => x.kind === 'handoff');
  assert.deepEqual(handoffs.map((h) => [h.name, h.targetScopeId]), [['plainAfter', `${s.sessionId}~1`]]);
  const { differences } = await rt.client.reconcile(s.sessionId);
  assert.deepEqual(differences.map((d) => [d.kind, d.record, d.id]), [['missing', 'scope', `${s.sessionId}~1`]]);
});

test('a handoff requested by signal happens at the agent\'s next safe point and the signal is recorded', async () => {
  const s = await rt.client.startSession(waiter, { input: { steps: 100 } });
  await new Promise((r) => setTimeout(r, 700));
  const receipt = await rt.client.requestHandoff(s.sessionId, { to: 'chainC', reason: 'a person takes over', input: { hops: ['router'] } });
  assert.deepEqual(await s.result(), ['router', 'C']);
  assert.deepEqual(await receipt.outcome(), { outcome: 'honoured', to: 'chainC', scopeId: `${s.sessionId}~1` });
  const rows = await sessionRows(rt, s.sessionId);
  const signal = rows.actionsOf(s.sessionId).find((a) => a.kind === 'signal');
  assert.equal(signal?.name, 'scopetrail.handoff');
  assert.equal(signal?.status, 'success');
  assert.equal(signal?.error, null);
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  await rt.worker.recorder.drain();
  assert.deepEqual((await rt.client.verify(s.sessionId)).problems, []);
  const next = rows.scope('~1');
  assert.equal(next.agent, 'chainC');
  assert.equal(next.kind, 'handoff');
  assert.equal(next.handoffFromScopeId, s.sessionId);
  assert.equal(next.objective, 'a person takes over');
  const handoffAction = rows.actionsOf(s.sessionId).find((a) => a.kind === 'handoff');
  assert.ok(handoffAction && signal && handoffAction.startedAt >= signal.startedAt, 'the handoff follows the signal');
});

test('a malformed handoff signal is refused by the client naming the field, and by the agent if sent raw', async () => {
  await assert.rejects(
    rt.client.requestHandoff('whatever', { to: 'not an agent!', reason: 'x' }),
    /requestHandoff: invalid field "to"/,
  );
  const s = await rt.client.startSession(waiter, { input: { steps: 4 } });
  await rt.client.temporal.workflow.getHandle(s.sessionId).signal('scopetrail.handoff', { to: 'chainC' });
  assert.equal(await s.result(), 'finished without handoff');
  const rows = await sessionRows(rt, s.sessionId);
  const signal = rows.actions.find((a) => a.kind === 'signal');
  assert.equal(signal?.status, 'error');
  assert.match(signal?.error ?? '', /handoff request: invalid field "reason"/);
  assert.equal(rows.scopes.length, 1, 'no handoff happened');
});

test('a handoff to an agent this worker does not have is refused and recorded, and the agent carries on; once the session has ended, a request is refused naming it', async () => {
  const s = await rt.client.startSession(waiter, { input: { steps: 4 } });
  await rt.client.requestHandoff(s.sessionId, { to: 'nobodyHere', reason: 'misrouted' });
  assert.equal(await s.result(), 'finished without handoff');
  await assert.rejects(rt.client.requestHandoff(s.sessionId, { to: 'chainC', reason: 'too late' }), (err: Error & { field?: string }) => {
    assert.equal(err.name, 'RunClosedError');
    assert.equal(err.field, 'workflowId');
    assert.match(err.message, new RegExp(`requestHandoff: invalid field "workflowId": workflow "${s.sessionId}" has ended \\(completed\\)`));
    return true;
  });
  const rows = await sessionRows(rt, s.sessionId);
  const signal = rows.actions.find((a) => a.kind === 'signal');
  assert.equal(signal?.status, 'error');
  assert.match(signal?.error ?? '', /unknown agent "nobodyHere"/);
  assert.equal(rows.scopes.length, 1);
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});

for (const [then, why, scopes] of [
  ['return', 'returned before its next checkpoint', 1],
  ['handoff', 'handed off to chainB itself', 3],
] as const) {
  test(`a handoff request the agent drops (it ${why}) is recorded as not honoured, and the caller is told so`, async () => {
    const s = await rt.client.startSession(dropper, { input: { then } });
    const receipt = await rt.client.requestHandoff(s.sessionId, { to: 'chainC', reason: 'a person takes over', input: { hops: ['router'] } });
    const reason = `handoff to chainC requested but not honoured: the agent ${why}`;
    assert.deepEqual(await receipt.outcome(), { outcome: 'not_honoured', to: 'chainC', reason });
    await rt.client.temporal.workflow.getHandle(s.sessionId).result();
    const rows = await sessionRows(rt, s.sessionId);
    assert.equal(rows.scopes.length, scopes);
    const signal = rows.actionsOf(s.sessionId).find((a) => a.kind === 'signal');
    assert.deepEqual([signal?.name, signal?.status, signal?.error], ['scopetrail.handoff', 'error', reason]);
    assert.ok(signal?.endedAt && signal.endedAt <= rows.scope('').endedAt!, 'its fate is recorded by the time the scope ends');
    assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
    await rt.worker.recorder.drain();
    assert.deepEqual((await rt.client.verify(s.sessionId)).problems, []);
  });
}

test('a refused handoff request is not honoured, and the caller is told why', async () => {
  const s = await rt.client.startSession(waiter, { input: { steps: 4 } });
  const receipt = await rt.client.requestHandoff(s.sessionId, { to: 'nobodyHere', reason: 'misrouted' });
  assert.deepEqual(await receipt.outcome(), { outcome: 'not_honoured', to: 'nobodyHere', reason: 'the agent refused it: handoff request: unknown agent "nobodyHere"; this request was ignored' });
});

test('what became of a handoff request is answered from history while the store does not answer, and asked again once it does', async () => {
  // A client whose store refuses to list the workers' agents, as a store that is down does.
  let storeDown = true;
  let manifestReads = 0;
  const store = new Proxy(rt.store, {
    get(target, prop) {
      if (prop === 'storedManifests') {
        return async () => {
          manifestReads += 1;
          if (storeDown) throw new Error('connect ECONNREFUSED 127.0.0.1:1');
          return target.storedManifests();
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const client = await ScopeClient.connect({ address: rt.temporal.address, namespace: 'default', taskQueue: rt.taskQueue, store });
  try {
    // Honoured: the run went on into the agent asked for, which history alone proves.
    const honoured = await rt.client.startSession(waiter, { input: { steps: 100 } });
    await new Promise((r) => setTimeout(r, 500));
    const receipt = await client.requestHandoff(honoured.sessionId, { to: 'chainC', reason: 'a person takes over', input: { hops: ['router'] } });
    assert.deepEqual(await receipt.outcome(), { outcome: 'honoured', to: 'chainC', scopeId: `${honoured.sessionId}~1` });
    assert.equal(manifestReads, 0, 'an honoured request needs no store');

    // A request to an agent no worker defines, then one to chainC: only the store can say the first was refused and the second taken.
    const both = await rt.client.startSession(waiter, { input: { steps: 100 } });
    await new Promise((r) => setTimeout(r, 500));
    await client.requestHandoff(both.sessionId, { to: 'nobodyHere', reason: 'misrouted' });
    const second = await client.requestHandoff(both.sessionId, { to: 'chainC', reason: 'rerouted', input: { hops: ['router'] } });
    assert.deepEqual(await both.result(), ['router', 'C']);
    await assert.rejects(second.outcome(), (err: Error) => {
      assert.equal(err.name, 'HandoffOutcomeUncheckedError');
      assert.match(err.message, /the store that says which agents they define does not answer \(connect ECONNREFUSED 127\.0\.0\.1:1\); call outcome\(\) again once the store is back$/);
      return true;
    });
    storeDown = false;
    assert.deepEqual(await second.outcome(), { outcome: 'honoured', to: 'chainC', scopeId: `${both.sessionId}~1` });
    storeDown = true;

    // Not honoured: told so from history, with what could not be checked.
    const dropped = await rt.client.startSession(waiter, { input: { steps: 3 } });
    const misrouted = await client.requestHandoff(dropped.sessionId, { to: 'nobodyHere', reason: 'misrouted' });
    const answer = await misrouted.outcome();
    assert.equal(answer.outcome, 'not_honoured');
    assert.match((answer as { reason: string }).reason, /\(whether the workers define nobodyHere was not checked: the store does not answer: connect ECONNREFUSED 127\.0\.0\.1:1\)$/);
  } finally {
    storeDown = false;
    await client.close();
  }
});
