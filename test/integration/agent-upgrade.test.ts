/**
 * Agent upgrades under running sessions. Workers of build v1 run long sessions of
 * courier@1 (it collects, then waits for a signal, then delegates); a worker of build v2
 * appears with courier@2, whose first step is a new tool — code a v1 history cannot
 * replay on — and v2 becomes current. Sessions started on v1 finish on v1 (pinned: their
 * delegations and a handoff too), new ones run v2; every record names the build that wrote it, each history replays on its
 * own build's code, both versions reconcile to 0 differences, and drift and roles show
 * the two versions side by side.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { Connection } from '@temporalio/client';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { bundleAgents, createWorker, type ScopetrailWorker } from '../../worker/create-worker';
import { quietTemporalLogs } from '../../worker/runtime-logging';
import { ScopeClient } from '../../client/scope-client';
import { setCurrentVersion } from '../../client/deployment';
import { defineTool } from '../../activities';
import type { Store } from '../../store/types';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { createFixtureTools } from '../fixtures/tools';
import { CLI_STORE_SKIP, runCliFor } from '../helpers/cli';
import { dropTestSchema, openTestStore, TEST_DATABASE_URL, usesPglite } from '../helpers/runtime';

const V1 = require.resolve('../fixtures/upgrade-agents-v1');
const V2 = require.resolve('../fixtures/upgrade-agents-v2');
const run = randomBytes(4).toString('hex');
const TASK_QUEUE = `upgrade-${run}`;
const DEPLOYMENT = `scopetrail-upgrade-${run}`;

let temporal: TemporalEndpoint;
let store: Store;
let schema: string;
let client: ScopeClient;
let connection: Connection;
const workers: Array<{ worker: ScopetrailWorker; running: Promise<void> }> = [];
const bundles: Record<'v1' | 'v2', WorkflowBundle> = {} as never;

const lookup = defineTool(
  { name: 'lookup', input: z.object({ text: z.string() }), output: z.object({ found: z.boolean() }), resources: [{ uri: 'api:parcels', mode: 'read' }] },
  async () => ({ found: true }),
);

async function startWorker(build: 'v1' | 'v2'): Promise<ScopetrailWorker> {
  const fixture = Object.values(createFixtureTools().tools);
  const worker = await createWorker({
    agents: build === 'v1' ? V1 : V2,
    workflowBundle: bundles[build],
    // Version 1 of the service has no lookup tool; version 2 brings it.
    tools: build === 'v1' ? fixture : [...fixture, lookup],
    store,
    taskQueue: TASK_QUEUE,
    address: temporal.address,
    namespace: temporal.namespace,
    deployment: { name: DEPLOYMENT, buildId: build },
    spool: { dir: join(tmpdir(), `scopetrail-spool-${TASK_QUEUE}-${build}`) },
  });
  workers.push({ worker, running: worker.run() });
  return worker;
}

before(async () => {
  quietTemporalLogs('ERROR');
  temporal = await ensureTemporal({ log: () => undefined });
  ({ store, schema } = await openTestStore(temporal.namespace));
  [bundles.v1, bundles.v2] = await Promise.all([bundleAgents(V1), bundleAgents(V2)]);
  connection = await Connection.connect({ address: temporal.address });
  client = await ScopeClient.connect({ address: temporal.address, namespace: temporal.namespace, taskQueue: TASK_QUEUE, store });
});

after(async () => {
  await client?.close();
  for (const w of workers) {
    await w.worker.shutdown();
    await w.running.catch(() => undefined);
  }
  await connection?.close();
  await store?.close();
  if (schema) await dropTestSchema(schema);
  await temporal?.stop();
});

/** Resolves once the session's courier has collected and waits for its signal. */
async function waitingForSignal(sessionId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const actions = await store.actionsOfSession(sessionId);
    if (actions.some((a) => a.name === 'echo' && a.status === 'success')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`session ${sessionId} never reached its signal`);
}

