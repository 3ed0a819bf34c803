/**
 * Agent manifests as their registering worker signed them: drift judges every run of a
 * version by its manifest, and no hash chain covers the manifests table, so a manifest
 * rewritten there must show in verify and in drift, against the real worker, store and
 * Temporal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestRuntime } from '../helpers/runtime';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { testSql } from '../helpers/test-sql';
import { renderDrift } from '../../client/format-forensics';
import { ScopeClient } from '../../client/scope-client';
import { parseKey } from '../../store/fingerprint-key';

let rt: TestRuntime;
let sid: string;

before(async () => {
  rt = await startExampleRuntime();
  ({ sessionId: sid } = await runExampleSession(rt, 'Why did it fail?', 'answer'));
  await rt.worker.recorder.drain();
});
after(async () => rt?.stop());

test('a manifest rewritten in the table no longer matches its worker\'s signature: verify names it, drift warns', async () => {
  const problems = async (client = rt.client) => (await client.verify(sid)).problems.map((p) => `${p.problem} ${p.recordId}`);
  assert.deepEqual(await problems(), [], 'the worker signed every manifest it registered');
  const before = (await rt.client.drift()).find((d) => d.agent === 'researcher')!;
  assert.equal(before.manifestSignature, 'valid');
  assert.equal(before.drifted, false);

  // Declaring a tool the agent should not have had: the drift it would hide is gone from the verdict, not from verify.
  const table = `"${rt.schema}".manifests`;
  const [row] = (await testSql<{ manifest: unknown; version: string }>(`SELECT manifest, version FROM ${table} WHERE agent = 'researcher'`)).rows;
  await testSql(`UPDATE ${table} SET manifest = jsonb_set(manifest, '{tools}', (manifest->'tools') || '["shell"]'::jsonb) WHERE agent = 'researcher'`);
  assert.deepEqual(await problems(), [`manifest_forged researcher@${row!.version}`]);
  const after = (await rt.client.drift('researcher'))[0]!;
  assert.equal(after.manifestSignature, 'forged');
  assert.match(renderDrift([after]), new RegExp(`WARNING: 1 version\\(s\\) judged by a manifest its registering worker's signature does not vouch for \\(researcher@${row!.version.replace(/\./g, '\\.')} forged\\)`));

  // Without a signature it vouches for nothing; a reader with another deployment's key cannot check it.
  await testSql(`UPDATE ${table} SET manifest = $1, signature = NULL, signature_key = NULL WHERE agent = 'researcher'`, [JSON.stringify(row!.manifest)]);
  assert.deepEqual(await problems(), [`manifest_unsigned researcher@${row!.version}`]);
  const stranger = await ScopeClient.connect({ address: rt.temporal.address, taskQueue: rt.taskQueue, store: rt.store, fingerprintKey: parseKey('66'.repeat(32), 'test') });
  try {
    const unchecked = await problems(stranger);
    assert.ok(unchecked.length > 0 && unchecked.every((p) => p.startsWith('manifest_unchecked ') || p.startsWith('manifest_unsigned ')), unchecked.join('\n'));
  } finally {
    await stranger.close();
  }
  // A worker registering the version again signs it again.
  await rt.restartWorker();
  assert.deepEqual(await problems(), []);
});
