/**
 * A scope is sealed only once Temporal has closed the run that recorded its end. A run
 * this worker saw the server close (its terminal completion accepted) is known closed
 * without asking; the sealer asks Temporal only about runs it did not see end.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { createFixtureTools } from '../fixtures/tools';
import { chainA, deep } from '../fixtures/agents';
import { EndedRuns } from '../../worker/ended-runs';

let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
});
after(async () => rt?.stop());

test('delegations and handoffs this worker ran are sealed without asking Temporal about their runs', async () => {
  const sealer = rt.worker.recorder.sealer;
  await sealer.drain();
  const looksBefore = sealer.runLooks;
  const sealedBefore = sealer.sealed;
  const delegated = await rt.client.startSession(deep, { input: { depth: 3 } });
  const handedOff = await rt.client.startSession(chainA, { input: { hops: [] } });
  assert.equal(await delegated.result(), 3);
  assert.deepEqual(await handedOff.result(), ['A', 'B', 'C']);
  // Left to seal on its own schedule: a drain right away would look at runs whose end the
  // client heard of before the worker did.
  const stored = (await rt.store.scopesOfSession(delegated.sessionId)).length + (await rt.store.scopesOfSession(handedOff.sessionId)).length;
  for (const deadline = Date.now() + 20_000; sealer.sealed - sealedBefore < stored && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  await rt.worker.recorder.drain();
  let scopeCount = 0;
  for (const sessionId of [delegated.sessionId, handedOff.sessionId]) {
    const scopes = await rt.store.scopesOfSession(sessionId);
    assert.ok(scopes.length >= 3, `${sessionId}: ${scopes.length} scopes`);
    scopeCount += scopes.length;
    const chains = (await rt.store.chainsOfSession(sessionId)).chains;
    assert.deepEqual(chains.filter((c) => c.chainLength === null).map((c) => c.scope.scopeId), [], `${sessionId}: every scope sealed`);
    assert.deepEqual((await rt.client.verify(sessionId)).problems, []);
    assert.deepEqual((await rt.client.reconcile(sessionId)).differences, []);
  }
  assert.equal(sealer.sealed - sealedBefore, scopeCount, 'this worker sealed them');
  assert.equal(sealer.runLooks - looksBefore, 0, 'no run was asked about: the worker saw each one close');
});

test('EndedRuns keeps the newest runs, by namespace', () => {
  const ended = new EndedRuns(3);
  for (const id of ['r1', 'r2', 'r3', 'r4']) ended.add('default', id);
  ended.add('default', 'r2');
  assert.equal(ended.size, 3);
  assert.equal(ended.has({ namespace: 'default', runId: 'r1' }), false, 'the oldest went');
  assert.equal(ended.has({ namespace: 'default', runId: 'r4' }), true);
  assert.equal(ended.has({ namespace: 'other', runId: 'r4' }), false, 'another namespace\'s run of that id is not known');
});
