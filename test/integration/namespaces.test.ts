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

test("TEMPORAL_NAMESPACE picks the namespace of openStore, ScopeClient and the CLI alike; a client of another namespace than its store's is refused", async () => {
  const id = `envns-${Date.now()}`;
  await (await b.client.startSession(fanout, { input: { n: 2 }, sessionId: id })).result();
  await b.worker.recorder.drain();
  const { openStore } = await import('../../store');
  const { ScopeClient } = await import('../../client/scope-client');
  const { runCliFor } = await import('../helpers/cli');
  const url = process.env.SCOPETRAIL_TEST_STORE === 'pglite' ? undefined : (await import('../helpers/runtime')).TEST_DATABASE_URL;
  const saved = process.env.TEMPORAL_NAMESPACE;
  process.env.TEMPORAL_NAMESPACE = OTHER;
  try {
    // The store is a's (the schema both share); the environment alone says which namespace is read.
    const store = url ? await openStore({ url, schema: a.schema, migrate: false }) : b.store;
    const client = await ScopeClient.connect({ store, address: a.temporal.address, taskQueue: 'unused' });
    try {
      assert.equal(client.temporal.options.namespace, OTHER);
      const tree = await client.scopeTree(id);
      assert.deepEqual(tree.roots.map((r) => r.scope.agent), ['fanout']);
      assert.deepEqual((await client.reconcile(id)).differences, []);
    } finally {
      await client.close();
      if (url) await store.close();
    }
    const cli = await runCliFor(a, ['sessions', '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    const listed = JSON.parse(cli.stdout).sessions as Array<{ sessionId: string; rootAgent: string; inTemporal: boolean | null }>;
    assert.ok(listed.some((s) => s.sessionId === id && s.rootAgent === 'fanout' && s.inTemporal === true), 'the CLI lists the namespace TEMPORAL_NAMESPACE names, from its store and its Temporal');
    assert.ok(listed.every((s) => s.rootAgent !== 'chainA'), "not default's");
  } finally {
    if (saved === undefined) delete process.env.TEMPORAL_NAMESPACE;
    else process.env.TEMPORAL_NAMESPACE = saved;
  }
  // The trial's mistake: a store of default, a client of another namespace.
  await assert.rejects(
    (async () => (await import('../../client/scope-client')).ScopeClient.connect({ store: a.store, address: a.temporal.address, taskQueue: 'unused', namespace: OTHER }))(),
    /invalid field "namespace": the store reads the records of namespace "default", not "scopetrail-isolation"/,
  );
});
