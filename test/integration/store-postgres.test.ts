/** The SQL store against the real Postgres server: idempotent upserts and the indexed descendants query. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openTestStore, dropTestSchema, TEST_DATABASE_URL, usesPglite } from '../helpers/runtime';
import type { Store } from '../../store/types';
import { openPostgresStore, postgresExecutor } from '../../store/postgres';
import { EndedRuns, EndedRunsFirst } from '../../worker/ended-runs';
import { SqlStore, readAction, type SqlExecutor } from '../../store/sql-store';
import { chainGenesis, verifyChains } from '../../store/chain';
import { CommittedActionCache } from '../../worker/committed-actions';
import { Recorder } from '../../worker/recorder';
import { Spool } from '../../worker/spool';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proxyDatabase } from '../helpers/tcp-proxy';
import { observedExecutor } from '../helpers/observed-executor';
import { slowWrites } from '../helpers/delayed-store';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { textCodec } from '../../store/text-codec';
import { encodeBatch } from '../../store/encoded-records';
import { AesGcmCodec } from '../fixtures/aes-codec';
import { digest } from '../../store/digest';
import { until } from '../helpers/until';

let store: Store;
let schema: string;
before(async () => {
  ({ store, schema } = await openTestStore());
});
after(async () => {
  await store?.close();
  if (schema) await dropTestSchema(schema);
});

function scope(id: string, parent: ScopeRecord | null, status: ScopeRecord['status'] = 'success'): ScopeRecord {
  return {
    scopeId: id, sessionId: 's', namespace: 'default', parentScopeId: parent?.scopeId ?? null, handoffFromScopeId: null,
    kind: parent ? 'delegation' : 'root', agent: 'a', agentVersion: '1', delegatedBy: parent ? 'a' : null, objective: null,
    allowance: null, depth: parent ? parent.depth + 1 : 0, path: `${parent?.path ?? '/'}${id}/`, status, recovered: false,
    error: null, startedAt: '2026-01-01T00:00:00.000Z', endedAt: status === 'running' ? null : '2026-01-01T00:00:01.000Z',
    workflowId: id, runId: `r-${id}`,
  };
}

function action(id: string, scopeId: string, status: ActionRecord['status'] = 'success'): ActionRecord {
  return {
    actionId: id, scopeId, sessionId: 's', namespace: 'default', agent: 'a', kind: 'tool_call', name: 't', attempt: 1,
    resources: [], inputDigest: null, outputDigest: null, status, error: null, startedAt: '2026-01-01T00:00:00.500Z',
    endedAt: status === 'running' ? null : '2026-01-01T00:00:00.600Z', workflowId: scopeId, runId: `r-${scopeId}`,
    activityId: '1', targetScopeId: null, attributes: {},
  };
}

test('upserts are idempotent and a late running copy never regresses a finished row', async () => {
  const root = scope('s', null);
  await store.upsertScopes([root, root]);
  await store.upsertActions([action('s/a1#1', 's')]);
  await store.upsertActions([action('s/a1#1', 's', 'running')]);
  await store.upsertScopes([{ ...root, status: 'running', endedAt: null }]);
  assert.equal((await store.scopesOfSession('s')).length, 1);
  assert.equal((await store.getScope('s'))?.status, 'success');
  const actions = await store.actionsOfSession('s');
  assert.equal(actions.length, 1);
  assert.equal(actions[0]!.status, 'success');
});

test('sessionHasScopes answers for the session id as stored, in this store\'s namespace only', async () => {
  const id = `has-${Date.now()}`;
  assert.equal(await store.sessionHasScopes(id), false);
  await store.upsertScopes([{ ...scope(id, null), sessionId: id }]);
  assert.equal(await store.sessionHasScopes(id), true);
  // A prefix, a pattern or another case names no session of the store.
  for (const other of [id.slice(0, -1), `${id.slice(0, 4)}%`, id.toUpperCase()]) assert.equal(await store.sessionHasScopes(other), false, other);
  if (usesPglite()) return; // an embedded store in memory is one namespace's alone
  const elsewhere = await openTestStore('elsewhere', TEST_DATABASE_URL, schema);
  try {
    assert.equal(await elsewhere.store.sessionHasScopes(id), false, 'another namespace has no such session');
  } finally {
    await elsewhere.store.close();
  }
});

test('the descendants query uses the materialized-path index, not a scan', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  // 20 000 scopes in 200 trees of depth 3 and fan-out ~10, plus an action each.
  // Loaded straight into the month's partitions, as a bulk load would.
  await (store as SqlStore).preparePartitions('2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z');
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`
      INSERT INTO "${schema}".scopes (scope_id, session_id, namespace, kind, agent, agent_version, depth, path, status, started_at, workflow_id, run_id, session_started_at)
      SELECT id, 'bulk-' || (g / 100), 'default', 'delegation', 'a', '1', 2, '/bulk-' || (g / 100) || '/b' || (g / 10) || '/' || id || '/',
             'success', now(), id, 'r', '2026-03-01T12:00:00Z'
      FROM (SELECT g, 'bulk-' || (g / 100) || '.' || (g / 10) || '.' || g AS id FROM generate_series(1, 20000) g) t;
      INSERT INTO "${schema}".actions (action_id, scope_id, session_id, namespace, agent, kind, name, attempt, status, started_at, workflow_id, run_id, session_started_at)
      SELECT scope_id || '/a1#1', scope_id, session_id, namespace, 'a', 'tool_call', 't', 1, 'success', now(), scope_id, 'r', session_started_at
      FROM "${schema}".scopes WHERE session_id LIKE 'bulk-%';
      ANALYZE "${schema}".scopes; ANALYZE "${schema}".actions;`);
  } finally {
    await client.end();
  }
  // Generated above as g = 750: path /bulk-7/b75/bulk-7.75.750/.
  const plan = await store.explainActionsUnder('bulk-7.75.750');
  // One month's partition, by its path index and its actions' scope index.
  assert.match(plan, /scopes_p202603_namespace_path_idx/, `plan:\n${plan}`);
  assert.doesNotMatch(plan, /Seq Scan on scopes|scopes_p2026(0[124-9]|1)/, `plan:\n${plan}`);
  assert.match(plan, /actions_p202603_(namespace_scope_id_started_at_idx|pkey)/, `plan:\n${plan}`);
});

test('actions read with their times as text are the records the driver\'s Dates give, in any session time zone', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  // Microseconds the records drop, a year before 1000, a leap second's neighbour, a time with an offset.
  const times = ['2026-01-01T00:00:00.123456Z', '2026-02-28T23:59:59.999999Z', '0999-12-31T23:59:59.5Z', '2026-03-01T05:30:00.000001+05:30'];
  const root: ScopeRecord = { ...scope('tz', null), sessionId: 'tz' };
  const child: ScopeRecord = { ...scope('tz.1', root), sessionId: 'tz' };
  await store.upsertScopes([root, child]);
  await store.upsertActions(
    times.flatMap((t, i) => [
      { ...action(`tz/a${i}#1`, 'tz'), sessionId: 'tz', startedAt: t, endedAt: i % 2 ? null : t },
      { ...action(`tz.1/a${i}#1`, 'tz.1'), sessionId: 'tz', startedAt: t, endedAt: t, status: 'running' as const },
    ]),
  );
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  const { rows } = await client.query(`SELECT * FROM "${schema}".actions WHERE session_id = 'tz' ORDER BY started_at, action_id`);
  await client.end();
  const viaDates = rows.map(readAction);
  assert.equal(viaDates.length, 8);
  for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns']) {
    const zoned = new SqlStore(postgresExecutor(`${TEST_DATABASE_URL}?options=${encodeURIComponent(`-c TimeZone=${zone}`)}`), zone, { schema });
    try {
      assert.deepStrictEqual(await zoned.actionsUnder('tz', { descendants: true }), viaDates, zone);
      const located = (await zoned.locateScope('tz'))!;
      assert.deepStrictEqual(await zoned.actionsUnder(located, { descendants: true }), viaDates, zone);
      assert.deepStrictEqual(await zoned.actionsUnder(located, { descendants: false }), viaDates.filter((a) => a.scopeId === 'tz'), zone);
      assert.deepStrictEqual(await zoned.scopesOfSession('tz', { sessionStartedAt: located.sessionStartedAt }), await store.scopesOfSession('tz'), zone);
    } finally {
      await zoned.close();
    }
  }
});

test('a batch large enough to be staged with COPY lands whole, and again idempotently', async () => {
  const big = Array.from({ length: 16_000 }, (_, i) => ({
    ...action(`big/a${i}#1`, 'big', i % 3 === 0 ? 'error' : 'success'),
    // Values COPY must escape: tabs, newlines, backslashes, quotes, non-ASCII, and a NUL the store replaces.
    error: i % 3 === 0 ? `line one\nline\ttwo \\ "quoted" é ${i}\u0000` : null,
    resources: [{ uri: `db:t/${i}`, mode: 'read' as const }],
  }));
  await store.upsertScopes([scope('big', null)]);
  await store.upsertActions(big);
  // A replay re-sends everything, some rows as late `running` copies: nothing doubles, nothing regresses.
  await store.upsertActions(big.map((a, i) => (i % 2 ? { ...a, status: 'running' as const, endedAt: null } : a)));
  const stored = await store.actionsUnder('big', { descendants: false });
  assert.equal(stored.length, big.length);
  const byId = new Map(stored.map((a) => [a.actionId, a]));
  for (const i of [0, 1, 2, 3, 7_999, 15_999]) {
    const want = big[i]!;
    const got = byId.get(want.actionId)!;
    assert.equal(got.status, want.status, `status of ${want.actionId}`);
    assert.equal(got.error, want.error === null ? null : want.error.replace('\u0000', '\uFFFD'), `error text of ${want.actionId}`);
    assert.deepEqual(got.resources, want.resources);
  }
});

test('a batch write: new rows go straight in, running rows are replaced by their finished ones, replays change nothing', async () => {
  const write = (batch: { scopes?: ScopeRecord[]; actions?: ActionRecord[] }) => store.writeBatch!(batch);
  const root = scope('wb', null);
  const ids = Array.from({ length: 300 }, (_, i) => `wb/a${i}#1`);
  // Running rows first, as a worker writes them when attempts start: all new.
  await write({ scopes: [{ ...root, status: 'running', endedAt: null }], actions: ids.map((id) => action(id, 'wb', 'running')) });
  // Then a batch mixing finished records of those rows with rows never seen before.
  const more = Array.from({ length: 250 }, (_, i) => action(`wb/b${i}#1`, 'wb'));
  await write({ scopes: [root], actions: [...ids.map((id) => action(id, 'wb')), ...more] });
  // A replay with late running copies of everything: nothing doubles, nothing regresses.
  await write({ scopes: [{ ...root, status: 'running', endedAt: null }], actions: [...ids, ...more.map((a) => a.actionId)].map((id) => action(id, 'wb', 'running')) });
  const stored = await store.actionsUnder('wb', { descendants: false });
  assert.equal(stored.length, 550);
  assert.deepEqual(new Set(stored.map((a) => a.status)), new Set(['success']));
  assert.equal((await store.getScope('wb'))?.status, 'success');
});

test('a guarded batch write waits for a sealer holding its scope, and decides on the seal that sealer committed', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const root = scope('guarded', null);
  await store.writeBatch!({ scopes: [root], actions: [action('guarded/a1#1', 'guarded')] });
  // A sealer in the middle of its transaction: the scope's row locked, its seal written, not yet committed.
  const sealer = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await sealer.connect();
  try {
    await sealer.query('BEGIN');
    await sealer.query(`SELECT 1 FROM "${schema}".scopes WHERE namespace = 'default' AND scope_id = 'guarded' FOR UPDATE`);
    await sealer.query(`UPDATE "${schema}".scopes SET chain_length = 1 WHERE namespace = 'default' AND scope_id = 'guarded'`);
    const late = action('guarded/a2#1', 'guarded');
    const seen: boolean[] = [];
    let settled = false;
    const writing = store
      .writeBatch!({ actions: [late] }, (found) => {
        const sealed = found.sealedScopes.has('default\u0000guarded');
        seen.push(sealed);
        return { actions: sealed ? [] : [late] };
      })
      .finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, false, 'the write waits while the sealer holds the scope');
    assert.deepEqual(seen, [], 'nothing is decided before the seal is committed or rolled back');
    await sealer.query('COMMIT');
    const receipt = await writing;
    assert.deepEqual(seen, [true], 'the guard saw the committed seal');
    assert.deepEqual(receipt.written?.actions, []);
    assert.deepEqual((await store.actionsUnder('guarded', { descendants: false })).map((a) => a.actionId), ['guarded/a1#1'], 'the late record stayed out of the sealed scope');
  } finally {
    await sealer.end();
  }
});

test('a batch write whose new rows another writer inserts first is merged, not refused', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  // Enough rows for the batch to take the COPY path (more than one statement carries: COPY_FROM_ROWS).
  const mine = Array.from({ length: 600 }, (_, i) => ({ ...action(`race/a${i}#1`, 'race'), sessionStartedAt: '2026-01-01T00:00:00.000Z' }));
  const other = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await other.connect();
  const insertRunning = (id: string) =>
    other.query(
      `INSERT INTO "${schema}".actions (action_id, scope_id, session_id, namespace, agent, kind, name, attempt, status, started_at, workflow_id, run_id, session_started_at)
       VALUES ($1, 'race', 's', 'default', 'a', 'tool_call', 't', 1, 'running', now(), 'race', 'r-race', '2026-01-01T00:00:00Z')`,
      [id],
    );
  // Another writer commits a running row of one of these actions just before this batch's
  // COPY of rows it takes for new (none of them was written by this store before), and
  // another one right after the second attempt has checked which keys exist.
  const db = postgresExecutor(TEST_DATABASE_URL, 2);
  const raced: string[] = [];
  const racing: SqlExecutor = {
    ...db,
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          ...tx,
          query: async (sql, params, options) => {
            const result = await tx.query(sql, params, options);
            if (raced.length === 1 && sql.includes('WITH ORDINALITY')) {
              raced.push('after the check');
              await insertRunning('race/a5#1');
            }
            return result as never;
          },
          copy: async (table, columns, rows) => {
            if (raced.length === 0) {
              raced.push('before the first COPY');
              await insertRunning('race/a4#1');
            }
            return tx.copy!(table, columns, rows);
          },
        }),
      ),
  };
  const racer = new SqlStore(racing, 'racing', { schema });
  try {
    await racer.writeBatch({ actions: mine });
  } finally {
    await racer.close();
    await other.end();
  }
  assert.deepEqual(raced, ['before the first COPY', 'after the check'], 'the other writer got in both times');
  const stored = await store.actionsUnder('race', { descendants: false });
  assert.equal(stored.length, 600);
  assert.deepEqual(new Set(stored.map((a) => a.status)), new Set(['success']), 'the finished records replaced the other writer\'s running rows');
});

test('a small batch goes as one statement in one round trip; a row another writer got in first sends it the merging way', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const db = postgresExecutor(TEST_DATABASE_URL, 2);
  const other = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await other.connect();
  const alone: string[] = [];
  let transactions = 0;
  let raceBefore: string | undefined;
  const watching: SqlExecutor = {
    ...db,
    query: async (sql, params, options) => {
      alone.push(sql.trim().split(/\s+/).slice(0, 2).join(' '));
      if (raceBefore && sql.startsWith('WITH')) {
        // Another writer commits a running row of one of the batch's actions first.
        await other.query(
          `INSERT INTO "${schema}".actions (action_id, scope_id, session_id, namespace, agent, kind, name, attempt, status, started_at, workflow_id, run_id, session_started_at)
           VALUES ($1, 'one', 's', 'default', 'a', 'tool_call', 't', 1, 'running', now(), 'one', 'r-one', '2026-01-01T00:00:00Z')`,
          [raceBefore],
        );
        raceBefore = undefined;
      }
      return db.query(sql, params, options) as never;
    },
    transaction: (fn, options) => {
      transactions += 1;
      return db.transaction(fn, options);
    },
  };
  const writer = new SqlStore(watching, 'one statement', { schema });
  try {
    const placed = <T,>(r: T) => ({ ...r, sessionStartedAt: '2026-01-01T00:00:00.000Z' });
    // The store's first write finds its month's partitions (their own transaction).
    await writer.writeBatch({ scopes: [placed(scope('one-warm', null))] });
    transactions = 0;
    alone.length = 0;
    const root = placed(scope('one', null, 'running'));
    const receipt = await writer.writeBatch({ scopes: [root], actions: [placed(action('one/a1#1', 'one', 'running')), placed(action('one/a2#1', 'one'))] });
    assert.deepEqual(alone.filter((s) => s.startsWith('WITH')).length, 1, 'one statement');
    assert.equal(transactions, 0, 'no transaction of BEGIN, statements and COMMIT');
    assert.match(receipt.xid ?? '', /^\d+$/, 'the receipt names the transaction that wrote the rows');
    const { rows: xmins } = await db.query<{ xmin: string }>(`SELECT xmin::text AS xmin FROM "${schema}".actions WHERE action_id LIKE 'one/%'`);
    assert.deepEqual([...new Set(xmins.map((r) => r.xmin))], [receipt.xid], 'every row carries that transaction\'s id');

    // The running row is replaced by its finished record; a3 is new to this store, but another writer inserts it first.
    raceBefore = 'one/a3#1';
    await writer.writeBatch({ scopes: [placed(scope('one', null))], actions: [placed(action('one/a1#1', 'one')), placed(action('one/a3#1', 'one'))] });
    assert.equal(transactions, 1, 'the unique violation sent the batch to a transaction that checks which rows exist');
    const stored = await writer.actionsUnder((await writer.locateScope('one'))!, { descendants: false });
    assert.deepEqual(stored.map((a) => [a.actionId, a.status]).sort(), [['one/a1#1', 'success'], ['one/a2#1', 'success'], ['one/a3#1', 'success']]);
    assert.equal((await writer.getScope('one'))?.status, 'success');
  } finally {
    await writer.close();
    await other.end();
  }
});

/** A one-connection executor made with `variable` set to `value` (unset when undefined); the environment is restored after. */
function executorWith(variable: string, value: string | undefined): SqlExecutor {
  const before = process.env[variable];
  if (value === undefined) delete process.env[variable];
  else process.env[variable] = value;
  try {
    return postgresExecutor(TEST_DATABASE_URL, 1);
  } finally {
    if (before === undefined) delete process.env[variable];
    else process.env[variable] = before;
  }
}

