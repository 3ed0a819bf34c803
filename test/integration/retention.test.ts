/**
 * Retention: `prune` drops whole months of ended sessions (partitions), refuses a month
 * holding a running session, records and anchors what it dropped, never lets a late
 * record bring a pruned month back, and leaves the sessions that remain reconciling and
 * verifying clean. A `prunes` row without its Temporal anchor excuses nothing.
 */
import { pruneStore } from '../../client/prune';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { TEST_DATABASE_URL, usesPglite, type TestRuntime } from '../helpers/runtime';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { runCliFor } from '../helpers/cli';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { partitionMonths } from '../../store/prune';
import { TemporalPruneAnchors } from '../../store/prune-anchor';
import { SessionPrunedError, UnknownIdError } from '../../client/arguments';
import { startUiServer } from '../../client/ui-server';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const skip = usesPglite() && 'reads partitions through the Postgres server';
let rt: TestRuntime;

before(async () => {
  if (skip) return;
  rt = await startExampleRuntime({ toolOptions: { latencyMs: 5 } });
});
after(async () => rt?.stop());

async function sql<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as R[];
  } finally {
    await client.end();
  }
}

/** A session of an earlier month written as a worker would (no history: it only has to be dropped or kept). */
function pastSession(id: string, startedAt: string, status: ScopeRecord['status']): { scopes: ScopeRecord[]; actions: ActionRecord[] } {
  const scope: ScopeRecord = {
    sessionId: id, scopeId: id, parentScopeId: null, handoffFromScopeId: null, kind: 'root', agent: 'orchestrator',
    agentVersion: '1.0.0', delegatedBy: null, objective: null, allowance: null, depth: 0, path: `/${id}/`,
    namespace: 'default', status, recovered: false, error: null, startedAt,
    endedAt: status === 'running' ? null : startedAt, workflowId: id, runId: `${id}-run`, sessionStartedAt: startedAt,
  };
  const action: ActionRecord = {
    actionId: `${id}/a1#1`, scopeId: id, sessionId: id, namespace: 'default', agent: 'orchestrator', kind: 'tool_call',
    name: 'search', attempt: 1, resources: [{ uri: 'web:search', mode: 'read' }], inputDigest: null, outputDigest: null,
    status: 'success', error: null, startedAt, endedAt: startedAt, workflowId: id, runId: `${id}-run`, activityId: '1',
    targetScopeId: null, attributes: {}, sessionStartedAt: startedAt,
  };
  return { scopes: [scope], actions: [action] };
}

async function write(s: { scopes: ScopeRecord[]; actions: ActionRecord[] }): Promise<void> {
  await rt.store.upsertScopes(s.scopes);
  await rt.store.upsertActions(s.actions);
}

const month = (m: number) => new Date(m).toISOString().slice(0, 7);

