/**
 * Someone who can write the tables changes one value of one row: any column of any scope
 * or action row of a sealed session, to another valid value where one exists, else to one
 * that does not parse. Whatever it is, verify must not call the session clean, and must
 * name the scope whose row it was; with the value put back, the session verifies clean
 * again. Random sessions from the plan agents (test/helpers/plan-oracle.ts), seeded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TEST_DATABASE_URL, startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import { createFixtureTools } from '../fixtures/tools';
import { prng } from '../helpers/prng';
import { randomPlan } from '../helpers/plan-oracle';

const skip = usesPglite() && 'tampers through the Postgres server';
const SEED = Number(process.env.SCOPETRAIL_TEST_SEED ?? 31);
const EDITS = Number(process.env.SCOPETRAIL_TEST_EDITS ?? 100);
/**
 * None: the partition key (`session_started_at`) is no part of the record a seal covers, but a row
 * filed under another start than its session's is named all the same (store/placement-check.ts).
 */
const NOT_RECORD = new Set<string>();

let rt: TestRuntime;
let db: pg.Client;
const sessions: string[] = [];

before(async () => {
  if (skip) return;
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/plan-agents'), tools: Object.values(createFixtureTools().tools) });
  db = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
  const rnd = prng(SEED);
  await Promise.all(
    [0, 1, 2].map(async (i) => {
      const sessionId = `tamper-${SEED}-${i}-${randomBytes(3).toString('hex')}`;
      const { agent, plan } = randomPlan(rnd, sessionId, { maxDepth: 2, maxHandoffs: 1, maxSteps: 3 });
      const s = await rt.client.startSession<unknown, string>(agent, { input: plan, sessionId });
      await s.result().catch(() => undefined);
      sessions.push(sessionId);
    }),
  );
  await rt.worker.recorder.drain();
});
after(async () => {
  await db?.end();
  await rt?.stop();
});

interface Column {
  name: string;
  type: string;
}

async function columns(table: 'scopes' | 'actions'): Promise<Column[]> {
  const res = await db.query<{ column_name: string; data_type: string }>(
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
    [rt.schema, table],
  );
  return res.rows.filter((c) => !NOT_RECORD.has(c.column_name)).map((c) => ({ name: c.column_name, type: c.data_type }));
}

/** A different value for the column, as SQL over the current one (`v`), and what it is for messages. */
function edit(rnd: () => number, column: Column, others: string[]): { sql: string; params: unknown[]; what: string } {
  const c = `"${column.name}"`;
  switch (column.type) {
    case 'integer':
      return { sql: `${c} = COALESCE(${c}, 0) + 1`, params: [], what: '+1' };
    case 'boolean':
      return { sql: `${c} = NOT COALESCE(${c}, false)`, params: [], what: 'negated' };
    case 'timestamp with time zone':
      return { sql: `${c} = COALESCE(${c}, now()) + interval '1 millisecond'`, params: [], what: '+1 ms' };
    case 'jsonb':
      return rnd() < 0.5
        ? { sql: `${c} = CASE WHEN jsonb_typeof(${c}) = 'array' THEN ${c} || '["x"]'::jsonb ELSE COALESCE(${c}, '{}'::jsonb) || '{"x": 1}'::jsonb END`, params: [], what: 'grown' }
        : { sql: `${c} = CASE WHEN ${c} IS NULL THEN '[]'::jsonb ELSE NULL END`, params: [], what: 'nulled or set' };
    default: {
      // Another value the column holds elsewhere is the hardest to see: it parses.
      if (others.length && rnd() < 0.6) {
        const value = others[Math.floor(rnd() * others.length)]!;
        return { sql: `${c} = $2`, params: [value], what: `set to ${JSON.stringify(value.slice(0, 40))}` };
      }
      return rnd() < 0.5 || others.length === 0
        ? { sql: `${c} = COALESCE(${c}, '') || 'x'`, params: [], what: 'appended to' }
        : { sql: `${c} = CASE WHEN ${c} IS NULL THEN 'x' ELSE NULL END`, params: [], what: 'nulled or set' };
    }
  }
}

