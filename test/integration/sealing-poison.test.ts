/**
 * A scope the sealer cannot seal (its row names a namespace Temporal does not have, so
 * no anchor can be written for it; a row anyone who can write the tables can add) must
 * not keep the sealer from sealing every other scope.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import { sealState, testSql } from '../helpers/test-sql';
import { createFixtureTools } from '../fixtures/tools';
import { leaf } from '../fixtures/agents';
import { scope } from '../unit/fixtures';

let rt: TestRuntime;
const logged: string[] = [];
let poisonId = '';
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools), log: (m) => logged.push(m) });
});
after(async () => rt?.stop());

/**
 * The row in the other namespace stays unsealed: read past the store, which reads its own
 * namespace only. Not read with PGlite, which only the test's store reaches.
 */
async function assertPoisonUnsealed(): Promise<void> {
  if (usesPglite()) return;
  const { rows } = await testSql<{ chain_length: number | null }>(`SELECT chain_length FROM "${rt.schema}".scopes WHERE scope_id = $1`, [poisonId]);
  assert.equal(rows.length, 1, 'the row is there');
  assert.equal(rows[0]!.chain_length, null, 'and unsealed');
}
test('a scope that cannot be sealed is set aside; the scopes after it are sealed', async () => {
  const session = `poison-${randomBytes(4).toString('hex')}`;
  const now = new Date().toISOString();
  const poison = scope(`${session}-x`, { sessionId: session, namespace: 'no-such-namespace', workflowId: session, runId: 'not-a-run-id', startedAt: now, endedAt: now, path: `/${session}-x/` });
  poisonId = poison.scopeId;
  await rt.store.upsertScopes([poison]);
  const sealer = rt.worker.recorder.sealer;
  await sealer.sweep();
  const s = await rt.client.startSession(leaf, { input: { text: 'after the poison' } });
  await s.result();
  const deadline = Date.now() + 20_000;
  while ((await sealState(rt.store, s.sessionId, s.sessionId)) !== 'sealed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.equal(await sealState(rt.store, s.sessionId, s.sessionId), 'sealed', 'the session after it is sealed');
  await assertPoisonUnsealed();
  // Tried alone once more, now that others were sealed since it first failed: set aside.
  assert.equal(await sealer.drain(), true);
  assert.ok(
    logged.some((m) => m.startsWith('sealing failed: scope ') && m.includes(poison.scopeId) && m.includes('no-such-namespace')),
    `the scope set aside is named: ${JSON.stringify(logged)}`,
  );
  // Found by the next sweep, it stays aside until its time.
  await sealer.sweep();
  await sealer.drain();
  await assertPoisonUnsealed();
  const other = await rt.client.startSession(leaf, { input: { text: 'and after the sweep' } });
  await other.result();
  assert.equal(await sealer.drain(), true, 'drain is not held up by the scope set aside');
  assert.equal(await sealState(rt.store, other.sessionId, other.sessionId), 'sealed');
});
