/**
 * Someone who can write the tables adds rows rather than changing them: an action under a
 * scope the session does not have, an action of one session filed under another's scope,
 * a scope of another session whose path claims a place under this one, and a second row
 * under an existing scope id in another session. Queries of the real session must not
 * take any of them as its own, and verify of the session each row names must say so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { TEST_DATABASE_URL, usesPglite, type TestRuntime } from '../helpers/runtime';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { runCliFor } from '../helpers/cli';

const skip = usesPglite() && 'forges rows through the Postgres server';
let rt: TestRuntime;
let db: pg.Client;
let a: string;
let b: string;

before(async () => {
  if (skip) return;
  rt = await startExampleRuntime();
  ({ sessionId: a } = await runExampleSession(rt, 'Which rows are mine?'));
  ({ sessionId: b } = await runExampleSession(rt, 'And which are not?'));
  db = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
});
after(async () => {
  await db?.end();
  await rt?.stop();
});

/** Copies a row of `table` with some columns changed: a forged row that parses like any other. */
async function forge(table: 'scopes' | 'actions', key: string, id: string, patch: Record<string, unknown>): Promise<void> {
  const t = `"${rt.schema}".${table}`;
  const { rowCount } = await db.query(
    `INSERT INTO ${t} SELECT (jsonb_populate_record(NULL::${t}, to_jsonb(r) || $2::jsonb)).* FROM ${t} r WHERE ${key} = $1`,
    [id, JSON.stringify(patch)],
  );
  assert.equal(rowCount, 1, `forged a copy of ${table} ${id}`);
}

async function firstTool(scopeId: string): Promise<{ action_id: string; session_started_at: string }> {
  const { rows } = await db.query(
    `SELECT action_id, session_started_at FROM "${rt.schema}".actions WHERE scope_id = $1 AND kind = 'tool_call' ORDER BY action_id LIMIT 1`,
    [scopeId],
  );
  return rows[0];
}

test('an action under a scope the session has no row for is named by verify', { skip }, async () => {
  assert.deepEqual((await rt.client.verify(a)).problems, [], 'clean before');
  const tool = await firstTool(`${a}.2`);
  await forge('actions', 'action_id', tool.action_id, { action_id: `${a}.9/a1#1`, scope_id: `${a}.9`, resources: [{ uri: 'db:secrets', mode: 'write' }] });
  const problems = (await rt.client.verify(a)).problems;
  assert.deepEqual(problems.map((p) => [p.problem, p.recordId]), [['invalid_row', `${a}.9/a1#1`]]);
  assert.match(problems[0]!.detail, new RegExp(`names scope "${a.replace(/[.]/g, '\\.')}\\.9", which session ${a} has no row for`));
  await db.query(`DELETE FROM "${rt.schema}".actions WHERE action_id = $1`, [`${a}.9/a1#1`]);
});

test("an action of another session filed under this session's scope is not its action, and verify of its own session names it", { skip }, async () => {
  const tool = await firstTool(`${b}.2`);
  const mine = await firstTool(`${a}.2`);
  const forged = `${a}.2/a99#1`;
  await forge('actions', 'action_id', tool.action_id, {
    action_id: forged, scope_id: `${a}.2`, session_started_at: mine.session_started_at, resources: [{ uri: 'db:secrets', mode: 'write' }],
  });
  const under = await rt.client.actionsUnder(`${a}.2`, { descendants: false });
  assert.ok(!under.some((x) => x.actionId === forged), 'not among the scope\'s actions');
  assert.ok(!(await rt.client.actionsUnder(a, { descendants: true })).some((x) => x.actionId === forged), 'nor under its root');
  const footprint = await rt.client.footprint(`${a}.2`);
  assert.ok(!JSON.stringify(footprint).includes('db:secrets'), 'nor in its footprint');
  assert.deepEqual((await rt.client.verify(a)).problems, [], 'the session it was filed under is as it was');
  const named = (await rt.client.verify(b)).problems.filter((p) => p.recordId === forged);
  assert.deepEqual(named.map((p) => p.problem), ['invalid_row', 'misplaced'], "the session the row names has it as a row without its scope, filed under another session's start");
  await db.query(`DELETE FROM "${rt.schema}".actions WHERE action_id = $1`, [forged]);
});

