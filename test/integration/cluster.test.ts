/**
 * The suite on the real Temporal server run the way the compose stack runs it
 * (devserver/cluster.ts): Postgres persistence and Postgres visibility, four history
 * shards, the default namespace and scopetrail's search attributes registered through
 * the operator API. Two worker processes share the task queue; the crash harness kills
 * them; every session reconciles to zero differences, and Temporal's own visibility
 * (the `temporal` CLI, the visibility database itself) and the dashboard API see the
 * sessions. SCOPETRAIL_CLUSTER_ADDRESS reuses a running cluster (`npm run cluster`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { startCluster, type ClusterEndpoint } from '../../devserver/cluster';
import { clusterSettings } from '../../devserver/cluster-settings';
import { composeTemporalRelease } from '../../devserver/compose-release';
import { serverUnavailableReason } from '../../devserver/server-build';
import { resolveTemporalCli } from '../../devserver/temporal-cli';
import { ScopeClient } from '../../client/scope-client';
import { handleApi } from '../../client/ui-api';
import { orchestrator } from '../../examples/agents';
import { runCrashHarness } from '../harness/crash-harness';
import { underCi } from '../helpers/browser';
import { TEST_DATABASE_URL, dropTestSchema, openTestStore, usesPglite } from '../helpers/runtime';
import { spawnWorkerProcess, stopWorkerProcess } from '../helpers/worker-process';
import type { Store } from '../../store/types';

const run = promisify(execFile);
const settings = clusterSettings(process.env);
const release = composeTemporalRelease();

/** A machine without Go skips with the reason and the fix; CI builds the server first, so there it never skips. */
function skipReason(): string | false {
  if (usesPglite()) return 'needs the Postgres server (Temporal keeps its state there)';
  if (settings.reuseAddress || underCi()) return false;
  return serverUnavailableReason(release) ?? false;
}
const skip = skipReason();
if (skip) console.error(`!! cluster tests skipped: ${skip}`);

let cluster: ClusterEndpoint;
let store: Store;
let schema: string;
let client: ScopeClient;
let workers: ChildProcess[] = [];
const sessionIds: string[] = [];
const taskQueue = `cluster-${randomBytes(4).toString('hex')}`;

before(
  async () => {
    if (skip) return;
    cluster = await startCluster({ settings, log: (line) => console.error(line) });
    console.error(
      `cluster: ${cluster.description}; ready in ${cluster.readySeconds.toFixed(1)} s` +
        (cluster.binaries?.buildSeconds !== undefined ? ` (server build ${cluster.binaries.buildSeconds.toFixed(1)} s)` : ''),
    );
    // The crash harness finds its server through TEMPORAL_ADDRESS, which the test runner points at its dev server.
    process.env.TEMPORAL_ADDRESS = cluster.address;
    ({ store, schema } = await openTestStore(cluster.namespace));
    client = await ScopeClient.connect({ store, address: cluster.address, namespace: cluster.namespace, taskQueue });
    workers = await Promise.all(
      [1, 2].map(() => spawnWorkerProcess({ address: cluster.address, namespace: cluster.namespace, databaseUrl: TEST_DATABASE_URL, schema, taskQueue })),
    );
  },
  { timeout: 1_200_000 },
);

after(async () => {
  await Promise.all(workers.map((w) => stopWorkerProcess(w, 'SIGKILL')));
  await client?.close();
  await store?.close();
  if (schema) await dropTestSchema(schema);
  await cluster?.stop();
});

test('example sessions run on two worker processes sharing a task queue, and reconcile to zero differences', { skip, timeout: 300_000 }, async () => {
  // A worker is listed once its first poll reaches matching, shortly after it says it is ready.
  let identities = new Set<string>();
  for (let i = 0; i < 60 && identities.size < 2; i++) {
    if (i) await new Promise((r) => setTimeout(r, 500));
    const res = await client.temporal.workflowService.describeTaskQueue({
      namespace: cluster.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: 1, // workflow
    });
    identities = new Set((res.pollers ?? []).map((p) => p.identity ?? ''));
  }
  assert.equal(identities.size, 2, `both worker processes poll the task queue: ${[...identities].join(', ')}`);

  const handles = await Promise.all(
    ['Q1', 'Q2', 'Q3'].map((q) => client.startSession(orchestrator, { input: { question: q }, objective: `answer ${q}` })),
  );
  for (const h of handles) {
    assert.match(String((await h.result() as { answer: string }).answer), /^Reviewed and approved: /);
    sessionIds.push(h.sessionId);
  }
  // SIGTERM drains each worker's recorder: the store is complete once both have exited.
  await Promise.all(workers.map((w) => stopWorkerProcess(w)));

  for (const id of sessionIds) {
    const scopes = await store.scopesOfSession(id);
    assert.deepEqual(
      scopes.map((s) => `${s.scopeId.slice(id.length) || '(root)'} ${s.agent} ${s.kind} ${s.status}`).sort(),
      [
        '(root) orchestrator root degraded',
        '.1 researcher delegation success',
        '.1.1 verifier delegation success',
        '.1.1.1 citer delegation success',
        '.2 analyst delegation success',
        '.3 translator delegation error',
        '~1 reviewer handoff success',
      ],
    );
    const report = await client.reconcile(id);
    assert.deepEqual(report.differences, [], `session ${id} reconciles against its histories on the cluster`);
    assert.equal(report.runs, 7);
  }
});