test('an idle pooled connection outlives node-postgres\'s 10 s by default, and closes after SCOPETRAIL_PG_IDLE_TIMEOUT_MS', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const observer = new pg.Client(TEST_DATABASE_URL);
  await observer.connect();
  const open = async (pid: number) => (await observer.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;
  const backendOf = async (db: SqlExecutor) => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const short = executorWith('SCOPETRAIL_PG_IDLE_TIMEOUT_MS', '300');
  const kept = executorWith('SCOPETRAIL_PG_IDLE_TIMEOUT_MS', undefined);
  try {
    const [closing, staying] = [await backendOf(short), await backendOf(kept)];
    await until('the connection idle past 300 ms to close', async () => ((await open(closing)) ? undefined : true), 5_000);
    // Past node-postgres's own default: the pool must have been given the longer one.
    await new Promise((r) => setTimeout(r, 10_500));
    assert.equal(await open(staying), true, 'a connection idle for 10.5 s is still open under the default');
    assert.equal(await backendOf(kept), staying, 'and the next statement goes on it, not on a new backend');
  } finally {
    await short.close();
    await kept.close();
    await observer.end();
  }
});

test('SCOPETRAIL_PG_PREPARED_STATEMENTS=off: the same writes and reads, and no statement left prepared on the connection (a pooler in transaction mode)', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const prepared = async (switched: string | undefined, id: string) => {
    // One connection: the statements it prepared are visible to it alone.
    const db = executorWith('SCOPETRAIL_PG_PREPARED_STATEMENTS', switched);
    const other = new SqlStore(db, 'prepared', { schema });
    try {
      await other.writeBatch({ scopes: [scope(id, null)], actions: [action(`${id}/a1#1`, id, 'running')] });
      await other.writeBatch({ actions: [action(`${id}/a1#1`, id)] });
      const located = await other.locateScope(id);
      assert.deepEqual((await other.actionsUnder(located!, { descendants: true })).map((a) => [a.actionId, a.status]), [[`${id}/a1#1`, 'success']]);
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements`);
      return rows[0]!.n;
    } finally {
      await other.close();
    }
  };
  assert.ok((await prepared(undefined, 'prep-on')) > 0, 'by default the hot statements are prepared');
  assert.equal(await prepared('off', 'prep-off'), 0);
});

test('rows this store wrote as running are replaced by their finished records, and rows new to it are copied', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const db = postgresExecutor(TEST_DATABASE_URL, 2);
  const statements: string[] = [];
  const watching: SqlExecutor = {
    ...db,
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          ...tx,
          query: (sql, params, options) => (statements.push(sql.trim().split(/\s+/).slice(0, 2).join(' ')), tx.query(sql, params, options)),
          copy: (table, columns, rows) => (statements.push('COPY'), tx.copy!(table, columns, rows)),
        }),
      ),
  };
  const writer = new SqlStore(watching, 'watching', { schema });
  try {
    const start = (i: number) => ({ ...action(`guess/a${i}#1`, 'guess', 'running'), sessionStartedAt: '2026-01-01T00:00:00.000Z' });
    const end = (i: number) => ({ ...action(`guess/a${i}#1`, 'guess'), sessionStartedAt: '2026-01-01T00:00:00.000Z' });
    // More rows than one statement carries: the transaction's COPY path.
    await writer.writeBatch({ actions: Array.from({ length: 600 }, (_, i) => start(i)) });
    assert.ok(statements.includes('COPY') && !statements.some((s) => s.startsWith('SELECT u.i')), 'new rows: copied without asking the table');
    statements.length = 0;
    await writer.writeBatch({ actions: [...Array.from({ length: 600 }, (_, i) => end(i)), ...Array.from({ length: 600 }, (_, i) => start(600 + i))] });
    assert.ok(statements.includes('COPY'), 'the rows new to this store are copied');
    assert.ok(statements.some((s) => s.startsWith('INSERT INTO')), 'the rows it wrote as running are merged');
    assert.ok(!statements.some((s) => s.startsWith('SELECT u.i')), 'first time right: no second attempt that asks the table');
  } finally {
    await writer.close();
  }
  const stored = await store.actionsUnder('guess', { descendants: false });
  assert.equal(stored.length, 1200);
  assert.equal(stored.filter((a) => a.status === 'success').length, 600);
  assert.equal(stored.filter((a) => a.status === 'running').length, 600);
});