test("a scope of another session whose path claims a place under this one is not among its descendants", { skip }, async () => {
  const { rows } = await db.query(`SELECT session_started_at FROM "${rt.schema}".scopes WHERE scope_id = $1`, [a]);
  await forge('scopes', 'scope_id', `${a}.1`, { scope_id: 'evil1', session_id: 'zzz', path: `/${a}/evil1/`, session_started_at: rows[0].session_started_at });
  const tool = await firstTool(`${a}.1`);
  await forge('actions', 'action_id', tool.action_id, { action_id: 'evil1/a1#1', scope_id: 'evil1', session_id: 'zzz', resources: [{ uri: 'db:secrets', mode: 'write' }] });
  assert.ok(!(await rt.client.actionsUnder(a, { descendants: true })).some((x) => x.scopeId === 'evil1'));
  assert.ok(!JSON.stringify(await rt.client.footprint(a)).includes('db:secrets'));
  await db.query(`DELETE FROM "${rt.schema}".actions WHERE action_id = 'evil1/a1#1'`);
  await db.query(`DELETE FROM "${rt.schema}".scopes WHERE scope_id = 'evil1'`);
});

test('a second row under an existing scope id, in another session, never answers for it', { skip }, async () => {
  const real = await rt.client.scope(`${a}.1`);
  const { rows } = await db.query(`SELECT session_started_at FROM "${rt.schema}".scopes WHERE scope_id = $1`, [`${a}.1`]);
  const earlier = new Date(new Date(rows[0].session_started_at).getTime() - 1).toISOString();
  await forge('scopes', 'scope_id', `${a}.1`, { session_id: 'zzz', objective: 'SHADOW', path: `/zzz/${a}.1/`, session_started_at: earlier });
  // The real row written again after it, so that it comes later on disk.
  await db.query(
    `WITH gone AS (DELETE FROM "${rt.schema}".scopes WHERE scope_id = $1 AND session_id = $2 RETURNING *) INSERT INTO "${rt.schema}".scopes SELECT * FROM gone`,
    [`${a}.1`, a],
  );
  const answered = await rt.client.scope(`${a}.1`);
  assert.deepEqual([answered.sessionId, answered.objective], [a, real.objective]);
  assert.ok((await rt.client.actionsUnder(`${a}.1`, { descendants: true })).length > 0, 'its descendants are found by its own row');
  await db.query(`DELETE FROM "${rt.schema}".scopes WHERE scope_id = $1 AND session_id = 'zzz'`, [`${a}.1`]);
  assert.deepEqual((await rt.client.verify(a)).problems, [], 'clean after');
});

test('a time no JavaScript Date holds is an invalid row verify names, not an error that stops it', { skip }, async () => {
  const { rows } = await db.query(`SELECT ended_at FROM "${rt.schema}".scopes WHERE scope_id = $1`, [`${a}.2`]);
  await db.query(`UPDATE "${rt.schema}".scopes SET ended_at = 'infinity' WHERE scope_id = $1`, [`${a}.2`]);
  try {
    const problems = (await rt.client.verify(a)).problems.filter((p) => p.problem === 'invalid_row');
    assert.deepEqual(problems.map((p) => p.recordId), [`${a}.2`]);
    assert.match(problems[0]!.detail, /invalid field "endedAt"/);
    await assert.rejects(rt.client.scopeTree(a), /scope ".*\.2" has an invalid field "endedAt"/);
  } finally {
    await db.query(`UPDATE "${rt.schema}".scopes SET ended_at = $2 WHERE scope_id = $1`, [`${a}.2`, rows[0].ended_at]);
  }
  assert.deepEqual((await rt.client.verify(a)).problems, []);
});

test('a manifest row that does not parse is named, agent and version and field, by roles and drift', { skip }, async () => {
  const { rows } = await db.query(`SELECT agent, version, manifest FROM "${rt.schema}".manifests WHERE agent = 'citer'`);
  await db.query(`UPDATE "${rt.schema}".manifests SET manifest = '{"x": 1}' WHERE agent = 'citer'`);
  try {
    await assert.rejects(rt.client.roles(), /the manifest of citer@1\.0\.0 has an invalid field "name"/);
    await assert.rejects(rt.client.drift(), /the manifest of citer@1\.0\.0 has an invalid field/);
  } finally {
    await db.query(`UPDATE "${rt.schema}".manifests SET manifest = $1 WHERE agent = 'citer'`, [JSON.stringify(rows[0].manifest)]);
  }
  assert.ok((await rt.client.roles()).length > 0);
});

