/** The SQL store on the embedded PGlite backend: the same SQL the Postgres backend runs. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../store';
import { SqlStore } from '../../store/sql-store';
import { refusedFor } from '../helpers/refused-option';
import type { Store } from '../../store/types';
import { action, scope } from './fixtures';
import { sessionSummary, summaryOfSession } from '../../cim/forensics/summary';
import { listSessions } from '../../client/forensic-queries';
import { sessionsSince } from '../../client/ocsf-export';

let store: Store;
let other: Store;
before(async () => {
  store = await openStore({ memory: true, url: undefined });
});
after(async () => {
  await store?.close();
  await other?.close();
});

test('migrations run once; running them again is harmless', async () => {
  await store.migrate();
  await store.migrate();
});

test('the descendants query follows the materialized path and is not fooled by id prefixes or LIKE wildcards', async () => {
  await store.upsertScopes([
    scope('s'),
    scope('s.1', { parentScopeId: 's', path: '/s/s.1/' }),
    scope('s.1.1', { parentScopeId: 's.1', path: '/s/s.1/s.1.1/' }),
    scope('s.10', { parentScopeId: 's', path: '/s/s.10/' }),
    scope('a_b', { sessionId: 'x', path: '/a_b/' }),
    scope('aXb', { sessionId: 'x', path: '/aXb/' }),
    scope('aXb.1', { sessionId: 'x', parentScopeId: 'aXb', path: '/aXb/aXb.1/' }),
  ]);
  await store.upsertActions([
    action('s/a1#1', 's'), action('s.1/a1#1', 's.1'), action('s.1.1/a1#1', 's.1.1'), action('s.10/a1#1', 's.10'),
    action('a_b/a1#1', 'a_b', { sessionId: 'x' }), action('aXb.1/a1#1', 'aXb.1', { sessionId: 'x' }),
    action('s.1/w1', 's.1', { kind: 'delegate', name: 'child', activityId: null, targetScopeId: 's.1.1' }),
  ]);
  const ids = async (scopeId: string, descendants: boolean, extra = {}) =>
    (await store.actionsUnder(scopeId, { descendants, ...extra })).map((a) => a.actionId).sort();
  assert.deepEqual(await ids('s.1', true), ['s.1.1/a1#1', 's.1/a1#1', 's.1/w1']);
  assert.deepEqual(await ids('s.1', false), ['s.1/a1#1', 's.1/w1']);
  assert.deepEqual(await ids('a_b', true), ['a_b/a1#1'], '_ is not a wildcard');
  assert.deepEqual(await ids('s.1', true, { kinds: ['delegate'] }), ['s.1/w1']);
  assert.deepEqual(await ids('s', true, { tool: 'tool' }), ['s.1.1/a1#1', 's.1/a1#1', 's.10/a1#1', 's/a1#1']);
  assert.deepEqual(await ids('nope', true), []);
});

test('same record twice is one row; a finished row is not regressed by a late running copy, even in one batch', async () => {
  const done = action('r/a1#1', 'r', { sessionId: 'r' });
  await store.upsertActions([done, done]);
  await store.upsertActions([{ ...done, status: 'running', endedAt: null }]);
  await store.upsertActions([done, { ...done, status: 'running', endedAt: null }]);
  const rows = await store.actionsOfSession('r');
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0], done);
  await store.upsertScopes([scope('r', { sessionId: 'r' }), scope('r', { sessionId: 'r', status: 'running', endedAt: null })]);
  assert.equal((await store.getScope('r'))?.status, 'success');
});

test('a running row is completed by its terminal record', async () => {
  const running = action('q/a1#1', 'q', { sessionId: 'q', status: 'running', endedAt: null });
  await store.upsertActions([running]);
  await store.upsertActions([{ ...running, status: 'error', error: 'boom', endedAt: '2026-01-01T00:00:00.300Z' }]);
  const [row] = await store.actionsOfSession('q');
  assert.equal(row?.status, 'error');
  assert.equal(row?.error, 'boom');
});

test('records of another namespace are invisible', async () => {
  other = await openStore({ memory: true, url: undefined, namespace: 'other' });
  await other.upsertScopes([scope('n', { sessionId: 'n', namespace: 'default' })]);
  await other.upsertScopes([scope('n', { sessionId: 'n', namespace: 'other', agent: 'theirs' })]);
  assert.equal((await other.getScope('n'))?.agent, 'theirs');
  assert.equal((await other.scopesOfSession('n')).length, 1);
});

test('manifests round-trip and sessions list newest first', async () => {
  await store.upsertManifests([{ name: 'a', version: '1', tools: ['t'], subAgents: [], resources: ['x*'] }]);
  await store.upsertManifests([{ name: 'a', version: '1', tools: ['t', 'u'], subAgents: [] }]);
  assert.deepEqual(await store.manifests(), [{ name: 'a', version: '1', tools: ['t', 'u'], subAgents: [] }]);
  await store.upsertScopes([
    scope('old', { sessionId: 'old', startedAt: '2025-01-01T00:00:00.000Z' }),
    scope('new', { sessionId: 'new', startedAt: '2027-01-01T00:00:00.000Z', agent: 'special' }),
  ]);
  // Newest first; sessions that started at the same moment come in id order.
  assert.deepEqual(await store.listSessions({ limit: 3 }), ['new', 'r', 's']);
  assert.deepEqual(await store.listSessions({ limit: 10, agent: 'special' }), ['new']);
  assert.deepEqual(await store.listSessions({ limit: 10, since: '2026-06-01T00:00:00.000Z' }), ['new']);
});

test('a bad schema name or URL is refused naming the field', async () => {
  await assert.rejects(openStore({ memory: true, schema: 'Robert"); DROP TABLE x;--' }), /invalid field "schema"/);
  await assert.rejects(openStore({ url: 'mysql://x' }), /invalid field "url"/);
});

test('the refusal is the TypeError it always was, with the field as a property, as scopetrail\'s other validation errors have it', async () => {
  await assert.rejects(openStore({ memory: true, schema: 'Bad' }), refusedFor('schema', /^openStore: invalid field "schema": must be a lowercase SQL identifier$/));
  await assert.rejects(openStore({ url: 'mysql://x' }), refusedFor('url', /^openStore: invalid field "url": /));
  await assert.rejects(openStore({ memory: true, migrate: 'yes' as never }), refusedFor('migrate', /^openStore: invalid field "migrate": /));
  // Two places to write: one would be ignored, and the records would land where nobody looks.
  await assert.rejects(openStore({ url: 'postgres://127.0.0.1:1/x', memory: true }), refusedFor('memory', /give one of url, dataDir and memory: true, not url and memory/));
  await assert.rejects(openStore({ url: 'postgres://127.0.0.1:1/x', dataDir: '/tmp/x' }), refusedFor('dataDir', /not url and dataDir/));
  await assert.rejects(openStore({ dataDir: '/tmp/x', memory: true }), refusedFor('memory', /not dataDir and memory/));
  await assert.rejects(openStore('postgres://x' as never), refusedFor('options', /^openStore: invalid field "options": give an object, e\.g\. openStore\(\{ url: 'postgres:\/\/…' \}\), not string$/));
  // A mistyped key would open the default embedded store and write there: it is refused, named.
  await assert.rejects(openStore({ databaseUrl: 'postgres://x' } as never), refusedFor('databaseUrl', /^openStore: invalid field "databaseUrl": not a field it takes \(did you mean "url"\?\); it takes url, memory, dataDir, schema, namespace, migrate$/));
  // A key that spells out the one meant in longer words, slip and all, is pointed to it too.
  for (const key of ['databaseUrll', 'database_url', 'postgresUrl']) {
    await assert.rejects(openStore({ [key]: 'postgres://x' } as never), refusedFor(key, new RegExp(`^openStore: invalid field "${key}": not a field it takes \\(did you mean "url"\\?\\)`)));
  }
  await assert.rejects(openStore({ schemaName: 'x' } as never), refusedFor('schemaName', /\(did you mean "schema"\?\)/));
  await assert.rejects(openStore({ dataDr: '/tmp/x' } as never), refusedFor('dataDr', /^openStore: invalid field "dataDr": not a field it takes \(did you mean "dataDir"\?\)/));
  // A bad DATABASE_URL is named as the caller set it, not as an option they never gave.
  const saved = process.env.DATABASE_URL;
  process.env.DATABASE_URL = 'garbage';
  try {
    await assert.rejects(openStore(), refusedFor('DATABASE_URL', /^openStore: invalid DATABASE_URL \(from the environment\): must be a postgres:\/\/ or postgresql:\/\/ URL$/));
  } finally {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
  }
  // The store's own check, for a store made without openStore (it refuses before it runs any SQL).
  const unused = {} as ConstructorParameters<typeof SqlStore>[0];
  assert.throws(() => new SqlStore(unused, 'test', { schema: 'Bad' }), refusedFor('schema', /^store: invalid field "schema": "Bad" must be a lowercase SQL identifier$/));
});

test('an unpaired surrogate in a resource, an error or an objective is stored as U+FFFD, and the rest of the row is kept', async () => {
  const high = '😀'.slice(0, 1);
  const low = '😀'.slice(1);
  await store.upsertScopes([scope('sur', { sessionId: 'sur', objective: `draft ${high}`, error: `${low} broke`, status: 'error' })]);
  await store.upsertActions([
    action('sur/a#1', 'sur', {
      sessionId: 'sur',
      name: `tool${high}`,
      error: `cut ${high}`,
      resources: [{ uri: `db:notes/${high}`, mode: 'write' }],
      attributes: { note: `${low}x` },
    }),
    action('sur/b#1', 'sur', { sessionId: 'sur', resources: [{ uri: 'db:emoji/😀', mode: 'read' }] }),
  ]);
  const [s] = await store.scopesOfSession('sur');
  assert.equal(s?.objective, 'draft \uFFFD');
  assert.equal(s?.error, '\uFFFD broke');
  const actions = await store.actionsOfSession('sur');
  const a = actions.find((x) => x.actionId === 'sur/a#1');
  assert.ok(a, 'the action with a lone surrogate is stored, not refused');
  assert.equal(a.name, 'tool\uFFFD');
  assert.equal(a.error, 'cut \uFFFD');
  assert.deepEqual(a.resources, [{ uri: 'db:notes/\uFFFD', mode: 'write' }]);
  assert.deepEqual(a.attributes, { note: '\uFFFDx' });
  // A well-formed pair is text like any other and stays as it was.
  assert.deepEqual(actions.find((x) => x.actionId === 'sur/b#1')?.resources, [{ uri: 'db:emoji/😀', mode: 'read' }]);
});

test('the status filter runs before the limit and agrees with the session summary on every session', async () => {
  const at = (minute: number) => `2030-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
  const ns = 'status-filter';
  const db = await openStore({ memory: true, url: undefined, namespace: ns });
  try {
    const rows = [
      // Newest first: three successes hide the older degraded sessions from a filter run after LIMIT.
      ...[9, 8, 7].map((m) => scope(`ok${m}`, { namespace: ns, sessionId: `ok${m}`, startedAt: at(m) })),
      scope('deg2', { namespace: ns, sessionId: 'deg2', startedAt: at(2), status: 'degraded' }),
      scope('deg1', { namespace: ns, sessionId: 'deg1', startedAt: at(1), status: 'degraded' }),
      // A handoff on the main line that failed makes the session an error, though the root succeeded.
      scope('ho', { namespace: ns, sessionId: 'ho', startedAt: at(6) }),
      scope('ho~next', { namespace: ns, sessionId: 'ho', kind: 'handoff', handoffFromScopeId: 'ho', startedAt: at(6), status: 'error' }),
      // A failed delegation counts only through its delegator's own (rolled-up) status.
      scope('del', { namespace: ns, sessionId: 'del', startedAt: at(5) }),
      scope('del.1', { namespace: ns, sessionId: 'del', parentScopeId: 'del', path: '/del/del.1/', startedAt: at(5), status: 'error' }),
      // Anything still running makes the session running.
      scope('run', { namespace: ns, sessionId: 'run', startedAt: at(4), status: 'degraded' }),
      scope('run.1', { namespace: ns, sessionId: 'run', parentScopeId: 'run', path: '/run/run.1/', startedAt: at(4), status: 'running', endedAt: null }),
      scope('can', { namespace: ns, sessionId: 'can', startedAt: at(3), status: 'cancelled' }),
    ];
    await db.upsertScopes(rows);
    assert.deepEqual(await db.listSessions({ status: 'degraded', limit: 5 }), ['deg2', 'deg1']);
    assert.deepEqual(await db.listSessions({ status: 'degraded', limit: 1 }), ['deg2']);
    assert.deepEqual(await db.listSessions({ status: 'error', limit: 5 }), ['ho']);
    assert.deepEqual(await db.listSessions({ status: 'running', limit: 5 }), ['run']);
    assert.deepEqual(await db.listSessions({ status: 'cancelled', limit: 5 }), ['can']);
    assert.deepEqual(await db.listSessions({ status: 'success', limit: 5 }), ['ok9', 'ok8', 'ok7', 'del']);
    for (const id of await db.listSessions({ limit: 50 })) {
      const { status } = sessionSummary(await db.scopesOfSession(id), []);
      assert.deepEqual(await db.listSessions({ status, limit: 50 }).then((ids) => ids.includes(id)), true, `${id} is listed as ${status}`);
    }
  } finally {
    await db.close();
  }
});

test('sessions listed a page at a time, either way round, come once each, ties of start split across pages included', async () => {
  const db = await openStore({ memory: true, url: undefined });
  try {
    const starts = ['2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.001Z', '2026-03-01T00:00:00.000Z'];
    await db.upsertScopes(starts.map((startedAt, n) => scope(`p${n}`, { sessionId: `p${n}`, startedAt })));
    for (const order of ['newest', 'oldest'] as const) {
      const whole = await db.listSessions({ limit: 100, order });
      assert.equal(whole.length, starts.length);
      const paged: string[] = [];
      let after;
      for (;;) {
        const keys = await db.sessionKeys({ limit: 2, order, ...(after ? { after } : {}) });
        paged.push(...keys.map((k) => k.sessionId));
        if (keys.length < 2) break;
        after = keys[keys.length - 1];
      }
      assert.deepEqual(paged, whole, order);
    }
    assert.deepEqual(await db.listSessions({ limit: 3, order: 'oldest' }), ['p4', 'p0', 'p1']);
    const exported: string[] = [];
    for await (const id of sessionsSince(db, '2026-03-01T00:00:00.000Z', 2)) exported.push(id);
    assert.deepEqual(exported, ['p0', 'p1', 'p2', 'p6', 'p5', 'p3']);
  } finally {
    await db.close();
  }
});

test('a listing page reads its sessions in two statements, and summarizes each as its rows read whole do; a row no record could have is read whole and named', async () => {
  const ns = 'listing';
  const db = (await openStore({ memory: true, url: undefined, namespace: ns })) as SqlStore;
  const sql = (db as unknown as { db: { query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }> } }).db;
  try {
    const at = (s: number, ms = 0) => new Date(Date.UTC(2030, 0, 1, 0, 0, s, ms)).toISOString();
    const mine = { namespace: ns };
    await db.upsertScopes([
      scope('l1', { ...mine, sessionId: 'l1', startedAt: at(10), endedAt: at(20) }),
      scope('l1.1', { ...mine, sessionId: 'l1', parentScopeId: 'l1', path: '/l1/l1.1/', startedAt: at(11), endedAt: at(15), status: 'error' }),
      scope('l1~2', { ...mine, sessionId: 'l1', kind: 'handoff', handoffFromScopeId: 'l1', startedAt: at(20), endedAt: null, status: 'running' }),
      scope('l2', { ...mine, sessionId: 'l2', startedAt: at(30), endedAt: at(31) }),
      scope('l3', { ...mine, sessionId: 'l3', startedAt: at(40), endedAt: at(41) }),
      scope('l4', { ...mine, sessionId: 'l4', startedAt: at(50), endedAt: at(51) }),
    ]);
    await db.upsertActions([
      // Started before its scope (a worker's clock behind), and ended after every scope.
      action('l1/a#1', 'l1', { ...mine, sessionId: 'l1', startedAt: at(9, 123), endedAt: at(25, 456), status: 'error', error: 'boom' }),
      action('l1/a#2', 'l1', { ...mine, sessionId: 'l1', attempt: 2, startedAt: at(12), endedAt: at(13) }),
      action('l1.1/b#1', 'l1.1', { ...mine, sessionId: 'l1', startedAt: at(12), endedAt: at(14), kind: 'denied', status: 'denied', error: 'no' }),
      action('l1~2/c#1', 'l1~2', { ...mine, sessionId: 'l1', startedAt: at(21), endedAt: null, status: 'running' }),
      action('l3/d#1', 'l3', { ...mine, sessionId: 'l3', startedAt: at(40, 500), endedAt: at(40, 900), status: 'cancelled' }),
      action('l4/e#1', 'l4', { ...mine, sessionId: 'l4', startedAt: at(50, 500), endedAt: at(50, 900) }),
      action('l4/e#2', 'l4', { ...mine, sessionId: 'l4', attempt: 2, startedAt: at(50, 600), endedAt: at(50, 950) }),
    ]);
    const ids = ['l1', 'l2', 'l3', 'l4', 'nope'];
    let statements = 0;
    const query = sql.query.bind(sql);
    sql.query = (text, params) => (statements++, query(text, params));
    const rows = await db.sessionListingRows(ids);
    sql.query = query;
    assert.equal(statements, 2, 'scopes and tallies, whatever the page holds');
    for (const id of ['l1', 'l2', 'l3', 'l4']) {
      assert.deepEqual(summaryOfSession(rows.scopes.get(id)!, rows.tallies.get(id)!), sessionSummary(await db.scopesOfSession(id), await db.actionsOfSession(id)), id);
    }
    assert.deepEqual(rows.tallies.get('l1'), { actions: 4, failedActions: 2, startedAt: at(9, 123), endedAt: at(25, 456) });
    assert.equal(rows.scopes.has('nope'), false);

    // A status no record has: the tally cannot vouch for the session, which is read whole and named unreadable.
    await sql.query(`UPDATE scopetrail.actions SET status = 'bogus' WHERE action_id = 'l4/e#2'`);
    await sql.query(`UPDATE scopetrail.scopes SET status = 'weird' WHERE scope_id = 'l3'`);
    const again = await db.sessionListingRows(ids);
    assert.equal(again.tallies.has('l4'), false);
    assert.match(again.unreadable.get('l3')?.message ?? '', /scope "l3" has an invalid field "status"/);
    const page = await listSessions(db, undefined, { limit: 10 });
    const by = new Map(page.sessions.map((s) => [s.sessionId, s]));
    assert.equal(by.get('l4')?.status, 'unreadable');
    assert.match(by.get('l4')?.problem ?? '', /action "l4\/e#2" has an invalid field "status"/);
    assert.equal(by.get('l3')?.status, 'unreadable');
    assert.equal(by.get('l1')?.status, 'running');
    assert.equal(by.get('l1')?.failedActions, 2);
    assert.equal(by.get('l2')?.actions, 0);
  } finally {
    await db.close();
  }
});