/** A second store on the test schema that counts full reads of action rows (the read-back held records avoid). */
function countingWriter(): { writer: SqlStore; readsBack: () => number } {
  const db = postgresExecutor(TEST_DATABASE_URL, 2);
  let reads = 0;
  const counting = observedExecutor(db, (sql) => {
    if (/FROM \S*actions a\s+WHERE a\.namespace = \$2 AND a\.scope_id = ids\.scope_id AND a\.session_started_at = ids\.started\s+AND a\.session_started_at BETWEEN \$4 AND \$5 OFFSET 0/.test(sql)) reads += 1;
  });
  return { writer: new SqlStore(counting, 'counting', { schema }), readsBack: () => reads };
}

test('on Postgres, a scope is sealed from the records its writer committed, with the chain reading back would give', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const { writer, readsBack } = countingWriter();
  const cache = new CommittedActionCache();
  try {
    const root = { ...scope('held', null), sessionId: 'held' };
    const records = Array.from({ length: 250 }, (_, i) => ({ ...action(`held/a${i}#1`, 'held'), sessionId: 'held', startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString() }));
    for (const batch of [{ actions: records.map((a) => ({ ...a, status: 'running' as const, endedAt: null })) }, { actions: records, scopes: [root] }]) {
      const { xid } = await writer.writeBatch(batch);
      cache.committed(batch, xid!);
    }
    await writer.sealScopes([{ namespace: 'default', scopeId: 'held' }], undefined, cache);
    assert.equal(readsBack(), 0, 'no action row was read back');
    const chains = await store.chainsOfSession('held');
    assert.equal(chains.chains[0]!.chainLength, 250);
    assert.deepEqual(verifyChains('held', chains).problems, []);
  } finally {
    await writer.close();
  }
});

/** The statements every node-postgres client of this process sends while `run` runs (COPY, BEGIN and COMMIT included). */
async function statementsDuring(run: () => Promise<void>): Promise<number> {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  let sent = 0;
  (pg.Client.prototype as { query: unknown }).query = function (this: pg.Client, ...args: unknown[]) {
    sent += 1;
    return query.apply(this, args);
  };
  try {
    await run();
  } finally {
    (pg.Client.prototype as { query: unknown }).query = query;
  }
  return sent;
}