test('a row that does not parse marks its session unreadable in the listing; the other sessions are listed as ever', { skip }, async () => {
  const { rows } = await db.query(`SELECT status FROM "${rt.schema}".scopes WHERE scope_id = $1`, [`${a}.2`]);
  await db.query(`UPDATE "${rt.schema}".scopes SET status = 'bogus' WHERE scope_id = $1`, [`${a}.2`]);
  try {
    const listed = await rt.client.sessions({ limit: 50, crossCheck: false });
    const mine = listed.find((s) => s.sessionId === a);
    const other = listed.find((s) => s.sessionId === b);
    assert.equal(mine?.status, 'unreadable');
    assert.match(mine!.problem!, /scope ".*\.2" has an invalid field "status"/);
    assert.notEqual(other?.status, 'unreadable');
    assert.ok(!(await rt.client.sessions({ limit: 50, status: 'degraded', crossCheck: false })).some((s) => s.sessionId === a), 'a status filter skips it');
  } finally {
    await db.query(`UPDATE "${rt.schema}".scopes SET status = $2 WHERE scope_id = $1`, [`${a}.2`, rows[0].status]);
  }
  assert.deepEqual((await rt.client.verify(a)).problems, []);
});

test('reconcile of a session the store has rows for and Temporal has no history of says so, not "no session in the store"', { skip }, async () => {
  await forge('scopes', 'scope_id', `${a}.1`, { scope_id: 'ghost1', session_id: 'ghost1', path: '/ghost1/', parent_scope_id: null, kind: 'root', delegated_by: null });
  try {
    await assert.rejects(rt.client.reconcile('ghost1'), /session "ghost1" has 1 scope row\(s\) in the store but no history in Temporal \(namespace default\)/);
  } finally {
    await db.query(`DELETE FROM "${rt.schema}".scopes WHERE scope_id = 'ghost1'`);
  }
  await assert.rejects(rt.client.reconcile('ghost2'), /no session "ghost2" in the store/);
});

/** Moves rows of `table` matching `where` to another session start, as someone hiding them would; returns the undo. */
async function refile(table: string, where: string, id: string, shift: string): Promise<() => Promise<void>> {
  const t = `"${rt.schema}".${table}`;
  const { rowCount } = await db.query(`UPDATE ${t} SET session_started_at = session_started_at + $2::interval WHERE ${where}`, [id, shift]);
  assert.ok((rowCount ?? 0) > 0, `moved rows of ${table}`);
  return async () => {
    await db.query(`UPDATE ${t} SET session_started_at = session_started_at - $2::interval WHERE ${where}`, [id, shift]);
  };
}

async function touchedResource(scopeId: string): Promise<string> {
  const { rows } = await db.query(
    `SELECT resources->0->>'uri' AS uri FROM "${rt.schema}".actions WHERE scope_id = $1 AND kind = 'tool_call' AND jsonb_array_length(resources) > 0 ORDER BY action_id LIMIT 1`,
    [scopeId],
  );
  assert.ok(rows[0]?.uri, `a tool of ${scopeId} touched something`);
  return rows[0].uri;
}

