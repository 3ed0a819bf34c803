/**
 * Roles, drift and agent health read grouped counts from the store (SQL GROUP BY)
 * instead of every row: those counts must be exactly what the rules would compute
 * from the rows themselves.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { drift, driftFromUsage, roles, rolesFromUsage, usageOf, type AgentUsage, type DriftEntry } from '../../cim/forensics';
import { agentHealth, healthFromUsage } from '../../cim/forensics/health';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import type { TestRuntime } from '../helpers/runtime';
import { CLI_STORE_SKIP, runCliFor } from '../helpers/cli';

let rt: TestRuntime;

before(async () => {
  rt = await startExampleRuntime();
  // Two sessions, so the counts are more than one of each.
  await runExampleSession(rt, 'What changed in EU AI regulation?');
  await runExampleSession(rt, 'Which suppliers are at risk?');
});

after(async () => {
  await rt?.stop();
});

function sorted(usage: AgentUsage): Record<string, string[]> {
  return Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, (v as unknown[]).map((x) => JSON.stringify(x)).sort()]));
}

test('the store’s grouped counts equal the counts computed from its rows', async () => {
  const [scopes, actions, fromStore] = await Promise.all([rt.store.allScopes(), rt.store.actionsOfAgent(), rt.store.agentUsage()]);
  assert.ok(scopes.length >= 14 && actions.length >= 38, `expected two example sessions, found ${scopes.length} scopes`);
  assert.deepEqual(sorted(fromStore), sorted(usageOf(scopes, actions)));
  const translator = fromStore.calls.find((c) => c.agent === 'translator');
  assert.ok(translator && translator.failedCalls === 2 && translator.failedAttempts === 6, 'translate failed three times in each session');
});

test('roles, drift and agent health from the store’s counts match the rules over rows', async () => {
  const [manifests, scopes, actions, usage] = await Promise.all([
    rt.store.manifests(),
    rt.store.allScopes(),
    rt.store.actionsOfAgent(),
    rt.store.agentUsage(),
  ]);
  const expectedRoles = roles(manifests, scopes, actions);
  const expectedDrift = drift(manifests, scopes, actions);
  const toldRoles = await rt.client.roles();
  // Each version's manifest is held to its worker's signature too: all as registered here.
  assert.deepEqual(toldRoles.flatMap((r) => r.byVersion.filter((v) => v.manifest).map((v) => v.manifestSignature)), expectedRoles.flatMap((r) => r.byVersion.filter((v) => v.manifest).map(() => 'valid')));
  assert.deepEqual(toldRoles.map((r) => ({ ...r, byVersion: r.byVersion.map(({ manifestSignature: _s, ...v }) => v) })), expectedRoles);
  const told = await rt.client.drift();
  // The client also says how each manifest stands against its worker's signature: all as registered here.
  assert.deepEqual(told.map((d) => d.manifestSignature), expectedDrift.map(() => 'valid'));
  assert.deepEqual(withoutSignature(told), expectedDrift);
  assert.deepEqual(rolesFromUsage(manifests, usage), expectedRoles);
  assert.deepEqual(driftFromUsage(manifests, usage), expectedDrift);
  assert.deepEqual(healthFromUsage(usage, expectedDrift, expectedRoles), agentHealth(scopes, actions, expectedDrift, expectedRoles));
  const orchestrator = expectedRoles.find((r) => r.agent === 'orchestrator');
  assert.ok(orchestrator?.orchestrator, 'the example orchestrator is found to orchestrate');
});

test('sealed scopes are counted from the rollup, and a rebuilt rollup gives the same counts as a full recount', async () => {
  await rt.worker.recorder.drain();
  await rt.worker.recorder.sealer.drain();
  const recount = await rt.store.agentUsage({ recount: true });
  assert.deepEqual(sorted(await rt.store.agentUsage()), sorted(recount));
  // Everything has been sealed: the answer comes from the rollup table, not from the rows.
  const store = rt.store as unknown as { db: { query(sql: string): Promise<{ rows: Array<{ n: string }> }> } };
  const rolled = await store.db.query(`SELECT count(*) AS n FROM "${rt.schema}".usage_rollup`);
  const unrolled = await store.db.query(`SELECT count(*) AS n FROM "${rt.schema}".scopes WHERE chain_length IS NULL`);
  assert.ok(Number(rolled.rows[0]!.n) > 0, 'the rollup holds the sealed scopes');
  assert.equal(Number(unrolled.rows[0]!.n), 0, 'no scope is left to count live');
  // Rebuilt from the sealed rows (what a store upgraded from before the rollup does once).
  // One statement a query: the embedded store prepares every statement it is given.
  await store.db.query(`DELETE FROM "${rt.schema}".usage_rollup`);
  await store.db.query(`INSERT INTO "${rt.schema}".usage_rollup_backfill VALUES (true)`);
  await rt.store.migrate();
  assert.deepEqual(sorted(await rt.store.agentUsage()), sorted(recount));
});

test('an edited rollup is found by a recount of the sealed rows, and --repair puts the recount back', async () => {
  await rt.worker.recorder.drain();
  await rt.worker.recorder.sealer.drain();
  const [manifests, scopes, actions] = await Promise.all([rt.store.manifests(), rt.store.allScopes(), rt.store.actionsOfAgent()]);
  const honest = drift(manifests, scopes, actions);
  assert.deepEqual(await rt.client.verifyUsage(), { namespace: 'default', differences: [], repaired: false });

  // Someone who can write the tables: a tool the researcher never called, counted; one it
  // did call, hidden; a scope count changed. Drift now says what the rows do not.
  const store = rt.store as unknown as { db: { query(sql: string): Promise<unknown> } };
  const rollup = `"${rt.schema}".usage_rollup`;
  const called = actions.find((a) => a.agent === 'researcher' && a.kind === 'tool_call')!;
  await store.db.query(
    `INSERT INTO ${rollup} (namespace, month, facet, k1, k2, k3, k4, k5, k6, k7, n1, n2, n3)
     SELECT namespace, month, facet, k1, k2, k3, 'exfiltrate', k5, k6, k7, 1, 0, 0 FROM ${rollup}
      WHERE facet = 'actions' AND k1 = 'researcher' AND k3 = 'tool_call' AND k4 = '${called.name}'`,
  );
  await store.db.query(`DELETE FROM ${rollup} WHERE facet = 'actions' AND k1 = 'researcher' AND k4 = '${called.name}'`);
  await store.db.query(`UPDATE ${rollup} SET n1 = n1 + 7 WHERE facet = 'scopes' AND k1 = 'orchestrator'`);
  assert.notDeepEqual(withoutSignature(await rt.client.drift()), honest, 'the edit changes what drift says');

  const found = await rt.client.verifyUsage();
  const keys = found.differences.map((d) => `${d.facet} ${d.keys[0]} ${d.keys[3]} ${d.stored[0]} -> ${d.recounted[0]}`);
  const calledCount = actions.filter((a) => a.agent === 'researcher' && a.kind === 'tool_call' && a.name === called.name).length;
  assert.ok(keys.includes(`actions researcher exfiltrate 1 -> 0`), keys.join('; '));
  assert.ok(keys.includes(`actions researcher ${called.name} 0 -> ${calledCount}`), keys.join('; '));
  assert.ok(found.differences.some((d) => d.facet === 'scopes' && d.keys[0] === 'orchestrator' && d.stored[0] === d.recounted[0] + 7), keys.join('; '));
  assert.equal(found.repaired, false);
  assert.notDeepEqual(withoutSignature(await rt.client.drift()), honest, 'a check alone changes nothing');

  const repaired = await rt.client.verifyUsage({ repair: true });
  assert.deepEqual([repaired.repaired, repaired.differences.length], [true, found.differences.length]);
  assert.deepEqual(withoutSignature(await rt.client.drift()), honest);
  assert.deepEqual((await rt.client.verifyUsage()).differences, []);
  await assert.rejects(rt.client.verifyUsage({ repair: 'yes' } as never), /verifyUsage.*repair/s);
});

test('verify-usage on the command line: exit 3 and a table naming the key, --json, and --repair', { skip: CLI_STORE_SKIP }, async () => {
  await rt.worker.recorder.sealer.drain();
  const clean = await runCliFor(rt, ['verify-usage']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /OK: roles, drift and health read the same counts/);
  const store = rt.store as unknown as { db: { query(sql: string): Promise<unknown> } };
  await store.db.query(`UPDATE "${rt.schema}".usage_rollup SET n2 = n2 + 1 WHERE facet = 'calls' AND k1 = 'translator'`);
  const failed = await runCliFor(rt, ['verify-usage']);
  assert.equal(failed.code, 3, failed.stderr);
  assert.match(failed.stdout, /FAILED: 1 key\(s\) differ\. Either a rollup row was edited/);
  assert.match(failed.stdout, /calls\s+translator@\S+ calls \/ failed calls \/ failed attempts\s+2 \/ 3 \/ 6\s+2 \/ 2 \/ 6/);
  const json = await runCliFor(rt, ['verify-usage', '--json']);
  assert.equal(json.code, 3);
  assert.deepEqual(JSON.parse(json.stdout).differences.map((d: { facet: string; stored: number[]; recounted: number[] }) => [d.facet, d.stored, d.recounted]), [['calls', [2, 3, 6], [2, 2, 6]]]);
  const repair = await runCliFor(rt, ['verify-usage', '--repair']);
  assert.equal(repair.code, 0, repair.stderr);
  assert.match(repair.stdout, /REPAIRED/);
  assert.equal((await runCliFor(rt, ['verify-usage'])).code, 0);
});

test('a sealed row deleted from the store is found by the recount, though no session names it any more', async () => {
  await rt.worker.recorder.sealer.drain();
  const [sessionId] = await rt.store.listSessions({ limit: 1 });
  const store = rt.store as unknown as { db: { query(sql: string, params?: unknown[]): Promise<unknown> } };
  // The root row is what lists a session: without it, `sessions` no longer shows this one.
  await store.db.query(`DELETE FROM "${rt.schema}".scopes WHERE session_id = $1 AND kind = 'root'`, [sessionId]);
  assert.ok(!(await rt.store.listSessions({ limit: 10 })).includes(sessionId!));
  const { differences } = await rt.client.verifyUsage();
  const roots = differences.filter((d) => d.facet === 'scopes' && d.keys[0] === 'orchestrator' && d.keys[2] === 'root');
  assert.equal(roots.length, 1, JSON.stringify(differences));
  assert.equal(roots[0]!.stored[0] - roots[0]!.recounted[0], 1, 'one root scope fewer in the rows than when sealed');
});

/** Drift entries as the rules over rows give them: without the client's signature check. */
function withoutSignature(entries: DriftEntry[]): DriftEntry[] {
  return entries.map(({ manifestSignature: _checked, ...entry }) => entry);
}