test('prune drops whole months of ended sessions, refuses a running one, and what remains reconciles and verifies', { skip }, async () => {
  const tag = Date.now().toString(36);
  const september = pastSession(`old-sep-${tag}`, '2026-09-14T10:00:00.000Z', 'running');
  const october = [1, 2, 3].map((i) => pastSession(`old-oct-${tag}-${i}`, `2026-10-0${i}T08:00:00.000Z`, 'success'));
  for (const s of [september, ...october]) await write(s);
  const live = await runExampleSession(rt, `retention ${tag}`);
  assert.deepEqual((await partitionMonths(sqlExecutor(), rt.schema)).map(month).slice(0, 2), ['2026-09', '2026-10']);

  // A running session in a month to drop refuses the whole prune: nothing is dropped.
  const refused = await runCliFor(rt, ['prune', '--before', '2026-11-01']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`^scopetrail prune: refusing to drop 2026-09: 2026-09 holds running sessions \\(old-sep-${tag}\\)`));
  assert.equal((await rt.store.scopesOfSession(october[0]!.scopes[0]!.sessionId)).length, 1);
  // With --json, the refusal is the error document every command prints, with the months and what runs in them.
  const refusedJson = await runCliFor(rt, ['prune', '--before', '2026-11-01', '--json']);
  assert.equal(refusedJson.code, 1, refusedJson.stderr);
  const { error } = JSON.parse(refusedJson.stdout) as { error: Record<string, unknown> };
  assert.deepEqual([error.command, error.exitCode, error.kind], ['prune', 1, 'failure']);
  assert.match(String(error.message), /^refusing to drop 2026-09: 2026-09 holds running sessions/);
  assert.deepEqual(error.refused, [{ month: '2026-09', running: [`old-sep-${tag}`] }]);

  // Once it has ended, both months go, whole; the live session's month stays.
  await rt.store.upsertScopes([{ ...september.scopes[0]!, status: 'success', endedAt: '2026-09-14T10:05:00.000Z' }]);
  const dry = await rt.client.prune('2026-11-01', { dryRun: true });
  assert.deepEqual(dry.months.map((m) => m.month), ['2026-09', '2026-10']);
  assert.equal(dry.pruned.length, 0);
  const report = await rt.client.prune('2026-11-01');
  assert.deepEqual(report.pruned.map((p) => [p.month, p.sessions, p.scopes, p.actions]), [['2026-09', 1, 1, 1], ['2026-10', 3, 3, 3]]);
  assert.deepEqual((await partitionMonths(sqlExecutor(), rt.schema)).map(month).includes('2026-10'), false);
  const recorded = await sql<{ month: Date; sessions: number }>(`SELECT month, sessions FROM "${rt.schema}".prunes ORDER BY month`);
  assert.deepEqual(recorded.map((r) => [r.month.toISOString().slice(0, 7), Number(r.sessions)]), [['2026-09', 1], ['2026-10', 3]]);
  const anchors = new TemporalPruneAnchors(rt.client.temporal.connection, rt.schema);
  assert.equal((await anchors.read('default', '2026-10'))?.month, '2026-10');

  // A late record of a pruned month is discarded; the month does not come back.
  await write(pastSession(`old-oct-${tag}-late`, '2026-10-20T00:00:00.000Z', 'success'));
  assert.equal((await partitionMonths(sqlExecutor(), rt.schema)).map(month).includes('2026-10'), false);
  assert.equal((await rt.store.scopesOfSession(`old-oct-${tag}-late`)).length, 0);

  const reconciled = await rt.client.reconcile(live.sessionId);
  assert.deepEqual(reconciled.differences, []);
  assert.ok(reconciled.stored.actions > 0);
  assert.deepEqual((await rt.client.verify(live.sessionId)).problems, []);
});

test('a pruned session reconciles as pruned only when Temporal holds the anchor of its month', { skip }, async () => {
  const tag = Date.now().toString(36);
  const live = await runExampleSession(rt, `retention forged ${tag}`);
  // A database writer deletes the session and records a prune of its month: no anchor, no excuse.
  const startedAt = (await sql<{ s: Date }>(`SELECT session_started_at AS s FROM "${rt.schema}".scopes WHERE session_id = $1 LIMIT 1`, [live.sessionId]))[0]!.s;
  await sql(`DELETE FROM "${rt.schema}".actions WHERE session_id = $1`, [live.sessionId]);
  await sql(`DELETE FROM "${rt.schema}".scopes WHERE session_id = $1`, [live.sessionId]);
  await sql(
    `INSERT INTO "${rt.schema}".prunes (namespace, month, before, sessions, scopes, actions) VALUES ('default', date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now(), 1, 1, 1)`,
    [startedAt],
  );
  const forged = await rt.client.reconcile(live.sessionId);
  assert.equal(forged.pruned, undefined);
  // Nor does any other query call it pruned: it is a session the store does not have.
  const tree = await runCliFor(rt, ['tree', live.sessionId]);
  assert.equal(tree.code, 1);
  assert.match(tree.stderr, new RegExp(`^scopetrail tree: no session "${live.sessionId}" in the store, though Temporal has it \\(started [^)]+\\): its records have not reached the store, or were removed from it\\. .*scopetrail reconcile ${live.sessionId}. tells which$`));
  assert.ok(forged.differences.some((d) => d.kind === 'missing' && d.record === 'scope'), JSON.stringify(forged.differences));
  // Verify names the deletion too, scope by scope, against the history Temporal still holds.
  const verified = await rt.client.verify(live.sessionId);
  assert.ok(verified.problems.length >= 7, JSON.stringify(verified.problems));
  assert.deepEqual([...new Set(verified.problems.map((p) => p.problem))], ['history']);
});

