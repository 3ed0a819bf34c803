/**
 * Postgres restarted while sessions run: a fast shutdown ends every open connection
 * (in-flight statements and group commits among them), the server is down for a few
 * seconds, then comes back. Unlike a cut link (outage.test.ts), the server itself
 * aborts what it was doing. Every session must still be recorded exactly, verify clean
 * and reconcile with its histories; sessions started after the restart are written
 * straight to the store again.
 *
 * The server is one of the test's own (helpers/private-postgres.ts): restarting the
 * shared one would break the tests running beside this one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import { privatePostgresSkip, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { assertExactExampleSession, sessionRows } from '../helpers/session';
import { createExampleTools } from '../../examples/tools';
import { exampleLlm } from '../../examples/llm-script';
import { orchestrator } from '../../examples/agents';

const skip = (usesPglite() && 'needs the Postgres server') || privatePostgresSkip();
const SESSIONS = 12;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let pg: PrivatePostgres;
let rt: TestRuntime;
const alerts: string[] = [];

before(async () => {
  if (skip) return;
  pg = await startPrivatePostgres();
  const { tools } = createExampleTools({ latencyMs: 80 });
  rt = await startTestRuntime({
    agents: require.resolve('../../examples/agents'),
    tools: Object.values(tools),
    llm: exampleLlm(),
    databaseUrl: pg.url,
    // A schema of this server's own: nothing to drop on the shared one afterwards.
    schema: `t_${randomBytes(5).toString('hex')}`,
    recorder: { drainEveryMs: 200, onError: () => undefined, onAlert: (m) => alerts.push(m) },
  });
});
after(async () => {
  await pg?.start().catch(() => undefined); // it was running
  await rt?.stop();
  await pg?.destroy();
});

test('Postgres restarted mid-batch: every session is recorded exactly, verifies clean and reconciles', { skip, timeout: 240_000 }, async () => {
  const handles = await Promise.all(
    Array.from({ length: SESSIONS }, (_, i) => rt.client.startSession(orchestrator, { input: { question: `restart ${i + 1}` } })),
  );
  await sleep(1_500);
  await pg.stop();
  await sleep(3_000);
  await pg.start();
  await Promise.all(handles.map((h) => h.result()));
  for (let i = 0; i < 150 && !(await rt.worker.recorder.drainSpool()); i++) await sleep(100);
  await rt.worker.recorder.drain();

  // Without this the test would prove nothing: the restart cut writes off and they waited in the spool.
  assert.ok(rt.worker.recorder.spooled > 0, 'records went to the spool while the server was down');
  for (const { sessionId } of handles) {
    assertExactExampleSession(await sessionRows(rt, sessionId));
    const verified = await rt.client.verify(sessionId);
    assert.deepEqual(verified.problems, [], `session ${sessionId} verifies clean`);
    const reconciled = await rt.client.reconcile(sessionId);
    assert.deepEqual(reconciled.differences, [], `session ${sessionId} reconciles against its histories`);
  }
  console.log(`db restart: ${rt.worker.recorder.spooled} records spooled across the restart; alerts: ${alerts.join(' | ')}`);

  // After the restart the pool's connections are new ones: sessions go straight to the store again.
  const spooledBefore = rt.worker.recorder.spooled;
  const later = await rt.client.startSession(orchestrator, { input: { question: 'after the restart' } });
  await later.result();
  assertExactExampleSession(await sessionRows(rt, later.sessionId));
  assert.equal(rt.worker.recorder.spooled, spooledBefore, 'nothing spooled once the server was back');
  assert.deepEqual((await rt.client.verify(later.sessionId)).problems, []);
});
