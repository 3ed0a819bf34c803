/**
 * Roles, drift and agent health read grouped counts from the store (SQL GROUP BY)
 * instead of every row: those counts must be exactly what the rules would compute
 * from the rows themselves.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { drift, driftFromUsage, roles, rolesFromUsage, usageOf, type AgentUsage } from '../../cim/forensics';
import { agentHealth, healthFromUsage } from '../../cim/forensics/health';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import type { TestRuntime } from '../helpers/runtime';

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
  assert.deepEqual(await rt.client.roles(), expectedRoles);
  assert.deepEqual(await rt.client.drift(), expectedDrift);
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