test('once its month is pruned, every query of the session says it was pruned, when and by which prune, with exit 1', { skip }, async () => {
  const live = await runExampleSession(rt, `retention pruned ${Date.now().toString(36)}`);
  const startedAt = (await sql<{ s: Date }>(`SELECT session_started_at AS s FROM "${rt.schema}".scopes WHERE session_id = $1 LIMIT 1`, [live.sessionId]))[0]!.s;
  const next = new Date(Date.UTC(startedAt.getUTCFullYear(), startedAt.getUTCMonth() + 1, 1));
  // The month has not ended: sessions can still start in it, so nothing of it goes.
  const early = await runCliFor(rt, ['prune', '--before', next.toISOString(), '--json']);
  assert.equal(early.code, 2, early.stderr);
  assert.match(early.stderr, /^scopetrail prune: invalid --before ".*": .* is later than now: a month is pruned only once it has ended, and sessions can still start in \d{4}-\d\d/);
  const refusal = (JSON.parse(early.stdout) as { error: Record<string, unknown> }).error;
  assert.deepEqual(Object.keys(refusal), ['command', 'exitCode', 'kind', 'message']);
  assert.deepEqual([refusal.command, refusal.exitCode, refusal.kind], ['prune', 2, 'usage']);
  await assert.rejects(pruneStore(rt.store, rt.client.temporal, next), /invalid field "before": .* is later than now/);
  assert.equal((await rt.client.reconcile(live.sessionId)).pruned, undefined);
  assert.ok((await rt.store.scopesOfSession(live.sessionId)).length > 0, 'nothing was dropped');
  // Once it has ended (a clock standing at the start of the next month), it is pruned.
  const report = await pruneStore(rt.store, rt.client.temporal, next, { now: next });
  const monthLabel = month(startedAt.getTime());
  assert.ok(report.pruned.some((p) => p.month === monthLabel && p.sessions >= 1), JSON.stringify(report));

  const expected = {
    sessionId: live.sessionId,
    month: monthLabel,
    before: next.toISOString(),
    anchor: `scopetrail-prune:${rt.schema}:${monthLabel}`,
  };
  const isPruned = (err: Error) => {
    assert.ok(err instanceof SessionPrunedError, `${err.name}: ${err.message}`);
    assert.ok(err instanceof UnknownIdError, 'a pruned session is an id the store does not have');
    assert.deepEqual({ ...err.pruned, prunedAt: undefined }, { ...expected, prunedAt: undefined });
    return true;
  };
  await assert.rejects(rt.client.reconcile(live.sessionId), isPruned);
  await assert.rejects(rt.client.verify(live.sessionId), isPruned);
  await assert.rejects(rt.client.scopeTree(live.sessionId), isPruned);
  await assert.rejects(rt.client.status(live.sessionId), isPruned);
  assert.equal((await rt.client.prunedSession(`${live.sessionId}.1`))?.sessionId, live.sessionId, 'a delegation names its session');
  assert.equal((await rt.client.prunedSession(`${live.sessionId}~1`))?.sessionId, live.sessionId, 'a handoff names its session');

  // On the command line: one sentence, one exit code (1, not_found), the same prune named.
  const said = new RegExp(
    `^session "${live.sessionId}" was pruned: retention dropped its month, ${monthLabel}, at \\S+ ` +
      `\\(scopetrail prune --before ${next.toISOString().replace(/\./g, '\\.')}; anchored in Temporal as scopetrail-prune:${rt.schema}:${monthLabel}\\), and the store keeps nothing of it$`,
  );
  for (const command of ['tree', 'verify', 'reconcile', 'status', 'timeline', 'root-cause']) {
    const run = await runCliFor(rt, [command, live.sessionId]);
    assert.equal(run.code, 1, `${command}: ${run.stderr}`);
    assert.equal(run.errLines.length, 1, run.stderr);
    assert.match(run.stderr.replace(`scopetrail ${command}: `, ''), said, command);
    const json = await runCliFor(rt, [command, live.sessionId, '--json']);
    const { error } = JSON.parse(json.stdout) as { error: Record<string, any> };
    assert.deepEqual([json.code, error.command, error.exitCode, error.kind], [1, command, 1, 'not_found']);
    assert.match(error.message, said);
    assert.deepEqual({ ...error.pruned, prunedAt: undefined }, { ...expected, prunedAt: undefined });
  }
  const scope = await runCliFor(rt, ['status', `${live.sessionId}.1`]);
  assert.equal(scope.code, 1, scope.stderr);
  assert.match(scope.stderr, new RegExp(`^scopetrail status: scope "${live.sessionId}\\.1" of session "${live.sessionId}" was pruned: retention dropped its month, ${monthLabel}`));
  const handedTo = await runCliFor(rt, ['status', `${live.sessionId}~1`]);
  assert.equal(handedTo.code, 1, handedTo.stderr);
  assert.match(handedTo.stderr, new RegExp(`^scopetrail status: scope "${live.sessionId}~1" of session "${live.sessionId}" was pruned: retention dropped its month, ${monthLabel}`));
  // Following it would wait for ever for events that cannot come: said at once instead.
  const cursorPath = join(mkdtempSync(join(tmpdir(), 'scopetrail-follow-')), 'pruned.cursor');
  const followed = await Promise.race([
    runCliFor(rt, ['export-ocsf', live.sessionId, '--follow', '--cursor', cursorPath, '--poll-ms', '100']),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('export-ocsf --follow of a pruned session still running after 20 s')), 20_000).unref()),
  ]);
  assert.equal(followed.code, 1, followed.stderr);
  assert.match(followed.stderr.replace('scopetrail export-ocsf: ', ''), said);

  // The dashboard's API answers the same: a 404 that says which prune, for every route that reads the session.
  const dashboard = await startUiServer(rt.client, { port: 0 });
  try {
    for (const path of ['', '/timeline', '/reconcile']) {
      const res = await fetch(new URL(`/api/sessions/${live.sessionId}${path}`, dashboard.url));
      const body = (await res.json()) as { error: { status: number; message: string; pruned?: Record<string, string> } };
      assert.equal(res.status, 404, path);
      assert.match(body.error.message, said, path);
      assert.deepEqual({ ...body.error.pruned, prunedAt: undefined }, { ...expected, prunedAt: undefined }, path);
    }
    const changes = await fetch(new URL(`/api/changes?session=${live.sessionId}`, dashboard.url));
    assert.equal(changes.status, 404);
    assert.match(((await changes.json()) as { error: { message: string } }).error.message, said);
  } finally {
    await dashboard.close();
  }
  // An id Temporal never saw is still just unknown.
  const unknown = await runCliFor(rt, ['tree', `never-${live.sessionId}`]);
  assert.deepEqual([unknown.code, unknown.stderr], [1, `scopetrail tree: no session "never-${live.sessionId}" in the store; check the id (scopetrail sessions lists them)`]);
});

test('prune refuses a bad --before with the value named', { skip }, async () => {
  const bad = await runCliFor(rt, ['prune', '--before', 'last tuesday']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid --before "last tuesday"/);
});

function sqlExecutor() {
  return { query: async <R>(text: string, params?: unknown[]) => ({ rows: await sql<R>(text, params) }) };
}