test('on Postgres, sealing a few scopes from held records takes six round trips, its links and usage rollup included', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const { writer } = countingWriter();
  const cache = new CommittedActionCache();
  try {
    // Under load a sealing pass holds a few sessions' scopes, and each round trip costs the worker and Postgres more than its rows.
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString();
    // As a worker's records do, each carries its session's start, and so do the keys it seals with.
    const sessionStartedAt = at(0);
    const root = { ...scope('trips', null), sessionId: 'trips', agent: 'trips_parent', sessionStartedAt };
    const child = { ...scope('trips.1', root), sessionId: 'trips', agent: 'trips_child', delegatedBy: 'trips_parent', sessionStartedAt };
    const batch = {
      scopes: [root, child],
      actions: [
        { ...action('trips/d#1', 'trips'), sessionId: 'trips', agent: 'trips_parent', kind: 'delegate' as const, name: 'trips_child', targetScopeId: 'trips.1', startedAt: at(1), sessionStartedAt },
        ...[1, 2, 3].map((i) => ({ ...action(`trips.1/a${i}#1`, 'trips.1'), sessionId: 'trips', agent: 'trips_child', startedAt: at(10 + i), sessionStartedAt })),
      ],
    };
    const { xid } = await writer.writeBatch(batch);
    cache.committed(batch, xid!);
    const sent = await statementsDuring(() => writer.sealScopes([root, child].map((s) => ({ namespace: 'default', scopeId: s.scopeId, sessionStartedAt })), undefined, cache));
    // BEGIN with the jit setting, the lock, the held records' proof, the links and rollup with the UPDATE's settings, the UPDATE, COMMIT.
    assert.equal(sent, 6);
    const chains = await store.chainsOfSession('trips');
    assert.deepEqual(chains.chains.map((c) => c.chainLength).sort(), [1, 3]);
    assert.deepEqual(verifyChains('trips', chains).problems, []);
    // Sealed scopes are counted from the rollup alone: the edge is there only if the combined statement wrote it.
    const { edges, scopes } = await store.agentUsage();
    assert.deepEqual(edges.filter((e) => e.parentAgent === 'trips_parent').map((e) => [e.parentAgent, e.childAgent, e.count]), [['trips_parent', 'trips_child', 1]]);
    assert.equal(scopes.filter((g) => g.agent.startsWith('trips_')).reduce((n, g) => n + g.count, 0), 2);
    assert.deepEqual((await writer.usageDifferences()).filter((d) => d.keys.some((k) => k.startsWith('trips_'))), []);
  } finally {
    await writer.close();
  }
});

test('on Postgres, a sealer with more ended scopes than a transaction takes hashes the next ones while it writes, and every chain verifies', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const { writer, readsBack } = countingWriter();
  const recorder = new Recorder(writer, { sealer: { maxBatch: 4 } });
  try {
    const scopes = Array.from({ length: 12 }, (_, i) => ({ ...scope(`ahead${i}`, null), sessionId: 'ahead' }));
    await Promise.all(
      scopes.map((s) => recorder.write({ scopes: [s], actions: [1, 2, 3].map((n) => ({ ...action(`${s.scopeId}/a${n}#1`, s.scopeId), sessionId: 'ahead', activityId: String(n) })) })),
    );
    assert.equal(await recorder.sealer.drain(), true);
    assert.ok(recorder.sealer.hashedAhead > 0, 'scopes of later transactions were hashed ahead');
    assert.equal(readsBack(), 0, 'no action row was read back');
    const chains = await store.chainsOfSession('ahead');
    assert.deepEqual(chains.chains.map((c) => c.chainLength), scopes.map(() => 3));
    assert.deepEqual(verifyChains('ahead', chains).problems, []);
  } finally {
    recorder.stop();
    await writer.close();
  }
});

test('on Postgres, a commit larger than the cache has the scopes that end whole in it hashed while Postgres writes it, and they are sealed from those chains', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const { writer, readsBack } = countingWriter();
  const slow = slowWrites(writer, 50);
  const recorder = new Recorder(slow, { sealer: { maxHeldRecords: 100 } });
  try {
    const session = 'overflow';
    const scopes = Array.from({ length: 40 }, (_, i) => ({ ...scope(`${session}${i}`, null), sessionId: session }));
    await Promise.all(
      scopes.map((s) => recorder.write({ scopes: [s], actions: Array.from({ length: 10 }, (_, k) => ({ ...action(`${s.scopeId}/a${k}#1`, s.scopeId), sessionId: session, activityId: String(k) })) })),
    );
    assert.ok(recorder.sealer.committed.size <= 100, `the cache stays bounded: ${recorder.sealer.committed.size}`);
    assert.equal(recorder.sealer.hashedAhead, 40, 'every scope was hashed while its commit was written');
    assert.equal(await recorder.sealer.drain(), true);
    assert.equal(readsBack(), 0, 'sealed from the chains: no action row was read back');
    const chains = await store.chainsOfSession(session);
    assert.deepEqual(chains.chains.map((c) => c.chainLength), scopes.map(() => 10));
    assert.deepEqual(verifyChains(session, chains).problems, []);
  } finally {
    recorder.stop();
    await writer.close();
  }
});

test('on Postgres, a burst of writes goes first: at half the cache held for ended scopes their records are hashed ahead and compacted, and sealed beside the writes only once the chains fill it', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  /** Writes `n` ended scopes of 10 actions one after another (the write path stays busy). */
  const burst = async (session: string, n: number, heldBound: number | undefined, busyMaxBatch?: number) => {
    const { writer, readsBack } = countingWriter();
    // A cache of 400 records: with the default bound (200), hashing ahead starts at the twentieth scope;
    // a hashed scope of 10 actions counts as 2, so about 100 of them fill the bound.
    const recorder = new Recorder(writer, { sealer: { maxHeldRecords: 400, maxDelayMs: 60_000, maxBacklog: 1_000_000, maxHeldBacklog: heldBound, busyMaxBatch } });
    try {
      for (let i = 0; i < n; i++) {
        const s = { ...scope(`${session}${i}`, null), sessionId: session };
        await recorder.write({ scopes: [s], actions: Array.from({ length: 10 }, (_, k) => ({ ...action(`${s.scopeId}/a${k}#1`, s.scopeId), sessionId: session, activityId: String(k) })) });
      }
      const duringWrites = { sealed: recorder.sealer.sealed, hashedAhead: recorder.sealer.hashedAhead, held: recorder.sealer.committed.size };
      assert.equal(await recorder.sealer.drain(), true);
      const chains = await store.chainsOfSession(session);
      assert.equal(chains.chains.length, n);
      assert.deepEqual(verifyChains(session, chains).problems, []);
      return { ...duringWrites, readsBack: readsBack() };
    } finally {
      recorder.stop();
      await writer.close();
    }
  };
  const unbounded = await burst('burstwait', 80, 1_000_000_000);
  assert.equal(unbounded.sealed, 0, 'without the held bound the whole burst waits (maxDelayMs and maxBacklog are far)');
  // Past the cache's 400 records, each commit's scope is hashed while Postgres writes it (the last 40 of them).
  assert.ok(unbounded.hashedAhead > 0 && unbounded.hashedAhead <= 40, `only scopes of commits that found the cache full were hashed: ${unbounded.hashedAhead}`);
  assert.ok(unbounded.readsBack > 0, 'and the cache forgot records it held whole, which were read back');
  const compacted = await burst('burstheld', 80, undefined);
  assert.equal(compacted.sealed, 0, 'past half the cache, hashing ahead kept the held records under the bound: nothing sealed beside the writes');
  assert.ok(compacted.hashedAhead >= 20, `scopes hashed ahead beside the writes: ${compacted.hashedAhead}`);
  // The bound starts hashing at the sealer's next look (every 20 ms), so the writes between may pass it; the cache never fills.
  assert.ok(compacted.held < 400, `held ${compacted.held} of 400 (800 records written)`);
  assert.equal(compacted.readsBack, 0, 'sealed from their chains hashed ahead: none read back');
  // A lower bound and small batches beside the writes: the writes a sealing transaction lets by must not fill the
  // rest of the cache, even on a loaded machine (at the defaults that rest is 50 000 records).
  const filled = await burst('burstfull', 300, 100, 25);
  assert.ok(filled.sealed > 0, 'once the chains hashed ahead filled the bound, scopes were sealed while the writes went on');
  assert.equal(filled.readsBack, 0, 'sealed while their records or chains were held: none read back');
});

/** Rows a plan examined in tables whose name starts with one of `tables`: returned, plus those filtered out or rechecked away. */
function rowsExamined(plan: Record<string, unknown>, tables: readonly string[]): number {
  const loops = Number(plan['Actual Loops'] ?? 1);
  const relation = typeof plan['Relation Name'] === 'string' ? plan['Relation Name'] : '';
  const own = tables.some((t) => relation.startsWith(t))
    ? loops * (Number(plan['Actual Rows'] ?? 0) + Number(plan['Rows Removed by Filter'] ?? 0) + Number(plan['Rows Removed by Index Recheck'] ?? 0))
    : 0;
  const children = (plan['Plans'] as Record<string, unknown>[] | undefined) ?? [];
  return own + children.reduce((sum, child) => sum + rowsExamined(child, tables), 0);
}