async function rowsOf(sessionId: string): Promise<{ scopes: ScopeRecord[]; actions: ActionRecord[] }> {
  for (const w of workers) await w.worker.recorder.drain();
  return { scopes: await store.scopesOfSession(sessionId), actions: await store.actionsOfSession(sessionId) };
}

test('sessions started on v1 finish on v1 after v2 becomes current; new sessions run v2; replay, reconcile, drift and roles agree', { timeout: 300_000 }, async () => {
  // Build v1 serves the deployment alone.
  await startWorker('v1');
  const first = await setCurrentVersion(connection, { namespace: temporal.namespace, deploymentName: DEPLOYMENT, buildId: 'v1' });
  assert.equal(first.previousBuildId, null);
  const old = await Promise.all([1, 2].map((i) => client.startSession('courier', { input: { text: `old ${i}` } })));
  const relay = await client.startSession('relay', { input: { text: 'old relay' } });
  await Promise.all([...old, relay].map((s) => waitingForSignal(s.sessionId)));

  // Build v2 appears and becomes current while the v1 sessions wait.
  await startWorker('v2');
  const upgrade = await runCliFor({ schema, temporal }, ['deployment', 'set-current', DEPLOYMENT, 'v2', '--json']);
  assert.equal(upgrade.code, 0, upgrade.stderr);
  assert.deepEqual(JSON.parse(upgrade.stdout), { action: 'set-current', deploymentName: DEPLOYMENT, buildId: 'v2', previousBuildId: 'v1' });
  const upgradedAt = new Date().toISOString();
  const fresh = await Promise.all([1, 2].map((i) => client.startSession('courier', { input: { text: `new ${i}` } })));
  await Promise.all(fresh.map((s) => waitingForSignal(s.sessionId)));

  for (const s of [...old, relay, ...fresh]) await client.temporal.workflow.getHandle(s.sessionId).signal('proceed');
  assert.deepEqual(await Promise.all(old.map((s) => s.result())), ['v1 helped old 1', 'v1 helped old 2']);
  assert.deepEqual(await Promise.all(fresh.map((s) => s.result())), ['v2 helped new 1', 'v2 helped new 2']);

  for (const [sessions, build, version] of [[old, 'v1', '1'], [fresh, 'v2', '2']] as const) {
    for (const s of sessions) {
      const { scopes, actions } = await rowsOf(s.sessionId);
      assert.deepEqual(scopes.map((x) => [x.scopeId, x.agent, x.agentVersion, x.workerDeployment, x.workerBuildId, x.status]), [
        [s.sessionId, 'courier', version, DEPLOYMENT, build, 'success'],
        [`${s.sessionId}.1`, 'helper', version, DEPLOYMENT, build, 'success'],
      ], `${s.sessionId}: both scopes ran on ${build}`);
      assert.ok(actions.length >= 4, `${s.sessionId}: ${actions.length} actions`);
      for (const a of actions) assert.deepEqual([a.actionId, a.workerDeployment, a.workerBuildId], [a.actionId, DEPLOYMENT, build]);
      assert.equal(actions.some((a) => a.name === 'lookup'), build === 'v2', 'only v2 looks parcels up');
    }
  }
  // A v1 session that hands off after the upgrade: the handoff continues-as-new, and the new run stays on v1.
  assert.equal(await relay.result(), 'v1 closed old relay');
  const relayed = await rowsOf(relay.sessionId);
  assert.deepEqual(relayed.scopes.map((x) => [x.scopeId, x.kind, x.agent, x.agentVersion, x.workerBuildId]), [
    [relay.sessionId, 'root', 'relay', '1', 'v1'],
    [`${relay.sessionId}~1`, 'handoff', 'closer', '1', 'v1'],
  ]);
  assert.ok(relayed.actions.every((a) => a.workerBuildId === 'v1'), 'every action of the relay, before and after the handoff, ran on v1');
  assert.deepEqual((await client.reconcile(relay.sessionId)).differences, []);

  // What the v1 sessions did after the upgrade (the signal, the delegation, the helper's call) still ran on v1.
  const late = (await Promise.all(old.map(async (s) => (await rowsOf(s.sessionId)).actions))).flat().filter((a) => a.startedAt > upgradedAt);
  assert.deepEqual([...new Set(late.map((a) => a.kind))].sort(), ['delegate', 'signal', 'tool_call']);
  assert.ok(late.every((a) => a.workerBuildId === 'v1'));

  // Each history replays on its own build's code; a v1 history on v2's code is nondeterministic.
  const historiesOf = async (sessionIds: string[]) =>
    Promise.all(
      (await Promise.all(sessionIds.map(async (id) => (await rowsOf(id)).scopes))).flat().map(async (x) => ({
        workflowId: x.workflowId,
        history: await client.temporal.workflow.getHandle(x.workflowId, x.runId).fetchHistory(),
      })),
    );
  const replay = async (bundle: WorkflowBundle, histories: Awaited<ReturnType<typeof historiesOf>>) => {
    const errors: Array<string | undefined> = [];
    const sinks = { scopetrail: { record: { fn: () => undefined, callDuringReplay: false } } };
    for await (const r of Worker.runReplayHistories({ workflowBundle: bundle, sinks }, histories)) errors.push(r.error?.message);
    return errors;
  };
  const oldHistories = await historiesOf(old.map((s) => s.sessionId));
  const freshHistories = await historiesOf(fresh.map((s) => s.sessionId));
  assert.deepEqual(await replay(bundles.v1, oldHistories), [undefined, undefined, undefined, undefined]);
  assert.deepEqual(await replay(bundles.v2, freshHistories), [undefined, undefined, undefined, undefined]);
  const crossed = await replay(bundles.v2, oldHistories.filter((h) => !h.workflowId.includes('.')));
  assert.equal(crossed.length, 2);
  for (const message of crossed) assert.match(message ?? 'replayed without error', /nondetermin/i, 'v2 code cannot replay a v1 courier');

  // Both versions' sessions reconcile; a forged build is caught, on a workflow-side action (against the builds of
  // its run's workflow tasks) and on a tool attempt (against the build its ActivityTaskStarted event names).
  for (const s of [...old, ...fresh]) assert.deepEqual((await client.reconcile(s.sessionId)).differences, [], `reconcile ${s.sessionId}`);
  // The builds are part of each record's hash chain: the sealed sessions verify as they are.
  for (const s of [...old, relay, ...fresh]) {
    const report = await client.verify(s.sessionId);
    assert.ok(report.scopes >= 2, `verify ${s.sessionId}: ${report.scopes} scopes`);
    assert.deepEqual([report.problems, report.anchorsChecked], [[], report.scopes], `verify ${s.sessionId}`);
  }
  if (!usesPglite()) {
    const rows = (await rowsOf(old[0]!.sessionId)).actions;
    const delegation = rows.find((a) => a.kind === 'delegate')!;
    const call = rows.find((a) => a.kind === 'tool_call' && a.scopeId === old[0]!.sessionId)!;
    const ids = [delegation.actionId, call.actionId];
    const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    try {
      await db.query(`UPDATE "${schema}".actions SET worker_build_id = 'v2' WHERE action_id = ANY($1)`, [ids]);
      const forged = await client.reconcile(old[0]!.sessionId);
      const byId = new Map(forged.differences.map((d) => [d.id, d]));
      assert.deepEqual([...byId.keys()].sort(), [...ids].sort());
      assert.match(byId.get(delegation.actionId)!.detail, /workerBuildId: store "v2", history: the workflow tasks of its run were completed by build "v1"/);
      assert.match(byId.get(call.actionId)!.detail, /workerBuildId: store "v2", history "v1" \(the worker that started the attempt\)/);
    } finally {
      await db.query(`UPDATE "${schema}".actions SET worker_build_id = 'v1' WHERE action_id = ANY($1)`, [ids]);
      await db.end();
    }
  }

  // Drift and roles: the two versions side by side, each with its build, each true to its manifest.
  const drift = await client.drift('courier');
  assert.deepEqual(drift.map((d) => [d.version, d.builds, d.drifted, d.undeclaredTools]), [
    ['1', ['v1'], false, []],
    ['2', ['v2'], false, []],
  ]);
  // The CLI opens the store by URL: Postgres only (CLI_STORE_SKIP).
  if (!CLI_STORE_SKIP) assert.match((await runCliFor({ schema, temporal }, ['drift', 'courier'])).stdout, /courier\s+1\s+v1\s+yes\s+ok[^\n]*\n.*courier\s+2\s+v2\s+yes\s+ok/);
  if (!CLI_STORE_SKIP) assert.match((await runCliFor({ schema, temporal }, ['roles'])).stdout, /By version:[^]*courier\s+1\s+yes\s+v1\s+2\s+2\s+helper\s*\n.*courier\s+2\s+yes\s+v2\s+2\s+2\s+helper/);
  const courier = (await client.roles()).find((r) => r.agent === 'courier')!;
  assert.deepEqual(courier.versions, ['1', '2']);
  assert.deepEqual(courier.byVersion, [
    { version: '1', manifest: true, manifestSignature: 'valid', builds: ['v1'], scopes: 2, delegations: 2, subAgents: ['helper'] },
    { version: '2', manifest: true, manifestSignature: 'valid', builds: ['v2'], scopes: 2, delegations: 2, subAgents: ['helper'] },
  ]);

  // A ramp sends a share of new sessions to another build while the current one takes the rest.
  const ramp = await runCliFor({ schema, temporal }, ['deployment', 'ramp', DEPLOYMENT, 'v1', '10', '--json']);
  assert.equal(ramp.code, 0, ramp.stderr);
  assert.deepEqual(JSON.parse(ramp.stdout), { action: 'ramp', deploymentName: DEPLOYMENT, buildId: 'v1', previousBuildId: null, percentage: 10 });
  const routing = await connection.workflowService.describeWorkerDeployment({ namespace: temporal.namespace, deploymentName: DEPLOYMENT });
  const config = routing.workerDeploymentInfo?.routingConfig;
  assert.deepEqual([config?.currentDeploymentVersion?.buildId, config?.rampingDeploymentVersion?.buildId, config?.rampingVersionPercentage], ['v2', 'v1', 10]);

  // The current build cannot ramp: said plainly, without advice to start workers that already run.
  const current = await runCliFor({ schema, temporal }, ['deployment', 'ramp', DEPLOYMENT, 'v2', '10']);
  assert.equal(current.code, 1, current.stderr);
  assert.match(current.stderr, /build v2 is already the current version of Worker Deployment/);
  assert.doesNotMatch(current.stderr, /start a worker/);
  // A ramp of 0 ends the ramp, and saying it again changes nothing.
  const cleared = await runCliFor({ schema, temporal }, ['deployment', 'ramp', DEPLOYMENT, 'v1', '0']);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.match(cleared.stdout, /build v1 no longer ramps/);
  const after = await connection.workflowService.describeWorkerDeployment({ namespace: temporal.namespace, deploymentName: DEPLOYMENT });
  assert.deepEqual([after.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId, after.workerDeploymentInfo?.routingConfig?.rampingDeploymentVersion?.buildId || null], ['v2', null]);
  const again = await runCliFor({ schema, temporal }, ['deployment', 'ramp', DEPLOYMENT, 'v1', '0']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /build v1 was not ramping; nothing changed/);
});

test('deployment set-current names a build no worker has polled, and refuses bad arguments', { timeout: 60_000 }, async () => {
  const unknown = await runCliFor({ schema, temporal }, ['deployment', 'set-current', DEPLOYMENT, 'never-started', '--wait', '1']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /version never-started of Worker Deployment "scopetrail-upgrade-[0-9a-f]+" .*could not be set: .*start a worker with this deployment and build id first/);
  const bad = await runCliFor({ schema, temporal }, ['deployment', 'promote', DEPLOYMENT, 'v1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /give set-current or ramp after deployment, not "promote"/);
  const percent = await runCliFor({ schema, temporal }, ['deployment', 'ramp', DEPLOYMENT, 'v1', '140']);
  assert.equal(percent.code, 2);
  assert.match(percent.stderr, /invalid <percent> "140": use 0-100/);
});