test('any change to any column of any row of a sealed session is named by verify, and undoing it verifies clean', { skip }, async (tc) => {
  for (const sid of sessions) assert.deepEqual((await rt.client.verify(sid)).problems, [], `${sid} verifies before any edit`);
  const rnd = prng(SEED * 7 + 1);
  const tables = { scopes: await columns('scopes'), actions: await columns('actions') };
  const t = (name: string) => `"${rt.schema}".${name}`;
  const caught: string[] = [];
  for (let i = 0; i < EDITS; i++) {
    const table = rnd() < 0.4 ? 'scopes' : 'actions';
    const key = table === 'scopes' ? 'scope_id' : 'action_id';
    const sid = sessions[Math.floor(rnd() * sessions.length)]!;
    const rows = (await db.query<{ id: string; scope_id: string }>(`SELECT ${key} AS id, scope_id FROM ${t(table)} WHERE session_id = $1 ORDER BY 1`, [sid])).rows;
    const row = rows[Math.floor(rnd() * rows.length)];
    if (!row) continue; // a session that ran no action
    const column = tables[table][Math.floor(rnd() * tables[table].length)]!;
    const before = (await db.query<{ v: string | null }>(`SELECT "${column.name}"::text AS v FROM ${t(table)} WHERE ${key} = $1`, [row.id])).rows[0]!.v;
    const others = (
      await db.query<{ v: string }>(`SELECT DISTINCT "${column.name}"::text AS v FROM ${t(table)} WHERE "${column.name}" IS NOT NULL AND "${column.name}"::text IS DISTINCT FROM $1 LIMIT 20`, [before])
    ).rows.map((r) => r.v);
    // A row's own id is changed to a new one: another row's would make it two rows to undo.
    const change = edit(rnd, column, column.name === key ? [] : others);
    const label = `edit ${i}: ${table}.${column.name} of ${row.id} ${change.what}`;
    let changed: Array<{ v: string | null; id: string }>;
    try {
      changed = (await db.query<{ v: string | null; id: string }>(`UPDATE ${t(table)} SET ${change.sql} WHERE ${key} = $1 RETURNING "${column.name}"::text AS v, ${key} AS id`, [row.id, ...change.params])).rows;
    } catch (err) {
      // The table itself refused (a NOT NULL or CHECK constraint): nothing changed to catch.
      caught.push(`${label}: refused by the table (${(err as Error).message.slice(0, 60)})`);
      continue;
    }
    assert.equal(changed.length, 1, label);
    // The edit may have been to the row's own id.
    const { v: after, id: nowId } = changed[0]!;
    try {
      if (after === before) continue;
      const report = await rt.client.verify(sid);
      assert.ok(report.problems.length > 0, `${label}: verify found nothing`);
      assert.ok(
        report.problems.some((p) => p.scopeId === row.scope_id),
        `${label}: verify named ${report.problems.map((p) => `${p.problem} ${p.scopeId}`).join(', ')}, not ${row.scope_id}`,
      );
      caught.push(`${label}: ${[...new Set(report.problems.map((p) => p.problem))].join(', ')}`);
    } finally {
      await db.query(`UPDATE ${t(table)} SET "${column.name}" = $2::${column.type} WHERE ${key} = $1`, [nowId, before]);
    }
    if (i % 10 === 9) assert.deepEqual((await rt.client.verify(sid)).problems, [], `${sid} verifies clean once ${label} is undone`);
  }
  for (const sid of sessions) assert.deepEqual((await rt.client.verify(sid)).problems, [], `${sid} verifies clean after every edit was undone`);
  tc.diagnostic(caught.join('\n'));
  assert.ok(caught.length >= EDITS / 2, `most edits changed something: ${caught.length} of ${EDITS}`);
});