/**
 * The plans of a sealer's statements, run again and rolled back: a transaction per sealing
 * transaction (each starts by setting `jit`), with the settings it made (`set_config`) made
 * again before the statements after them.
 */
async function replayedPlans(statements: ReadonlyArray<{ sql: string; params: unknown[] }>): Promise<Array<{ sql: string; plan: Record<string, unknown> }>> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  const plans: Array<{ sql: string; plan: Record<string, unknown> }> = [];
  try {
    await client.query('BEGIN');
    for (const { sql, params } of statements) {
      if (/^\s*SELECT set_config\('jit'/.test(sql)) {
        await client.query('ROLLBACK');
        await client.query('BEGIN');
      }
      if (/^\s*SELECT set_config\(/.test(sql)) {
        await client.query(sql, params);
        continue;
      }
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
      plans.push({ sql, plan: (rows[0]['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan });
    }
    await client.query('ROLLBACK');
  } finally {
    await client.end();
  }
  return plans;
}

/**
 * A store in a schema of its own with January 2026's partitions, whose sealing statements
 * (SELECT and UPDATE) are kept while `capture` runs, for replayedPlans.
 */
async function sealerOnFreshMonth(prefix: string, description: string) {
  const db = postgresExecutor(TEST_DATABASE_URL, 2);
  const fresh = `${prefix}_${Date.now().toString(36)}`;
  const statements: Array<{ sql: string; params: unknown[] }> = [];
  let capturing = false;
  const watched = observedExecutor(db, (sql, params) => {
    if (!capturing) return;
    if (/^\s*(SELECT|UPDATE)\s/i.test(sql)) statements.push({ sql, params: [...params] });
    // Inserts that end by changing settings (seal.ts): the settings are what the statements after them are planned with.
    const settings = /^\s*WITH\s[\s\S]*\)\s*(SELECT set_config\([^;]*)$/.exec(sql);
    if (settings) statements.push({ sql: settings[1]!, params: [] });
  });
  const writer = new SqlStore(watched, description, { schema: fresh });
  try {
    await writer.migrate();
    await writer.preparePartitions('2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z');
  } catch (err) {
    await writer.close();
    await dropTestSchema(fresh);
    throw err;
  }
  const capture = async (run: () => Promise<void>) => {
    capturing = true;
    try {
      await run();
    } finally {
      capturing = false;
    }
  };
  return { db, fresh, writer, statements, capture };
}

test('on Postgres, sealing a few scopes of a month that has no statistics yet reads their rows, not the month', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const { db, fresh, writer, statements, capture } = await sealerOnFreshMonth('t_nostats', 'no statistics');
  try {
    // A month's partition as it is before autovacuum first analyzes it.
    for (const table of ['scopes', 'actions']) await db.query(`ALTER TABLE "${fresh}".${table}_p202601 SET (autovacuum_enabled = false)`);
    const cache = new CommittedActionCache(1_000_000);
    const scopes = Array.from({ length: 300 }, (_, i) => ({ ...scope(`m${i}`, null), sessionId: `m${i}`, path: `/m${i}/` }));
    for (let b = 0; b < scopes.length; b += 30) {
      const batch = {
        scopes: scopes.slice(b, b + 30),
        actions: scopes.slice(b, b + 30).flatMap((s) => Array.from({ length: 10 }, (_, n) => ({ ...action(`${s.scopeId}/a${n}#1`, s.scopeId), sessionId: s.sessionId, activityId: String(n) }))),
      };
      const { xid } = await writer.writeBatch(batch);
      cache.committed(batch, xid!);
    }
    const keys = scopes.map((s) => ({ namespace: 'default', scopeId: s.scopeId }));
    await writer.sealScopes(keys.slice(0, 290), undefined, cache);
    await capture(async () => {
      await writer.sealScopes(keys.slice(290, 295), undefined, cache); // from held records, proven by a count
      await writer.sealScopes(keys.slice(295)); // read back
    });
    assert.ok(statements.some((st) => /count\(\*\)/.test(st.sql)), 'the held records were proven by a count');
    assert.ok(statements.some((st) => /FROM \S*actions a\s+WHERE a\.namespace = \$2 AND a\.scope_id = ids\.scope_id AND a\.session_started_at = ids\.started\s+AND a\.session_started_at BETWEEN \$4 AND \$5 OFFSET 0/.test(st.sql)), 'the other scopes were read back');
    for (const { sql, plan } of await replayedPlans(statements)) {
      const examined = rowsExamined(plan, ['actions']);
      // 5 scopes' 50 actions, looked up through an index or two: far from the month's 3 000.
      assert.ok(examined <= 150, `${examined} action rows examined by: ${sql.replace(/\s+/g, ' ').slice(0, 160)}`);
    }
    const sealed = await Promise.all(['m290', 'm299'].map((id) => writer.chainsOfSession(id)));
    for (const [i, chains] of sealed.entries()) {
      assert.equal(chains.chains[0]!.chainLength, 10);
      assert.deepEqual(verifyChains(['m290', 'm299'][i]!, chains).problems, []);
    }
  } finally {
    await writer.close();
    await dropTestSchema(fresh);
  }
});

test('on Postgres, once a month has statistics, sealing a batch of scopes still looks up their rows and their parents\' and delegations\', not the month\'s', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const { db, fresh, writer, statements, capture } = await sealerOnFreshMonth('t_stats', 'statistics');
  try {
    // A root that delegated to 4 000 scopes, each with a tool call: the lock query looks up
    // each sealed scope's parent and the action that delegated to it.
    const root = { ...scope('root', null), sessionId: 'stats' };
    const children = Array.from({ length: 4_000 }, (_, i) => ({ ...scope(`c${i}`, root), sessionId: 'stats' }));
    const delegations = children.map((c, i) => ({ ...action(`root/d${i}#1`, 'root'), sessionId: 'stats', kind: 'delegate' as const, name: c.agent, activityId: `d${i}`, targetScopeId: c.scopeId }));
    const cache = new CommittedActionCache(1_000_000);
    for (let b = 0; b < children.length; b += 500) {
      const part = children.slice(b, b + 500);
      const batch = {
        scopes: b === 0 ? [root, ...part] : part,
        actions: [...delegations.slice(b, b + 500), ...part.map((c) => ({ ...action(`${c.scopeId}/t#1`, c.scopeId), sessionId: 'stats' }))],
      };
      const { xid } = await writer.writeBatch(batch);
      cache.committed(batch, xid!);
    }
    for (const table of ['scopes', 'actions']) await db.query(`ANALYZE "${fresh}".${table}_p202601`);
    const keys = children.map((c) => ({ namespace: 'default', scopeId: c.scopeId }));
    await capture(async () => {
      await writer.sealScopes(keys.slice(1_000, 1_250), undefined, cache); // from held records, proven by a count
      await writer.sealScopes(keys.slice(3_000, 3_250)); // read back
    });
    assert.ok(statements.some((st) => /^\s*UPDATE/.test(st.sql)), 'the seals were written');
    for (const { sql, plan } of await replayedPlans(statements)) {
      // 250 scopes, their parent and the delegations to them, through indexes or by place: far
      // from the month's 4 001 scopes and 8 000 actions (a hash join on the ids read them all).
      for (const table of ['scopes', 'actions']) {
        const examined = rowsExamined(plan, [table]);
        assert.ok(examined <= 1_000, `${examined} ${table} rows examined by: ${sql.replace(/\s+/g, ' ').slice(0, 160)}`);
      }
    }
    const chains = await writer.chainsOfSession('stats');
    const sealed = chains.chains.filter((c) => c.chainLength !== null);
    assert.deepEqual(
      sealed.map((c) => c.scope.scopeId).sort(),
      [...keys.slice(1_000, 1_250), ...keys.slice(3_000, 3_250)].map((k) => k.scopeId).sort(),
    );
    assert.ok(sealed.every((c) => c.chainLength === 1));
    assert.deepEqual(verifyChains('stats', { ...chains, chains: sealed }).problems, []);
  } finally {
    await writer.close();
    await dropTestSchema(fresh);
  }
});

/** The partitions a plan reaches, by name (a partition left out when the statement started is not in it). */
function relationsIn(plan: Record<string, unknown>): string[] {
  const own = typeof plan['Relation Name'] === 'string' ? [plan['Relation Name']] : [];
  return [...own, ...((plan['Plans'] as Record<string, unknown>[] | undefined) ?? []).flatMap(relationsIn)];
}

test('on Postgres, sealing with keys that carry the session\'s start reaches that month\'s partitions alone, with six months kept', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const { fresh, writer, statements, capture } = await sealerOnFreshMonth('t_months', 'months');
  try {
    await writer.preparePartitions('2026-01-01T00:00:00Z', '2026-06-30T00:00:00Z');
    const sessionStartedAt = '2026-03-10T00:00:00.000Z';
    const root = { ...scope('mroot', null), sessionId: 'months', sessionStartedAt };
    const children = Array.from({ length: 6 }, (_, i) => ({ ...scope(`mc${i}`, root), sessionId: 'months', sessionStartedAt }));
    const batch = {
      scopes: [root, ...children],
      actions: children.flatMap((c, i) => [
        { ...action(`mroot/d${i}#1`, 'mroot'), sessionId: 'months', kind: 'delegate' as const, name: c.agent, activityId: `d${i}`, targetScopeId: c.scopeId, sessionStartedAt },
        { ...action(`${c.scopeId}/t#1`, c.scopeId), sessionId: 'months', sessionStartedAt },
      ]),
    };
    const cache = new CommittedActionCache(1_000_000);
    const { xid } = await writer.writeBatch(batch);
    cache.committed(batch, xid!);
    const keys = children.map((c) => ({ namespace: 'default', scopeId: c.scopeId, sessionStartedAt }));
    await capture(async () => {
      await writer.sealScopes(keys.slice(0, 3), undefined, cache); // from held records, proven by a count
      await writer.sealScopes(keys.slice(3)); // read back
    });
    const reached = new Set<string>();
    for (const { plan } of await replayedPlans(statements)) for (const r of relationsIn(plan)) reached.add(r);
    const partitions = [...reached].filter((r) => /_p\d{6}$/.test(r));
    assert.ok(partitions.some((r) => r.startsWith('scopes_')) && partitions.some((r) => r.startsWith('actions_')), [...reached].join(' '));
    assert.deepEqual(partitions.filter((r) => !r.endsWith('_p202603')), [], 'no other month\'s partition is reached');
    const chains = await writer.chainsOfSession('months');
    assert.deepEqual(chains.chains.filter((c) => c.chainLength === 1).map((c) => c.scope.scopeId).sort(), keys.map((k) => k.scopeId).sort());
  } finally {
    await writer.close();
    await dropTestSchema(fresh);
  }
});

test('a scope\'s links keep action ids of any text: quotes, backslashes, commas, braces, tabs, newlines, NULL', async () => {
  const root = { ...scope('odd', null), sessionId: 'odd' };
  const ids = ['odd/a"b#1', 'odd/c\\d#1', 'odd/e,f#1', 'odd/{g}#1', 'odd/h\ti#1', 'odd/j\nk#1', 'NULL', ' odd space ', 'odd/ü☃#1', "odd/'q'#1", '\\N'];
  const records = ids.map((id, i) => ({ ...action(id, 'odd'), sessionId: 'odd', startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString() }));
  await store.writeBatch!({ scopes: [root], actions: records });
  await store.sealScopes!([{ namespace: 'default', scopeId: 'odd' }]);
  const chains = await store.chainsOfSession('odd');
  assert.equal(chains.chains[0]!.chainLength, ids.length);
  assert.deepEqual(chains.chains[0]!.actions.map((a) => [a.record.actionId, a.seq]), ids.map((id, i) => [id, i + 1]));
  assert.deepEqual(verifyChains('odd', chains).problems, []);
});

test('a store sealed before per-scope links (migration 014) upgrades: its months get the new table, old links verify, a month still prunes whole', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const db = postgresExecutor(TEST_DATABASE_URL, 2);
  const upgraded = `t_up_${Date.now().toString(36)}`;
  const writer = new SqlStore(db, 'upgrade', { schema: upgraded });
  const t = (name: string) => `"${upgraded}".${name}`;
  try {
    await writer.migrate();
    // Two sessions in two months, sealed; then rewritten as a store before 014 kept them.
    const sessions = [['jan', '2026-01-05T00:00:00.000Z'], ['feb', '2026-02-05T00:00:00.000Z']] as const;
    for (const [sid, at] of sessions) {
      const root = { ...scope(sid, null), sessionId: sid, startedAt: at, endedAt: at, sessionStartedAt: at };
      const records = [0, 1, 2].map((i) => ({ ...action(`${sid}/a${i}#1`, sid), sessionId: sid, startedAt: at, endedAt: at, sessionStartedAt: at }));
      await writer.writeBatch({ scopes: [root], actions: records });
      await writer.sealScopes([{ namespace: 'default', scopeId: sid }]);
    }
    await db.query(
      `INSERT INTO ${t('action_chain')} (namespace, session_id, scope_id, chain_seq, action_id, prev_hash, hash, session_started_at)
       SELECT c.namespace, c.session_id, c.scope_id, i, c.action_ids[i], CASE WHEN i = 1 THEN g.genesis ELSE c.hashes[i - 1] END, c.hashes[i], c.session_started_at
         FROM ${t('scope_chains')} c CROSS JOIN LATERAL generate_subscripts(c.action_ids, 1) AS i
         JOIN unnest($1::text[], $2::text[]) AS g(scope_id, genesis) ON g.scope_id = c.scope_id`,
      [sessions.map(([sid]) => sid), sessions.map(([sid]) => chainGenesis({ namespace: 'default', scopeId: sid }))],
    );
    await db.exec(`DROP TABLE ${t('scope_chains')}; DELETE FROM ${t('migrations')} WHERE version = 14;`);

    await writer.migrate();
    const { rows } = await db.query<{ relname: string }>(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND p.relname = 'scope_chains' ORDER BY 1`,
      [upgraded],
    );
    assert.deepEqual(rows.map((r) => r.relname), ['scope_chains_p202601', 'scope_chains_p202602']);
    for (const [sid] of sessions) assert.deepEqual(verifyChains(sid, await writer.chainsOfSession(sid)).problems, [], `${sid} verifies from its old links`);

    const dropped = await writer.retention().dropMonth(Date.UTC(2026, 0, 1), new Date('2026-02-01T00:00:00.000Z'));
    assert.equal(dropped.length, 1);
    assert.deepEqual((await writer.retention().months()).map((m) => new Date(m).toISOString().slice(0, 7)), ['2026-02']);
    assert.deepEqual(verifyChains('feb', await writer.chainsOfSession('feb')).problems, []);
  } finally {
    await db.exec(`DROP SCHEMA IF EXISTS "${upgraded}" CASCADE`);
    await writer.close();
  }
});

test('a connection lost in the middle of a transaction fails that transaction and nothing else', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const { proxy, url } = await proxyDatabase(TEST_DATABASE_URL);
  const db = postgresExecutor(url, 2);
  const uncaught: unknown[] = [];
  const record = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', record);
  try {
    const running = db.transaction((tx) => tx.query('SELECT pg_sleep(5)'));
    await new Promise((r) => setTimeout(r, 300));
    await proxy.cut();
    await assert.rejects(running, /ECONNRESET|Connection terminated|connection/i);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(uncaught, [], 'the lost connection surfaced only as the transaction failing');
    await proxy.restore();
    // The broken client was not handed back: the pool opens a fresh one.
    const { rows } = await db.transaction((tx) => tx.query<{ one: number }>('SELECT 1 AS one'));
    assert.equal(rows[0]?.one, 1);
  } finally {
    process.off('uncaughtException', record);
    await db.close();
    await proxy.close();
  }
});

test('statements a transaction sends without waiting run one at a time, in order, before its commit or rollback', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const db = postgresExecutor(TEST_DATABASE_URL, 2);
  const warnings: Error[] = [];
  const warned = (w: Error) => warnings.push(w);
  process.on('warning', warned);
  const table = `"${schema}".sent_in_turn`;
  try {
    await db.exec(`CREATE TABLE ${table} (n int)`);
    // Sent at once: the driver must never see a second query while one runs (deprecated in pg 8, gone in 9).
    await db.transaction(async (tx) => {
      const sent = [1, 2, 3].map((n) => tx.query(`INSERT INTO ${table} SELECT $1::int WHERE (SELECT count(*) FROM ${table}) = $1::int - 1`, [n]));
      void tx.query(`INSERT INTO ${table} VALUES (4)`); // not awaited: still runs before COMMIT
      await Promise.all(sent);
    });
    const { rows } = await db.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`);
    assert.deepEqual(rows.map((r) => r.n), [1, 2, 3, 4], 'each saw the one before it, and the last was committed');
    // A failing statement fails the transaction; one sent after it runs (and fails) before the rollback.
    const failing = db.transaction(async (tx) => {
      const bad = tx.query(`INSERT INTO ${table} VALUES ('not a number')`);
      const after = tx.query(`INSERT INTO ${table} VALUES (5)`);
      after.catch(() => undefined);
      await bad;
    });
    await assert.rejects(failing, /invalid input syntax/);
    assert.equal((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n, '4', 'nothing of the failed transaction stayed');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.filter((w) => w.name === 'DeprecationWarning').map((w) => w.message), []);
  } finally {
    process.off('warning', warned);
    await db.exec(`DROP TABLE IF EXISTS ${table}`);
    await db.close();
  }
});

test('spooled records of a scope sealed meanwhile: an end the seal holds or a start behind it is dropped, another end or an earlier start is kept aside, and the seal stays whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scopetrail-late-scope-'));
  try {
    const ended = { ...scope('latescope', null), sessionId: 'latescope' };
    const actions = [1, 2].map((n) => ({ ...action(`latescope/a${n}#1`, 'latescope'), sessionId: 'latescope', activityId: String(n) }));
    await store.writeBatch!({ scopes: [ended], actions });
    await store.sealScopes([{ namespace: 'default', scopeId: 'latescope' }]);
    // What a worker cut off from the store left in its spool: the same end (the workflow's
    // worker wrote it too), the scope's start, and an end and a start the seal does not hold.
    const otherEnd = { ...ended, status: 'error' as const, error: 'the run failed', endedAt: '2026-01-01T00:00:05.000Z' };
    const earlierStart = { ...ended, status: 'running' as const, endedAt: null, startedAt: '2025-12-31T23:59:59.000Z' };
    const left = new Spool({ dir });
    left.append({ scopes: [ended, { ...ended, status: 'running', endedAt: null }] });
    left.append({ scopes: [otherEnd] });
    left.append({ scopes: [earlierStart] });
    left.close();
    const alerts: string[] = [];
    const spool = new Spool({ dir });
    const recorder = new Recorder(store, { spool, drainEveryMs: 10, onError: () => undefined, onAlert: (m) => alerts.push(m) });
    await recorder.start();
    await recorder.drain();
    recorder.stop();
    assert.equal(recorder.quarantined, 2);
    assert.match(alerts.join('\n'), /QUARANTINED 1 spooled records whose scopes were sealed while they waited \(latescope\)/);
    const stored = await store.getScope('latescope');
    assert.deepEqual([stored?.status, stored?.error, stored?.startedAt, stored?.endedAt], ['success', null, ended.startedAt, ended.endedAt], 'the sealed scope row is as sealed');
    assert.deepEqual(verifyChains('latescope', await store.chainsOfSession('latescope')).problems, []);
    const kept = readFileSync(spool.quarantineFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; batch: { scopes: ScopeRecord[] } });
    assert.deepEqual(kept.map((k) => [k.batch.scopes[0]!.status, k.batch.scopes[0]!.error]), [['error', 'the run failed'], ['running', null]]);
    assert.match(kept[0]!.reason, /arrived after its scope was sealed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run known closed whose last task\'s end waits in the spool is sealed with that end, not with the end of a task Temporal refused that reached the store', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scopetrail-refused-end-'));
  const { proxy, url } = await proxyDatabase(TEST_DATABASE_URL);
  const through = openPostgresStore(url, { schema });
  const alerts: string[] = [];
  const recorder = new Recorder(through, { spool: new Spool({ dir }), retryForMs: 200, drainEveryMs: 60_000, onError: () => undefined, onAlert: (m) => alerts.push(m) });
  try {
    await recorder.start();
    const run = { namespace: 'default', workflowId: 'refusedend', runId: 'r-refusedend' };
    const ended = new EndedRuns();
    ended.add(run.namespace, run.runId);
    recorder.sealer.useRunStatus(new EndedRunsFirst(ended, { openRuns: async () => new Set() }));
    const base = { ...scope('refusedend', null), sessionId: 'refusedend', workflowId: run.workflowId, runId: run.runId };
    // The run's end as a workflow task wrote it whose completion Temporal refused (the run went on) ...
    await recorder.write({ scopes: [{ ...base, status: 'error', error: 'the refused task ended it', endedAt: '2026-01-01T00:00:01.000Z' }] });
    // ... and as the task Temporal accepted wrote it, spooled: the store was out of reach then.
    await proxy.cut();
    const accepted = { ...base, endedAt: '2026-01-01T00:00:07.000Z' };
    assert.equal(await recorder.write({ scopes: [accepted] }), 'spool');
    await proxy.restore();
    // The sealer's turn comes before the spool's: the run is known closed.
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(await recorder.sealer.drain(), false, 'nothing is sealed while the spool holds records');
    assert.equal((await store.getScope('refusedend'))?.status, 'error', 'the refused end is still unsealed in the store');
    await recorder.drain();
    const stored = await store.getScope('refusedend');
    assert.deepEqual([stored?.status, stored?.error, stored?.endedAt], ['success', null, accepted.endedAt], 'sealed with the accepted end');
    assert.equal(recorder.sealer.sealed, 1);
    assert.equal(recorder.quarantined, 0);
    assert.deepEqual(alerts.filter((a) => a.includes('QUARANTINED')), []);
    assert.deepEqual(verifyChains('refusedend', await store.chainsOfSession('refusedend')).problems, []);
  } finally {
    recorder.stop();
    await through.close();
    await proxy.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the outcome Temporal took late stands over the overrun row, whichever arrives last: in a batch, in a later upsert, from a spool before and after the seal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scopetrail-overrun-'));
  try {
    const session = (id: string) => ({ ...scope(id, null, 'running'), sessionId: id });
    // The worker counted the attempt as timed out; the server's timer fired late and took the outcome.
    const overrun = (id: string): ActionRecord => ({
      ...action(`${id}/a1#1`, id, 'error'), sessionId: id, error: 'attempt timed out: its start-to-close timeout (1000 ms) passed before the tool finished; it succeeded after 1200 ms, and Temporal discarded that outcome',
      attributes: { timedOut: true },
    });
    const accepted = (id: string): ActionRecord => ({ ...action(`${id}/a1#1`, id), sessionId: id, outputDigest: digest('out'), attributes: { finishedAfterDeadline: true } });
    const statusOf = async (id: string) => (await store.actionsOfSession(id)).map((a) => [a.status, a.attributes['finishedAfterDeadline'] ?? null]);

    await store.writeBatch!({ scopes: [session('ovb')], actions: [accepted('ovb'), overrun('ovb')] });
    assert.deepEqual(await statusOf('ovb'), [['success', true]], 'one batch holding both');
    await store.writeBatch!({ scopes: [session('ovu')], actions: [accepted('ovu')] });
    await store.writeBatch!({ actions: [overrun('ovu')] });
    await store.upsertActions([overrun('ovu')]);
    assert.deepEqual(await statusOf('ovu'), [['success', true]], 'a later write of the overrun row');
    await store.writeBatch!({ scopes: [session('ovr')], actions: [overrun('ovr')] });
    await store.writeBatch!({ actions: [accepted('ovr')] });
    assert.deepEqual(await statusOf('ovr'), [['success', true]], 'the accepted outcome still replaces the overrun row');

    // One worker spooled its overrun rows while the workflow's worker wrote the accepted ones;
    // one scope is still open when the spool drains, the other was sealed meanwhile.
    const sealed = { ...scope('ovs', null), sessionId: 'ovs' };
    await store.writeBatch!({ scopes: [session('ovo'), sealed], actions: [accepted('ovo'), accepted('ovs')] });
    await store.sealScopes([{ namespace: 'default', scopeId: 'ovs' }]);
    const left = new Spool({ dir });
    left.append({ actions: [overrun('ovo'), overrun('ovs')] });
    left.close();
    const alerts: string[] = [];
    const recorder = new Recorder(store, { spool: new Spool({ dir }), drainEveryMs: 10, onError: () => undefined, onAlert: (m) => alerts.push(m) });
    await recorder.start();
    await recorder.drain();
    recorder.stop();
    assert.deepEqual(await statusOf('ovo'), [['success', true]], 'drained into an open scope');
    assert.deepEqual(await statusOf('ovs'), [['success', true]], 'drained behind the seal');
    assert.equal(recorder.quarantined, 0, 'a superseded overrun row is not kept aside');
    assert.deepEqual(alerts, []);
    assert.deepEqual(verifyChains('ovs', await store.chainsOfSession('ovs')).problems, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with a payload codec that encrypts, a spooled copy of sealed records that another worker encoded is dropped, not quarantined, and a changed one still is', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scopetrail-late-codec-'));
  try {
    const codec = textCodec([new AesGcmCodec()]);
    const ended = { ...scope('latecodec', null, 'error'), sessionId: 'latecodec', objective: 'find the cause', error: 'the run failed' };
    const failed = { ...action('latecodec/a1#1', 'latecodec', 'error'), sessionId: 'latecodec', error: 'upstream timeout' };
    // The workflow's worker wrote (and relayed) them; the scope was sealed from those rows.
    await store.writeBatch!(await encodeBatch(codec, { scopes: [ended], actions: [failed] }));
    await store.sealScopes([{ namespace: 'default', scopeId: 'latecodec' }]);
    // The tool's worker, cut off, spooled its own encoding of the same records, and one that differs.
    const left = new Spool({ dir });
    left.append(await encodeBatch(codec, { scopes: [ended], actions: [failed] }));
    left.append(await encodeBatch(codec, { actions: [{ ...failed, error: 'connection reset' }] }));
    left.close();
    const alerts: string[] = [];
    const spool = new Spool({ dir });
    const recorder = new Recorder(store, { spool, textCodec: codec, drainEveryMs: 10, onError: () => undefined, onAlert: (m) => alerts.push(m) });
    await recorder.start();
    await recorder.drain();
    recorder.stop();
    assert.equal(recorder.quarantined, 1, alerts.join('\n'));
    const kept = readFileSync(spool.quarantineFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { batch: { actions: ActionRecord[] } });
    assert.deepEqual(await Promise.all(kept.flatMap((k) => k.batch.actions.map((a) => codec.decode(a.error!)))), ['connection reset']);
    assert.deepEqual(verifyChains('latecodec', await store.chainsOfSession('latecodec')).problems, [], 'the sealed rows were not written over');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a scope whose run left calls running is sealed once each has ended after it, or once its wait is over, and no value in the column fails the sealer', async () => {
  const key = (scopeId: string) => ({ namespace: 'default', scopeId });
  const sealedLength = async (sessionId: string) => (await store.chainsOfSession(sessionId)).chains[0]?.chainLength ?? null;
  // Now, not in the fixtures' past: a scope never waits longer than a day after its end.
  const t0 = Date.now() - 10_000;
  const at = (s: number) => new Date(t0 + s * 1_000).toISOString();
  const later = new Date(Date.now() + 60_000).toISOString();
  const root = (id: string, openCalls: ScopeRecord['openCalls']): ScopeRecord => ({
    ...scope(id, null), sessionId: id, startedAt: at(0), endedAt: at(1), ...(openCalls ? { openCalls } : {}),
  });
  const call = (sessionId: string, activityId: string, attempt: number, status: ActionRecord['status'], endedAt: string | null): ActionRecord => ({
    ...action(`${sessionId}/a${activityId}#${attempt}`, sessionId, status),
    sessionId, activityId, attempt, startedAt: at(0.5), endedAt,
  });

  // Attempt 1 failed before the end; attempt 2 was in flight and has no row yet.
  await store.upsertActions([call('oc1', '1', 1, 'error', at(0.7)), call('oc1', '2', 1, 'success', at(0.8))]);
  await store.upsertScopes([root('oc1', { activityIds: ['1'], until: later })]);
  await store.sealScopes([key('oc1')]);
  assert.equal(await sealedLength('oc1'), null, 'not sealed while the call in flight has recorded nothing');
  assert.deepEqual(await store.unsealedScopes(1_000_000).then((ks) => ks.filter((k) => k.scopeId === 'oc1')), [], 'nor swept');
  await store.upsertActions([call('oc1', '1', 2, 'running', null)]);
  await store.sealScopes([key('oc1')]);
  assert.equal(await sealedLength('oc1'), null, 'nor while its attempt runs');
  await store.upsertActions([call('oc1', '1', 2, 'success', at(4))]);
  await store.sealScopes([key('oc1')]);
  assert.equal(await sealedLength('oc1'), 3, 'sealed with the attempt that ended after the scope');
  assert.deepEqual(verifyChains('oc1', await store.chainsOfSession('oc1')).problems, []);

  // A call that never records again (its worker died): sealed once the wait is over.
  await store.upsertActions([call('oc2', '1', 1, 'running', null)]);
  await store.upsertScopes([root('oc2', { activityIds: ['1'], until: new Date(Date.now() - 1).toISOString() })]);
  assert.ok((await store.unsealedScopes(1_000_000)).some((k) => k.scopeId === 'oc2'), 'swept once its wait is over');
  await store.sealScopes([key('oc2')]);
  assert.equal(await sealedLength('oc2'), 1);

  // Whatever the column holds, the sealer's statement runs: a row it cannot read is left to verify, not waited for.
  // (Written around the recorder's check, as someone who can write the table would.)
  const odd = ['"text"', '[1, 2]', '{"until": 5}', '{"activityIds": "1", "until": "never"}', '{"activityIds": [1, null, {}], "until": "9999"}', '{}'];
  await store.upsertScopes(odd.map((value, i) => ({ ...root(`odd${i}`, undefined), openCalls: JSON.parse(value) as never })));
  await store.sealScopes(odd.map((_, i) => key(`odd${i}`)));
  await store.unsealedScopes(1_000);
  for (const i of odd.keys()) {
    const report = verifyChains(`odd${i}`, await store.chainsOfSession(`odd${i}`));
    assert.equal(report.problems[0]?.problem, 'invalid_row', `${odd[i]}: named as an invalid row`);
  }
});

test('a recount over the whole namespace is not held to the read timeout that every other statement has', { skip: usesPglite() }, async () => {
  // The pool's read timeout, shortened: verify-usage at 10 M rows takes minutes, far past the 30 s one.
  const db = postgresExecutor(TEST_DATABASE_URL, 2, 300);
  try {
    await assert.rejects(db.query('SELECT pg_sleep(0.6)', []), /timeout/i);
    await db.query('SELECT pg_sleep(0.6)', [], { long: true });
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_sleep(0.6)', [], { long: true });
    });
    // verify-usage's recount asks for it.
    const asked: Array<boolean | undefined> = [];
    const watching: SqlExecutor = { ...db, query: (sql, params, options) => (sql.includes('recounted') && asked.push(options?.long), db.query(sql, params, options)) };
    // Other tests of this file leave rows the rollup does not count; only the asking matters here.
    assert.ok(Array.isArray(await new SqlStore(watching, 'short timeout', { schema }).usageDifferences()));
    assert.deepEqual(asked, [true]);
  } finally {
    await db.close();
  }
});

