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
import { CLI_STORE_SKIP, runCliFor } from '../helpers/cli';
import { renderDrift, renderRoles } from '../../client/format-forensics';
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
  assert.doesNotMatch(renderRoles(await rt.client.roles()), /WARNING/);
  assert.equal(before.drifted, false);
  if (!CLI_STORE_SKIP) assert.equal((await runCliFor(rt, ['drift', 'researcher'])).code, 0, 'no drift, a manifest its signature vouches for');

  // Declaring a tool the agent should not have had: the drift it would hide is gone from the verdict, not from verify.
  const table = `"${rt.schema}".manifests`;
  const [row] = (await testSql<{ manifest: unknown; version: string }>(`SELECT manifest, version FROM ${table} WHERE agent = 'researcher'`)).rows;
  await testSql(`UPDATE ${table} SET manifest = jsonb_set(manifest, '{tools}', (manifest->'tools') || '["shell"]'::jsonb) WHERE agent = 'researcher'`);
  assert.deepEqual(await problems(), [`manifest_forged researcher@${row!.version}`]);
  const after = (await rt.client.drift('researcher'))[0]!;
  assert.equal(after.manifestSignature, 'forged');
  assert.match(renderDrift([after]), new RegExp(`\\nWARNING: 1 version\\(s\\) judged by a manifest its registering worker's signature does not vouch for \\(researcher@${row!.version.replace(/\./g, '\\.')} FORGED\\)`));
  assert.match(renderDrift([after]), /yes, FORGED/);
  // A script gating on drift's exit code must not read "ok" off a forged manifest.
  if (!CLI_STORE_SKIP) {
    const forged = await runCliFor(rt, ['drift', 'researcher']);
    assert.equal(forged.code, 3, forged.stdout + forged.stderr);
    assert.match(forged.stdout, /yes, FORGED\s+ok/);
  }
  // Roles read the same manifests (declared sub-agents make orchestrators): the version is marked there too.
  const roles = await rt.client.roles();
  const versionRole = (list: typeof roles, agent: string) => list.find((r) => r.agent === agent)!.byVersion.find((x) => x.version === row!.version)!;
  assert.equal(versionRole(roles, 'researcher').manifestSignature, 'forged');
  assert.equal(roles.find((r) => r.agent === 'orchestrator')!.byVersion.find((x) => x.manifest)!.manifestSignature, 'valid');
  assert.match(renderRoles(roles), new RegExp(`\\nWARNING: 1 version\\(s\\) have a manifest its registering worker's signature does not vouch for \\(researcher@${row!.version.replace(/\./g, '\\.')} FORGED\\)`));

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

test('a manifest row filed under another version, one that does not read, or one moved away: verify names each and is not stopped by any', async () => {
  const problems = async () => (await rt.client.verify(sid)).problems.map((p) => `${p.problem} ${p.recordId}`).sort();
  const table = `"${rt.schema}".manifests`;
  const [row] = (await testSql<{ version: string }>(`SELECT version FROM ${table} WHERE agent = 'researcher'`)).rows;
  const v = row!.version;
  // A copy declaring one more tool, filed under a version that sorts first, with the genuine signature.
  await testSql(
    `INSERT INTO ${table} (agent, version, manifest, signature, signature_key)
     SELECT agent, '0.0.0', jsonb_set(manifest, '{tools}', (manifest->'tools') || '["shell"]'::jsonb), signature, signature_key FROM ${table} WHERE agent = 'researcher'`,
  );
  // A row for an agent that never ran here, that reads as no manifest.
  await testSql(`INSERT INTO ${table} (agent, version, manifest) VALUES ('ghost', '1.0.0', '{"name": "ghost"}')`);
  try {
    assert.deepEqual(await problems(), ['invalid_row researcher@0.0.0']);
    // Neither row is of a version that ran: they judge nothing, and roles and drift answer for the rest.
    assert.ok((await rt.client.roles()).some((r) => r.agent === 'researcher' && r.versions.includes(v)));
    assert.ok((await rt.client.drift()).some((d) => d.agent === 'researcher' && d.version === v));
    assert.ok((await rt.client.reconcile(sid)).differences.length === 0, 'reconcile is not stopped by a row that does not read');
    // The row of a version that ran, unreadable: its verdict would be wrong, so it is refused, named.
    await testSql(`UPDATE ${table} SET manifest = jsonb_set(manifest, '{name}', '1'::jsonb) WHERE agent = 'researcher' AND version = $1`, [v]);
    await assert.rejects(rt.client.drift(), new RegExp(`the manifest of researcher@${v.replace(/\./g, '\\.')} has an invalid field "name"`));
    await assert.rejects(rt.client.roles(), /has an invalid field "name"/);
    await testSql(`UPDATE ${table} SET manifest = jsonb_set(manifest, '{name}', '"researcher"'::jsonb) WHERE agent = 'researcher' AND version = $1`, [v]);
  } finally {
    await testSql(`DELETE FROM ${table} WHERE agent = 'ghost' OR (agent = 'researcher' AND version = '0.0.0')`);
  }
  // Moved, column and JSON, to a version that never ran: the one that ran has none.
  await testSql(`UPDATE ${table} SET version = '9.9.9', manifest = jsonb_set(manifest, '{version}', '"9.9.9"') WHERE agent = 'researcher'`);
  assert.deepEqual(await problems(), [`manifest_missing researcher@${v}`]);
  await testSql(`UPDATE ${table} SET version = $1, manifest = jsonb_set(manifest, '{version}', to_jsonb($1::text)) WHERE agent = 'researcher'`, [v]);
  assert.deepEqual(await problems(), []);
});
