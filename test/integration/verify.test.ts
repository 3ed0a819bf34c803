/** Tamper evidence: the hash chains over each scope's actions catch edits, deletions and insertions made in Postgres. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { TEST_DATABASE_URL, usesPglite, type TestRuntime } from '../helpers/runtime';
import { runCli } from '../../client/cli';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';

const skip = usesPglite() && 'tampers through the Postgres server';
let rt: TestRuntime;

before(async () => {
  if (skip) return;
  rt = await startExampleRuntime({ toolOptions: { latencyMs: 20 } });
});
after(async () => rt?.stop());

async function sql(text: string, params: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(text, params)).rowCount ?? 0;
  } finally {
    await client.end();
  }
}

async function session(): Promise<string> {
  return (await runExampleSession(rt, `verify ${Date.now()}`)).sessionId;
}

test('an untouched session verifies, scope by scope', { skip }, async () => {
  const sid = await session();
  const report = await rt.client.verify(sid);
  assert.deepEqual(report.problems, []);
  assert.equal(report.scopes, 7);
  assert.equal(report.actions, 19);
});

test('editing an action, deleting one, or rewriting a scope\'s status is caught and named', { skip }, async () => {
  const sid = await session();
  const t = `"${rt.schema}"`;
  // A failed translate attempt rewritten as a success.
  const edited = `${sid}.3/a1#2`;
  assert.equal(await sql(`UPDATE ${t}.actions SET status = 'success', error = NULL WHERE action_id = $1`, [edited]), 1);
  // The analyst's first, failed fetch erased.
  const deleted = `${sid}.2/a2#1`;
  assert.equal(await sql(`DELETE FROM ${t}.actions WHERE action_id = $1`, [deleted]), 1);
  // The translator's scope made to look successful.
  assert.equal(await sql(`UPDATE ${t}.scopes SET status = 'success' WHERE scope_id = $1`, [`${sid}.3`]), 1);

  const report = await rt.client.verify(sid);
  const problems = report.problems.map((p) => `${p.problem} ${p.recordId.slice(sid.length)}`).sort();
  // The deletion shows twice: as the broken link before the next record and in the scope's count.
  assert.deepEqual(problems, ['changed .3/a1#2', 'removed .2', 'removed .2/a2#2', 'scope_changed .3']);
  assert.match(report.problems.find((p) => p.problem === 'removed')!.detail, /broken between .*\.2\/a1#1 and .*\.2\/a2#2/);

  const out: string[] = [];
  const code = await runCli(['verify', sid, '--database-url', TEST_DATABASE_URL, '--schema', rt.schema], {
    log: (l) => out.push(l),
    err: (l) => out.push(l),
  });
  assert.equal(code, 3);
  assert.match(out.join('\n'), /FAILED: 4 problem\(s\)/);
});

test('deleting the last action of a scope and inserting a forged one are caught too', { skip }, async () => {
  const sid = await session();
  const t = `"${rt.schema}"`;
  // The reviewer's saveNote is its last action.
  assert.equal(await sql(`DELETE FROM ${t}.actions WHERE action_id = $1`, [`${sid}~1/a2#1`]), 1);
  await sql(
    `INSERT INTO ${t}.actions (action_id, scope_id, session_id, namespace, agent, kind, name, attempt, status, started_at, workflow_id, run_id)
     VALUES ($1, $2, $3, 'default', 'verifier', 'tool_call', 'search', 1, 'success', now(), $2, 'forged')`,
    [`${sid}.1.1/a9#1`, `${sid}.1.1`, sid],
  );
  const problems = (await rt.client.verify(sid)).problems.map((p) => `${p.problem} ${p.recordId.slice(sid.length)}`).sort();
  assert.deepEqual(problems, ['inserted .1.1/a9#1', 'removed ~1']);
});
