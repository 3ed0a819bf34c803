/**
 * A database outage: the worker's connection to Postgres is cut while sessions run.
 * Workflows keep going (records wait in the spool on disk), and once the database is
 * back every record arrives, exactly once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, TEST_DATABASE_URL, usesPglite, type TestRuntime } from '../helpers/runtime';
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
