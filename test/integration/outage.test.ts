/**
 * A database outage: the worker's connection to Postgres is cut while sessions run.
 * Workflows keep going (records wait in the spool on disk), and once the database is
 * back every record arrives, exactly once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropTestSchema, startTestRuntime, TEST_DATABASE_URL, usesPglite, type TestRuntime } from '../helpers/runtime';
import { ensureTemporal } from '../../devserver/dev-server';
import { openStore } from '../../store';
import { bundleAgents, createWorker, type ScopetrailWorker } from '../../worker/create-worker';
import { ScopeClient } from '../../client/scope-client';
import { assertExactExampleSession, sessionRows } from '../helpers/session';
import { proxyDatabase, type TcpProxy } from '../helpers/tcp-proxy';
import { createExampleTools } from '../../examples/tools';
import { exampleLlm } from '../../examples/llm-script';
import { orchestrator } from '../../examples/agents';

const skip = usesPglite() && 'needs the Postgres server';
let rt: TestRuntime;
let proxy: TcpProxy;

before(async () => {
  if (skip) return;
  let url: string;
  ({ proxy, url } = await proxyDatabase(TEST_DATABASE_URL));
  const { tools } = createExampleTools({ latencyMs: 50 });
  rt = await startTestRuntime({
    agents: require.resolve('../../examples/agents'),
    tools: Object.values(tools),
    llm: exampleLlm(),
    databaseUrl: url,
    recorder: { drainEveryMs: 200 },
  });
});
after(async () => {
  await proxy?.restore();
  await rt?.stop();
  await proxy?.close();
});

test('sessions run to completion while Postgres is unreachable, and every record lands once it is back', { skip }, async () => {
  await proxy.cut();
  const started = Date.now();
  const sessions = await Promise.all(
    [1, 2, 3, 4, 5].map((i) => rt.client.startSession(orchestrator, { input: { question: `outage ${i}` } })),
  );
  const results = await Promise.all(sessions.map((s) => s.result()));
  const duringOutage = Date.now() - started;
  assert.equal(results.length, 5);
  assert.ok(rt.worker.recorder.spooled > 0, 'records went to the spool');
  assert.ok(duringOutage < 20_000, `sessions were not held by the outage (${duringOutage} ms)`);

  await proxy.restore();
  for (let i = 0; i < 100 && !(await rt.worker.recorder.drainSpool()); i++) await new Promise((r) => setTimeout(r, 100));
  for (const s of sessions) assertExactExampleSession(await sessionRows(rt, s.sessionId));
});

test('a worker starts while Postgres is unreachable, runs a session, and prepares the store when it is back', { skip }, async () => {
  const temporal = await ensureTemporal({ log: () => undefined });
  const down = await proxyDatabase(TEST_DATABASE_URL);
  await down.proxy.cut();
  const schema = `t_${randomBytes(5).toString('hex')}`;
  const taskQueue = `test-${randomBytes(5).toString('hex')}`;
  // Never migrated: the worker must prepare the schema itself once Postgres answers.
  const store = await openStore({ url: down.url, schema, migrate: false });
  const alerts: string[] = [];
  let worker: ScopetrailWorker | undefined;
  let client: ScopeClient | undefined;
  try {
    worker = await createWorker({
      agents: require.resolve('../../examples/agents'),
      tools: Object.values(createExampleTools({ latencyMs: 20 }).tools),
      llm: exampleLlm(),
      store,
      taskQueue,
      address: temporal.address,
      workflowBundle: await bundleAgents(require.resolve('../../examples/agents')),
      spool: { dir: mkdtempSync(join(tmpdir(), 'scopetrail-start-down-')) },
      recorder: { drainEveryMs: 200, onError: () => undefined, onAlert: (m) => alerts.push(m) },
    });
    // The store is prepared as the worker starts running.
    const running = worker.run();
    for (let i = 0; i < 50 && !alerts.some((a) => a.includes('store unreachable at start')); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(alerts.join('\n'), /store unreachable at start/);
    client = await ScopeClient.connect({ store, address: temporal.address, taskQueue });
    const session = await client.startSession(orchestrator, { input: { question: 'started during an outage' } });
    await session.result();
    assert.ok(worker.recorder.spooled > 0, 'records went to the spool');

    await down.proxy.restore();
    for (let i = 0; i < 150 && !(await worker.recorder.drainSpool()); i++) await new Promise((r) => setTimeout(r, 100));
    await worker.recorder.drain();
    const report = await client.reconcile(session.sessionId);
    assert.deepEqual(report.differences, []);
    assert.ok(report.stored.scopes > 0 && report.stored.actions > 0);
    assert.deepEqual((await store.manifests()).map((m) => m.name).sort(), worker.manifests.map((m) => m.name).sort(), 'manifests registered once the store answered');
    assert.equal(alerts.filter((a) => a.startsWith('store is back')).length, 1);
    await worker.shutdown();
    await running.catch(() => undefined);
  } finally {
    await client?.close();
    await worker?.shutdown().catch(() => undefined);
    await store.close();
    await down.proxy.close();
    await dropTestSchema(schema);
    await temporal.stop();
  }
});