test('`temporal workflow list --query` finds every run of a session through Postgres visibility', { skip, timeout: 120_000 }, async () => {
  assert.equal(sessionIds.length, 3, 'the example sessions ran');
  const cli = await resolveTemporalCli();
  assert.ok(cli, 'the Temporal CLI is cached (devserver/ensure-cli.ts)');
  for (const id of sessionIds) {
    const scopes = await store.scopesOfSession(id);
    const expected = scopes.map((s) => s.workflowId).sort();
    let listed: string[] = [];
    // Visibility is written after the history: eventually consistent.
    for (let i = 0; i < 60 && listed.length < expected.length; i++) {
      if (i) await new Promise((r) => setTimeout(r, 500));
      const { stdout } = await run(cli.path, [
        'workflow', 'list', '--address', cluster.address, '--namespace', cluster.namespace,
        '--query', `ScopetrailSession="${id}"`, '--output', 'json',
      ]);
      listed = (JSON.parse(stdout || '[]') as Array<{ execution: { workflowId: string } }>).map((w) => w.execution.workflowId).sort();
    }
    assert.deepEqual(listed, expected, `one listed run per scope of ${id}`);
  }

  // The rows behind that answer are in the visibility database. SQL visibility keeps a
  // custom attribute in a generic column (Keyword01…) that the namespace maps to its name.
  const ns = await client.temporal.workflowService.describeNamespace({ namespace: cluster.namespace });
  const aliases = ns.config?.customSearchAttributeAliases ?? {};
  const column = Object.keys(aliases).find((k) => aliases[k] === 'ScopetrailSession');
  assert.match(column ?? '', /^Keyword\d+$/, `ScopetrailSession is a Keyword column: ${JSON.stringify(aliases)}`);
  const pgc = settings.postgres;
  const db = new pg.Client({ host: pgc.host, port: pgc.port, user: pgc.user, password: pgc.password, database: pgc.visibilityDatabase });
  await db.connect();
  try {
    const rows = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM executions_visibility WHERE namespace_id = $1 AND search_attributes->>$2 = ANY($3::text[])`,
      [ns.namespaceInfo!.id, column, sessionIds],
    );
    assert.equal(Number(rows.rows[0]!.n), sessionIds.length * 7);
  } finally {
    await db.end();
  }
});

test('the dashboard API lists the sessions and reconciles each one against the cluster', { skip, timeout: 120_000 }, async () => {
  assert.equal(sessionIds.length, 3, 'the example sessions ran');
  const ctx = { client, temporalAddress: cluster.address };
  const listed = await handleApi(ctx, 'GET', new URL('http://dashboard/api/sessions?limit=100'));
  assert.equal(listed.status, 200);
  const ids = (listed.body as { sessions: Array<{ sessionId: string }> }).sessions.map((s) => s.sessionId);
  assert.deepEqual([...ids].sort(), [...sessionIds].sort());
  for (const id of sessionIds) {
    const res = await handleApi(ctx, 'GET', new URL(`http://dashboard/api/sessions/${id}/reconcile`));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body as { complete: boolean }).complete, true);
    assert.equal((res.body as { temporalAddress: string }).temporalAddress, cluster.address);
  }
});

const seed = Number(process.env.SCOPETRAIL_SEED ?? Date.now() % 100_000);
test(`the crash harness on the cluster: two worker processes, SIGKILLs, nothing lost or duplicated (seed ${seed})`, { skip, timeout: 600_000 }, async () => {
  const report = await runCrashHarness({ sessions: 12, kills: 3, workers: 2, seed, databaseUrl: TEST_DATABASE_URL, log: (l) => console.error(l) });
  console.log(`crash on cluster: ${JSON.stringify({ ...report, differences: report.differences.slice(0, 5) })}`);
  assert.deepEqual(report.differences, []);
  assert.equal(report.workersStarted, 2 + 3);
  assert.equal(report.runs, report.scopes, 'one scope per workflow run');
  assert.ok(report.scopes >= 12 * 5, 'sessions ran (a failed session may stop before its handoff)');
});