test('a gap fill starts each rebuilt attempt no earlier than the attempt before it, and never moves a stored row\'s start', async () => {
  const at = (s: string) => `2026-01-01T00:00:${s}Z`;
  const sid = 'gapsort';
  const lost = (attempt: number): ActionRecord => ({
    ...action(`${sid}/a1#${attempt}`, sid), sessionId: sid, attempt, status: 'error', error: 'attempt ended without reporting its outcome',
    startedAt: at('01.000'), endedAt: at('09.000'), attributes: { reconstructed: true },
  });
  // Attempt 1 recorded its start; its worker died. Attempt 3 rebuilds 1 and 2 from the call's window (first scheduled at 01.000).
  await store.upsertActions([{ ...action(`${sid}/a1#1`, sid, 'running'), sessionId: sid, startedAt: at('02.500') }]);
  await store.fillActionGaps([lost(1), lost(2)]);
  const rows = new Map((await store.actionsOfSession(sid)).map((a) => [a.actionId, a]));
  assert.deepEqual([rows.get(`${sid}/a1#1`)?.startedAt, rows.get(`${sid}/a1#1`)?.endedAt, rows.get(`${sid}/a1#1`)?.status], [at('02.500'), at('09.000'), 'error']);
  assert.deepEqual([rows.get(`${sid}/a1#2`)?.startedAt, rows.get(`${sid}/a1#2`)?.endedAt], [at('02.500'), at('09.000')], 'attempt 2 starts no earlier than attempt 1');
  // Then the workflow rebuilds every attempt when Temporal gives up: rows already there keep their start; the new last one follows attempt 2.
  await store.fillActionGaps([lost(1), lost(2), { ...lost(3), endedAt: at('12.000') }]);
  const again = new Map((await store.actionsOfSession(sid)).map((a) => [a.actionId, a.startedAt]));
  assert.deepEqual([again.get(`${sid}/a1#1`), again.get(`${sid}/a1#2`), again.get(`${sid}/a1#3`)], [at('02.500'), at('02.500'), at('02.500')]);
});