test("a scope's actions moved to another session start are named by verify, and touched does not answer a proved no", { skip }, async () => {
  const resource = await touchedResource(`${a}.2`);
  assert.equal((await rt.client.wasTouched(a, resource)).touched, true, 'touched before');
  const undo = await refile('actions', 'scope_id = $1', `${a}.2`, '1 day');
  try {
    const problems = (await rt.client.verify(a)).problems;
    assert.deepEqual([...new Set(problems.map((p) => p.problem))], ['misplaced']);
    assert.equal(problems[0]!.scopeId, `${a}.2`);
    assert.match(problems[0]!.detail, /actions row\(s\) of session .* are filed under session start .*, not .* \(as the session's first run in Temporal says\)/);
    const report = await rt.client.wasTouched(a, resource);
    // The moved rows are not read, so the answer is no; it must not claim to be a complete one.
    assert.equal(report.complete, false, 'not a proved answer');
    assert.ok(report.sealProblems.some((p) => p.problem === 'misplaced'));
  } finally {
    await undo();
  }
  assert.deepEqual((await rt.client.verify(a)).problems, [], 'clean once put back');
});

test("a scope's own row moved to another session start is named, and touched under it is no proved answer", { skip }, async () => {
  const resource = await touchedResource(`${a}.2`);
  const undo = await refile('scopes', 'scope_id = $1', `${a}.2`, '1 microsecond');
  try {
    const problems = (await rt.client.verify(a)).problems;
    assert.deepEqual(problems.map((p) => [p.problem, p.recordId]), [['misplaced', `${a}.2`]]);
    const report = await rt.client.wasTouched(`${a}.2`, resource);
    assert.equal(report.complete, false);
  } finally {
    await undo();
  }
});

test('every row of a session moved to another start together is named against the start Temporal holds', { skip }, async () => {
  const tables = ['scopes', 'actions', 'action_chain', 'scope_chains', 'output_fingerprints'];
  const undos: Array<() => Promise<void>> = [];
  try {
    for (const table of tables) {
      const { rows } = await db.query(`SELECT 1 FROM "${rt.schema}".${table} WHERE session_id = $1 LIMIT 1`, [a]);
      if (rows.length) undos.push(await refile(table, 'session_id = $1', a, '2 hours'));
    }
    const problems = (await rt.client.verify(a)).problems;
    assert.ok(problems.length >= 2 && problems.every((p) => p.problem === 'misplaced'), JSON.stringify(problems));
    assert.ok(problems.some((p) => p.recordId === a), 'the root scope row among them');
  } finally {
    for (const undo of undos) await undo();
  }
  assert.deepEqual((await rt.client.verify(a)).problems, []);
});

test('a session Temporal has no trace of is answered from the store with a warning saying so; a real one without', { skip }, async () => {
  const forged = `forged-${a}`;
  await forge('scopes', 'scope_id', a, { scope_id: forged, session_id: forged, path: `/${forged}/`, workflow_id: forged });
  try {
    for (const args of [['tree', forged], ['footprint', forged], ['root-cause', forged], ['actions', forged], ['status', forged], ['timeline', forged]]) {
      const run = await runCliFor(rt, args);
      assert.match(run.stderr, new RegExp(`WARNING: Temporal has no session "${forged}": its rows were written into the store by other means, or it is past the namespace's retention; this answer rests on the store alone`), args[0]);
      // The forged root is a copy of a sealed one: its seal is not over it, which the commands that hold rows to their seals say.
      const sealChecked = ['footprint', 'root-cause', 'actions', 'status'].includes(args[0]!);
      assert.equal(run.code, sealChecked ? 3 : 0, `${args[0]}: ${run.stderr}`);
      if (sealChecked) assert.match(run.stderr, new RegExp(`WARNING: \\d+ row\\(s\\) of session ${forged} do not match their seals \\(scope ${forged}\\)`), args[0]);
    }
    const real = await runCliFor(rt, ['tree', a]);
    assert.equal(real.code, 0);
    assert.doesNotMatch(real.stderr, /WARNING/);
  } finally {
    await db.query(`DELETE FROM "${rt.schema}".scopes WHERE scope_id = $1`, [forged]);
  }
});

test("rows of the session's ids filed under another session start (another cluster's run of the id) are differences to reconcile, never a complete store", { skip }, async () => {
  const clean = await rt.client.reconcile(a);
  assert.deepEqual(clean.differences, [], 'complete before');
  // What a second Temporal cluster writing this store under the same namespace leaves: its own
  // run of the same session id, every row under the same ids, filed under its own start.
  const copies: string[] = [];
  for (const table of ['scopes', 'actions']) {
    const t = `"${rt.schema}".${table}`;
    const { rowCount } = await db.query(
      `INSERT INTO ${t} SELECT (jsonb_populate_record(NULL::${t}, to_jsonb(r) || jsonb_build_object('session_started_at', r.session_started_at + interval '1 second'))).*
         FROM ${t} r WHERE session_id = $1`,
      [a],
    );
    assert.ok((rowCount ?? 0) > 0, `copied ${table}`);
    copies.push(t);
  }
  try {
    const report = await rt.client.reconcile(a);
    assert.deepEqual(report.stored, { scopes: clean.stored.scopes * 2, actions: clean.stored.actions * 2, openInHistory: clean.stored.openInHistory });
    assert.deepEqual(report.differences.map((d) => `${d.kind} ${d.record}`).sort(), ['extra action', 'extra scope']);
    for (const d of report.differences) {
      assert.match(d.detail, new RegExp(`^${d.record === 'scope' ? clean.stored.scopes : clean.stored.actions} ${d.record} row\\(s\\) of session .* are filed under session start .*, not .* \\(as the session's first run in Temporal says\\)`));
    }
    const cli = await runCliFor(rt, ['reconcile', a]);
    assert.equal(cli.code, 3, 'reconcile exits with its finding code');
    assert.match(cli.stdout, /filed under session start/);
    assert.doesNotMatch(cli.stdout, /the store is complete/);
  } finally {
    for (const t of copies) {
      await db.query(`DELETE FROM ${t} r USING (SELECT min(session_started_at) AS s FROM ${t} WHERE session_id = $1) f WHERE r.session_id = $1 AND r.session_started_at > f.s`, [a]);
    }
  }
  assert.deepEqual((await rt.client.reconcile(a)).differences, [], 'complete once they are gone');
});
