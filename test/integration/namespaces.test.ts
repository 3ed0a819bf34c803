/** Records carry the Temporal namespace; two namespaces side by side never see each other's records. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { createFixtureTools } from '../fixtures/tools';
import { chainA, fanout } from '../fixtures/agents';

const OTHER = 'scopetrail-isolation';
let a: TestRuntime;
let b: TestRuntime;

before(async () => {
  const agents = require.resolve('../fixtures/agents');
  a = await startTestRuntime({ agents, tools: Object.values(createFixtureTools().tools) });
  // Same store schema, other namespace: only the namespace keeps them apart.
  b = await startTestRuntime({ agents, tools: Object.values(createFixtureTools().tools), namespace: OTHER, schema: a.schema });
});
after(async () => {
  await b?.stop();
  await a?.stop();
});

test('the same session id in two namespaces gives two separate sessions, each complete and alone', async () => {
  const id = `shared-${Date.now()}`;
  const [sa, sb] = await Promise.all([
    a.client.startSession(chainA, { input: { hops: [] }, sessionId: id }),
    b.client.startSession(fanout, { input: { n: 2 }, sessionId: id }),
  ]);
  await Promise.all([sa.result(), sb.result()]);
  await Promise.all([a.worker.recorder.drain(), b.worker.recorder.drain()]);

  const treeA = await a.client.scopeTree(id);
  const treeB = await b.client.scopeTree(id);
  assert.deepEqual(treeA.roots.map((r) => r.scope.agent), ['chainA']);
  assert.deepEqual(treeB.roots.map((r) => r.scope.agent), ['fanout']);
  assert.equal(treeA.size, 3, 'A → B → C');
  assert.equal(treeB.size, 3, 'fanout and two leaves');
  const actionsA = await a.client.actionsOfSession(id);
  const actionsB = await b.client.actionsOfSession(id);
  assert.ok(actionsA.every((x) => x.namespace === 'default'));
  assert.ok(actionsB.every((x) => x.namespace === OTHER));
  assert.ok(!actionsA.some((x) => actionsB.some((y) => y.actionId === x.actionId && y.agent === x.agent)));
  assert.deepEqual((await a.client.reconcile(id)).differences, []);
  assert.deepEqual((await b.client.reconcile(id)).differences, []);
  assert.deepEqual((await a.client.sessions()).map((s) => s.rootAgent), ['chainA']);
  assert.deepEqual((await b.client.sessions()).map((s) => s.rootAgent), ['fanout']);
});
