/**
 * The SQL store (store/sql-store.ts) on embedded, in-memory PGlite — the same SQL the
 * Postgres backend runs. DATABASE_URL is cleared so `openStore` never picks a server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
process.env.DATABASE_URL = '';
import { openStore } from '../../store';
import { pgliteExecutor } from '../../store/pglite';
import { SqlStore, type SqlExecutor } from '../../store/sql-store';
import type { Store } from '../../store/types';
import type { ActionRecord, Manifest, ScopeRecord } from '../../cim/schemas';
import { parseKey } from '../../store/fingerprint-key';
import { manifestChecker, manifestSigner } from '../../store/manifest-key';
import { manifestSignatureProblem, manifestSignatureState } from '../../cim/manifest-signature';
import { toolSpecSignatureState } from '../../cim/tool-spec-signature';
import { action as baseAction, scope as baseScope } from './fixtures';
import { deniedUnder, footprintWithReceipts } from '../../cim/forensics';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

/** Valid CIM records (fixtures parse them with the real schemas) in session `sess` unless told otherwise. */
function scope(id: string, fields: Partial<ScopeRecord> = {}): ScopeRecord {
  return baseScope(id, { sessionId: 'sess', ...fields });
}
function child(id: string, parent: ScopeRecord, fields: Partial<ScopeRecord> = {}): ScopeRecord {
  return scope(id, { sessionId: parent.sessionId, namespace: parent.namespace, parentScopeId: parent.scopeId, path: `${parent.path}${id}/`, depth: parent.depth + 1, ...fields });
}
function action(id: string, owner: ScopeRecord, fields: Partial<ActionRecord> = {}): ActionRecord {
  return baseAction(id, owner.scopeId, { sessionId: owner.sessionId, namespace: owner.namespace, ...fields });
}

/** A fully populated scope: every nullable field set, so a round trip checks every column. */
function richScope(id: string, fields: Partial<ScopeRecord> = {}): ScopeRecord {
  return scope(id, {
    objective: 'find sources on X', allowance: ['api:web-search', 'fs:/tmp/*'], depth: 0, status: 'degraded', recovered: true,
    error: 'one child failed', startedAt: '2026-01-01T00:00:00.123Z', endedAt: '2026-01-01T00:00:09.456Z',
    workflowId: `wf-${id}`, runId: `run-${id}-1`, ...fields,
  });
}
function richAction(id: string, owner: ScopeRecord, fields: Partial<ActionRecord> = {}): ActionRecord {
  return action(id, owner, {
    kind: 'tool_call', name: 'search', attempt: 2,
    resources: [{ uri: 'api:web-search', mode: 'read' }, { uri: 'fs:/tmp/out', mode: 'write' }],
    inputDigest: 'sha256:aa', outputDigest: 'sha256:bb', status: 'success', error: null,
    startedAt: '2026-01-01T00:00:01.000Z', endedAt: '2026-01-01T00:00:02.500Z', activityId: '7',
    attributes: { model: 'm1', tokens: 42, cached: false, note: null }, ...fields,
  });
}

let store: Store;
before(async () => {
  store = await openStore({ memory: true, url: undefined });
});
after(async () => {
  await store?.close();
});

describe('opening the store', () => {
  test('an in-memory store is embedded PGlite even when DATABASE_URL names a server', async () => {
    assert.match(store.description, /PGlite \(in memory\)/);
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = 'postgres://nobody@127.0.0.1:1/none';
    try {
      const s = await openStore({ memory: true, url: undefined });
      assert.match(s.description, /PGlite \(in memory\)/);
      await s.close();
    } finally {
      process.env.DATABASE_URL = saved;
    }
  });

  test('migrating again, even twice at once, is harmless and keeps the data', async () => {
    const s = scope('mig', { sessionId: 'mig' });
    await store.upsertScopes([s]);
    await store.migrate();
    await Promise.all([store.migrate(), store.migrate()]);
    assert.deepEqual(await store.getScope('mig'), s);
  });
});

describe('idempotent upserts', () => {
  test('the same scope twice (in two calls or in one batch) is one row with the same content', async () => {
    const s = richScope('idem', { sessionId: 'idem' });
    await store.upsertScopes([s]);
    await store.upsertScopes([s]);
    await store.upsertScopes([s, s]);
    assert.deepEqual(await store.scopesOfSession('idem'), [s]);
    assert.deepEqual(await store.getScope('idem'), s);
  });

  test('a scope with no allowance and no end reads back with nulls, not empty values', async () => {
    const s = scope('nulls', { sessionId: 'nulls', allowance: null, objective: null, endedAt: null, status: 'running' });
    await store.upsertScopes([s]);
    assert.deepEqual(await store.getScope('nulls'), s);
    const empty = scope('empty-allowance', { sessionId: 'nulls', allowance: [] });
    await store.upsertScopes([empty]);
    assert.deepEqual((await store.getScope('empty-allowance'))?.allowance, [], 'an empty allowance (may touch nothing) is not unrestricted');
  });

  test('the worker build round-trips on scopes and actions, and a record without one reads back without the fields', async () => {
    const versioned = richScope('built', { sessionId: 'built', workerDeployment: 'agents', workerBuildId: 'v2' });
    const plain = child('built.1', versioned);
    const a = richAction('built/a7#2', versioned, { workerDeployment: 'agents', workerBuildId: 'v2' });
    const b = action('built.1/a1#1', plain);
    await store.upsertScopes([versioned, plain]);
    await store.upsertActions([a, b]);
    assert.deepEqual(await store.getScope('built'), versioned);
    assert.deepEqual(await store.getScope('built.1'), plain);
    const actions = await store.actionsOfSession('built');
    assert.deepEqual(actions.find((x) => x.actionId === a.actionId), a);
    // Absent, not undefined: the canonical JSON a seal hashes is the same as before the columns existed.
    const read = actions.find((x) => x.actionId === b.actionId)!;
    assert.deepEqual(read, b);
    assert.equal('workerBuildId' in read || 'workerDeployment' in read, false);
  });

  test('the same action twice (in two calls or in one batch) is one row with the same content', async () => {
    const owner = scope('idem-a', { sessionId: 'idem-a' });
    const a = richAction('idem-a/a7#2', owner);
    await store.upsertActions([a]);
    await store.upsertActions([a]);
    await store.upsertActions([a, a]);
    assert.deepEqual(await store.actionsOfSession('idem-a'), [a]);
  });

  test('a scope keeps the earliest start time it was given', async () => {
    const first = scope('start', { sessionId: 'start', status: 'running', endedAt: null, startedAt: at(1000) });
    await store.upsertScopes([first]);
    await store.upsertScopes([{ ...first, status: 'success', startedAt: at(1500), endedAt: at(2000) }]);
    assert.deepEqual(await store.getScope('start'), { ...first, status: 'success', endedAt: at(2000) });
    await store.upsertScopes([{ ...first, status: 'success', startedAt: at(500), endedAt: at(2000) }]);
    assert.equal((await store.getScope('start'))?.startedAt, at(500));
  });

  test('a later terminal copy updates the row', async () => {
    const owner = scope('upd', { sessionId: 'upd', status: 'running', endedAt: null });
    await store.upsertScopes([owner]);
    const done = { ...owner, status: 'error' as const, error: 'boom', endedAt: at(5000) };
    await store.upsertScopes([done]);
    assert.deepEqual(await store.getScope('upd'), done);

    const running = action('upd/a1#1', owner, { status: 'running', endedAt: null, outputDigest: null });
    await store.upsertActions([running]);
    const finished = { ...running, status: 'error' as const, error: 'timeout', endedAt: at(300) };
    await store.upsertActions([finished]);
    assert.deepEqual(await store.actionsOfSession('upd'), [finished]);
  });
});

describe('a terminal record is never regressed to running', () => {
  test('scope: a late running copy in a separate call leaves every column of the finished row', async () => {
    const done = richScope('reg1', { sessionId: 'reg1' });
    await store.upsertScopes([done]);
    await store.upsertScopes([{ ...done, status: 'running', recovered: false, error: null, endedAt: null, runId: 'stale-run', objective: 'stale' }]);
    assert.deepEqual(await store.getScope('reg1'), done);
  });

  test('scope: within one batch the terminal copy wins whichever comes first', async () => {
    const done = richScope('reg2', { sessionId: 'reg2' });
    const running = { ...done, status: 'running' as const, recovered: false, error: null, endedAt: null };
    await store.upsertScopes([done, running]);
    assert.deepEqual(await store.getScope('reg2'), done);
    const done3 = richScope('reg3', { sessionId: 'reg3' });
    await store.upsertScopes([{ ...done3, status: 'running', recovered: false, error: null, endedAt: null }, done3]);
    assert.deepEqual(await store.getScope('reg3'), done3);
    const done4 = richScope('reg4', { sessionId: 'reg4' });
    const running4 = { ...done4, status: 'running' as const, recovered: false, error: null, endedAt: null };
    await store.upsertScopes([running4, done4, running4]);
    assert.deepEqual(await store.getScope('reg4'), done4);
  });

  test('action: a late running copy in a separate call leaves every column of the finished row', async () => {
    const owner = scope('rega', { sessionId: 'rega' });
    const done = richAction('rega/a7#2', owner, { status: 'error', error: 'boom' });
    await store.upsertActions([done]);
    await store.upsertActions([{ ...done, status: 'running', error: null, endedAt: null, outputDigest: null, attributes: {} }]);
    assert.deepEqual(await store.actionsOfSession('rega'), [done]);
  });

  test('action: within one batch the terminal copy wins whichever comes first', async () => {
    const owner = scope('regb', { sessionId: 'regb' });
    const done = richAction('regb/a7#2', owner);
    const running = { ...done, status: 'running' as const, endedAt: null, outputDigest: null };
    await store.upsertActions([done, running]);
    await store.upsertActions([running, done, running]);
    assert.deepEqual(await store.actionsOfSession('regb'), [done]);
  });
});

describe('actionsUnder', () => {
  // s ─ s.1 ─ s.1.1
  //   │     └ s.1.2
  //   ├ s.10            (id shares the prefix "s.1")
  //   └ s.2
  // s~1                 (a handoff from s: beside it, not below it)
  // a_b, axb ─ axb.1    ("_" would be a LIKE wildcard matching "x")
  // p (path /a%/), q (path /abc/)   ("%" would be a LIKE wildcard; ids cannot hold it, paths can)
  const s = scope('s', { sessionId: 'tree' });
  const s1 = child('s.1', s);
  const s11 = child('s.1.1', s1);
  const s12 = child('s.1.2', s1);
  const s10 = child('s.10', s);
  const s2 = child('s.2', s);
  const sh = scope('s~1', { sessionId: 'tree', kind: 'handoff', handoffFromScopeId: 's', path: '/s~1/' });
  const ab = scope('a_b', { sessionId: 'like' });
  const axb = scope('axb', { sessionId: 'like' });
  const axb1 = child('axb.1', axb);
  const p = scope('p', { sessionId: 'like', path: '/a%/' });
  const q = scope('q', { sessionId: 'like', path: '/abc/' });

  const t = (ms: number) => ({ startedAt: at(ms), endedAt: at(ms + 1) });
  const acts = [
    action('s/a1#1', s, { ...t(10), name: 'search' }),
    action('s/w1', s, { ...t(11), kind: 'delegate', name: 'researcher', activityId: null, targetScopeId: 's.1' }),
    action('s.1/a1#1', s1, { ...t(20), name: 'search' }),
    action('s.1/a2#1', s1, { ...t(21), kind: 'llm_call', name: 'llm' }),
    action('s.1/w1', s1, { ...t(22), kind: 'delegate', name: 'verifier', activityId: null, targetScopeId: 's.1.1' }),
    action('s.1.1/a1#1', s11, { ...t(30), name: 'search' }),
    action('s.1.1/a2#1', s11, { ...t(31), kind: 'denied', name: 'write_file', status: 'denied' }),
    action('s.1.2/a1#1', s12, { ...t(32), name: 'fetch' }),
    action('s.10/a1#1', s10, { ...t(40), name: 'search' }),
    action('s.2/a1#1', s2, { ...t(50), name: 'fetch' }),
    action('s~1/a1#1', sh, { ...t(60), name: 'search' }),
    action('a_b/a1#1', ab, t(70)),
    action('axb/a1#1', axb, t(71)),
    action('axb.1/a1#1', axb1, t(72)),
    action('p/a1#1', p, t(73)),
    action('q/a1#1', q, t(74)),
  ];

  before(async () => {
    // Written out of order and across calls: the query, not insertion order, decides.
    await store.upsertScopes([s12, sh, s10, s1, q, axb1]);
    await store.upsertScopes([s, s11, s2, ab, axb, p]);
    await store.upsertActions([...acts].reverse());
  });

  const under = async (id: string, descendants: boolean, extra: object = {}) =>
    (await store.actionsUnder(id, { descendants, ...extra })).map((a) => a.actionId);

  test('with descendants: the scope\'s actions and those of every scope below it, in time order', async () => {
    assert.deepEqual(await under('s.1', true), ['s.1/a1#1', 's.1/a2#1', 's.1/w1', 's.1.1/a1#1', 's.1.1/a2#1', 's.1.2/a1#1']);
    assert.deepEqual(await under('s', true), [
      's/a1#1', 's/w1', 's.1/a1#1', 's.1/a2#1', 's.1/w1', 's.1.1/a1#1', 's.1.1/a2#1', 's.1.2/a1#1', 's.10/a1#1', 's.2/a1#1',
    ]);
    assert.deepEqual(await under('s.1.1', true), ['s.1.1/a1#1', 's.1.1/a2#1'], 'a leaf has only its own actions');
  });

  test('records read back whole', async () => {
    const [first] = await store.actionsUnder('s.1.1', { descendants: true });
    assert.deepEqual(first, acts.find((a) => a.actionId === 's.1.1/a1#1'));
  });

  test('with descendants, a sibling whose id shares the prefix (s.1 vs s.10) is not included', async () => {
    const got = await under('s.1', true);
    assert.ok(!got.includes('s.10/a1#1'), `s.10 is not below s.1: ${got}`);
    assert.deepEqual(await under('s.10', true), ['s.10/a1#1']);
  });

  test('with descendants, a handoff from the scope is not below it', async () => {
    assert.ok(!(await under('s', true)).includes('s~1/a1#1'));
    assert.deepEqual(await under('s~1', true), ['s~1/a1#1']);
  });

  test('"_" in a scope id is matched literally, not as a LIKE wildcard', async () => {
    assert.deepEqual(await under('a_b', true), ['a_b/a1#1']);
    assert.deepEqual(await under('axb', true), ['axb/a1#1', 'axb.1/a1#1']);
  });

  test('"%" in a path is matched literally, not as a LIKE wildcard', async () => {
    assert.deepEqual(await under('p', true), ['p/a1#1']);
  });

  test('without descendants: only the scope\'s own actions', async () => {
    assert.deepEqual(await under('s.1', false), ['s.1/a1#1', 's.1/a2#1', 's.1/w1']);
    assert.deepEqual(await under('s', false), ['s/a1#1', 's/w1']);
  });

  test('an unknown scope has no actions', async () => {
    assert.deepEqual(await under('nope', true), []);
    assert.deepEqual(await under('nope', false), []);
  });

  test('the kinds filter keeps only the listed kinds', async () => {
    assert.deepEqual(await under('s', true, { kinds: ['delegate'] }), ['s/w1', 's.1/w1']);
    assert.deepEqual(await under('s.1', true, { kinds: ['llm_call', 'denied'] }), ['s.1/a2#1', 's.1.1/a2#1']);
    assert.deepEqual(await under('s.1', false, { kinds: ['denied'] }), []);
    assert.deepEqual(await under('s.1', true, { kinds: [] }), await under('s.1', true), 'an empty list is no filter');
  });

  test('the tool filter keeps only actions of that name', async () => {
    assert.deepEqual(await under('s', true, { tool: 'search' }), ['s/a1#1', 's.1/a1#1', 's.1.1/a1#1', 's.10/a1#1']);
    assert.deepEqual(await under('s.1', true, { tool: 'fetch' }), ['s.1.2/a1#1']);
    assert.deepEqual(await under('s.1', false, { tool: 'search' }), ['s.1/a1#1']);
    assert.deepEqual(await under('s', true, { tool: 'no-such-tool' }), []);
  });

  test('kinds and tool filters combine', async () => {
    assert.deepEqual(await under('s', true, { kinds: ['tool_call'], tool: 'search' }), ['s/a1#1', 's.1/a1#1', 's.1.1/a1#1', 's.10/a1#1']);
    assert.deepEqual(await under('s', true, { kinds: ['delegate'], tool: 'verifier' }), ['s.1/w1']);
    assert.deepEqual(await under('s', true, { kinds: ['llm_call'], tool: 'search' }), []);
  });
});

describe('namespaces', () => {
  // Two stores over one database, as two workers in different Temporal namespaces would share one.
  let db: SqlExecutor;
  let a: SqlStore;
  let b: SqlStore;
  before(async () => {
    db = pgliteExecutor(undefined);
    a = new SqlStore(db, 'ns a', { namespace: 'a' });
    b = new SqlStore(db, 'ns b', { namespace: 'b' });
    await a.migrate();
    await b.migrate();
  });
  after(async () => {
    await db?.close();
  });

  test('a store of namespace a does not see records written in namespace b, even with the same ids', async () => {
    const ra = scope('n', { sessionId: 'n', namespace: 'a', agent: 'ours', startedAt: at(0) });
    const rb = scope('n', { sessionId: 'n', namespace: 'b', agent: 'theirs', startedAt: at(1) });
    const rb1 = child('n.1', rb, { agent: 'theirs', startedAt: at(2) });
    const aa = action('n/a1#1', ra, { agent: 'ours', name: 'search' });
    const ba = action('n/a1#1', rb, { agent: 'theirs', name: 'search' });
    const ba1 = action('n.1/a1#1', rb1, { agent: 'theirs', name: 'search', startedAt: at(1000), endedAt: at(1001) });
    await a.upsertScopes([ra]);
    await b.upsertScopes([rb, rb1]);
    await a.upsertActions([aa]);
    await b.upsertActions([ba, ba1]);

    assert.deepEqual(await a.getScope('n'), ra);
    assert.deepEqual(await b.getScope('n'), rb);
    assert.equal(await a.getScope('n.1'), undefined);
    assert.deepEqual(await a.scopesOfSession('n'), [ra]);
    assert.deepEqual(await b.scopesOfSession('n'), [rb, rb1]);
    assert.deepEqual(await a.actionsOfSession('n'), [aa]);
    assert.deepEqual(await a.actionsUnder('n', { descendants: true }), [aa], 'b\'s n.1 has a path below a\'s n but another namespace');
    assert.deepEqual(await a.actionsUnder('n', { descendants: false }), [aa]);
    assert.deepEqual(await b.actionsUnder('n', { descendants: true }), [ba, ba1]);
    assert.deepEqual(await a.listSessions({ limit: 10 }), ['n']);
    assert.deepEqual(await a.listSessions({ limit: 10, agent: 'theirs' }), []);
    assert.deepEqual(await a.allScopes(), [ra]);
    assert.deepEqual(await a.allScopes({ agent: 'theirs' }), []);
    assert.deepEqual(await a.actionsOfAgent(), [aa]);
    assert.deepEqual(await a.actionsOfAgent('theirs'), []);
  });

  test('the descendants query looks only at the store\'s own namespace, even where the same ids form another tree', async () => {
    // In a, k and j are separate roots; in b, j sits below k.
    const ak = scope('k', { sessionId: 'k', namespace: 'a', startedAt: at(0) });
    const aj = scope('j', { sessionId: 'j', namespace: 'a', startedAt: at(0) });
    const bk = scope('k', { sessionId: 'k', namespace: 'b', startedAt: at(0) });
    const bj = child('j', bk, { startedAt: at(0) });
    await a.upsertScopes([ak, aj]);
    await b.upsertScopes([bk, bj]);
    const akAct = action('k/a1#1', ak, { startedAt: at(10), endedAt: at(11) });
    const ajAct = action('j/a1#1', aj, { startedAt: at(20), endedAt: at(21) });
    await a.upsertActions([akAct, ajAct]);
    await b.upsertActions([action('k/a1#1', bk), action('j/a1#1', bj)]);
    assert.deepEqual(await a.actionsUnder('k', { descendants: true }), [akAct]);
    assert.deepEqual((await b.actionsUnder('k', { descendants: true })).map((x) => x.actionId), ['j/a1#1', 'k/a1#1']);
  });

  test('a running copy in one namespace does not touch the finished row of the same id in another', async () => {
    const done = scope('m', { sessionId: 'm', namespace: 'a' });
    await a.upsertScopes([done]);
    await b.upsertScopes([{ ...done, namespace: 'b', status: 'running', endedAt: null }]);
    assert.deepEqual(await a.getScope('m'), done);
    assert.equal((await b.getScope('m'))?.status, 'running');
  });

  test('payloads upsert: one row per action and side, the latest body wins, namespaces apart', async () => {
    const bodies = async (ns: string) =>
      (await db.query<{ action_id: string; side: string; body: string }>(
        `SELECT action_id, side, body::text AS body FROM "scopetrail".payloads WHERE namespace = $1 ORDER BY action_id, side`,
        [ns],
      )).rows.map((r) => ({ ...r, body: JSON.parse(r.body) as unknown }));

    await a.upsertPayloads([
      { namespace: 'a', actionId: 'x/a1#1', side: 'input', body: { q: 'first', n: [1, 2] } },
      { namespace: 'a', actionId: 'x/a1#1', side: 'output', body: 'text out' },
      { namespace: 'a', actionId: 'x/a2#1', side: 'input', body: undefined },
    ]);
    await a.upsertPayloads([{ namespace: 'a', actionId: 'x/a1#1', side: 'input', body: { q: 'second' } }]);
    await a.upsertPayloads([
      { namespace: 'a', actionId: 'x/a1#1', side: 'output', body: 'stale' },
      { namespace: 'a', actionId: 'x/a1#1', side: 'output', body: 'latest' },
    ]);
    await b.upsertPayloads([{ namespace: 'b', actionId: 'x/a1#1', side: 'input', body: 42 }]);

    assert.deepEqual(await bodies('a'), [
      { action_id: 'x/a1#1', side: 'input', body: { q: 'second' } },
      { action_id: 'x/a1#1', side: 'output', body: 'latest' },
      { action_id: 'x/a2#1', side: 'input', body: null },
    ]);
    assert.deepEqual(await bodies('b'), [{ action_id: 'x/a1#1', side: 'input', body: 42 }]);
  });
});

describe('manifests', () => {
  test('manifests round-trip, keeping the difference between no resource list and an empty one', async () => {
    const m: Manifest[] = [
      { name: 'orchestrator', version: '1.0.0', description: 'plans', tools: ['plan'], subAgents: ['researcher'] },
      { name: 'researcher', version: '2.1.0', tools: ['search', 'fetch'], subAgents: [], resources: ['api:web-search', 'fs:/tmp/*'] },
      { name: 'sandboxed', version: '0.1.0', tools: [], subAgents: [], resources: [] },
    ];
    await store.upsertManifests(m);
    await store.upsertManifests(m);
    const got = await store.manifests();
    assert.deepEqual(got, m);
    assert.equal('resources' in got[0]!, false, 'omitted resources (unrestricted) stay omitted');
    assert.deepEqual(got[2]!.resources, [], 'an empty list (may touch nothing) stays empty');
  });

  test('upserting a manifest replaces the same name and version and keeps other versions', async () => {
    await store.upsertManifests([{ name: 'researcher', version: '2.1.0', tools: ['search'], subAgents: [] }]);
    await store.upsertManifests([{ name: 'researcher', version: '2.2.0', tools: ['search', 'summarize'], subAgents: [] }]);
    const researchers = (await store.manifests()).filter((x) => x.name === 'researcher');
    assert.deepEqual(researchers, [
      { name: 'researcher', version: '2.1.0', tools: ['search'], subAgents: [] },
      { name: 'researcher', version: '2.2.0', tools: ['search', 'summarize'], subAgents: [] },
    ]);
  });
});

describe('tool specs', () => {
  test('each queue keeps its own spec of a tool; registering again replaces it and puts it first; other namespaces see none', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    await store.upsertToolSpecs!([
      { taskQueue: 'q1', tool: 'forecast', description: 'the weather', inputSchema: schema },
      { taskQueue: 'q2', tool: 'forecast', inputSchema: { type: 'object' } },
    ]);
    await new Promise((r) => setTimeout(r, 5));
    await store.upsertToolSpecs!([{ taskQueue: 'q1', tool: 'forecast', description: 'the weather, by day', inputSchema: schema }]);
    assert.deepEqual(await store.toolSpecs!(), [
      { taskQueue: 'q1', tool: 'forecast', description: 'the weather, by day', inputSchema: schema, signature: null },
      { taskQueue: 'q2', tool: 'forecast', inputSchema: { type: 'object' }, signature: null },
    ]);
    const other = new SqlStore((store as unknown as { db: SqlExecutor }).db, 'other namespace', { namespace: 'elsewhere' });
    assert.deepEqual(await other.toolSpecs(), []);
  });

  test('a signed spec checks after the round trip (jsonb reorders keys, NUL is made storable); rewritten, moved or unsigned, it does not', async () => {
    const signer = manifestSigner(parseKey('55'.repeat(32), 'test'));
    const schema = { type: 'object', required: ['q'], properties: { q: { type: 'string', description: 'what to find\u0000', maxLength: 1e3 } }, additionalProperties: false };
    await store.upsertToolSpecs!([{ taskQueue: 'qs', tool: 'search', description: 'web search', inputSchema: schema }], signer);
    const read = async (tool: string) => (await store.toolSpecs!()).find((s) => s.taskQueue === 'qs' && s.tool === tool)!;
    assert.equal(toolSpecSignatureState(await read('search'), signer), 'valid');
    const sql = (store as unknown as { db: SqlExecutor }).db;
    const table = (store as unknown as { t(name: string): string }).t('tool_specs');
    await sql.query(`UPDATE ${table} SET input_schema = jsonb_set(input_schema, '{additionalProperties}', 'true') WHERE task_queue = 'qs'`);
    assert.equal(toolSpecSignatureState(await read('search'), signer), 'forged');
    await store.upsertToolSpecs!([{ taskQueue: 'qs', tool: 'search', description: 'web search', inputSchema: schema }], signer);
    await sql.query(`UPDATE ${table} SET tool = 'wire_money' WHERE task_queue = 'qs' AND tool = 'search'`);
    assert.equal(toolSpecSignatureState(await read('wire_money'), signer), 'forged');
    await sql.query(`UPDATE ${table} SET signature = NULL, signature_key = NULL WHERE task_queue = 'qs'`);
    assert.equal(toolSpecSignatureState(await read('wire_money'), signer), 'unsigned');
    await sql.query(`UPDATE ${table} SET signature = 'not hex', signature_key = '0123456789abcdef' WHERE task_queue = 'qs'`);
    assert.equal((await read('wire_money')).signatureInvalid, true);
    assert.equal(toolSpecSignatureState(await read('wire_money'), signer), 'forged');
  });
});

describe('manifest signatures', () => {
  let db: SqlExecutor;
  let signed: SqlStore;
  const key = parseKey('44'.repeat(32), 'test');
  const signer = manifestSigner(key);
  before(async () => {
    db = pgliteExecutor(undefined);
    signed = new SqlStore(db, 'signed');
    await signed.migrate();
  });
  after(async () => {
    await db?.close();
  });

  test('a worker\'s signature checks after the round trip; a manifest rewritten in the table, unsigned or with a broken signature does not', async () => {
    // Written without the optional fields, read back with what the schema fills in: the same signed text.
    await signed.upsertManifests([
      { name: 'orchestrator', version: '1.0.0', tools: ['plan'], subAgents: ['researcher'] },
      { name: 'researcher', version: '2.1.0', tools: ['search'], subAgents: [], resources: ['api:web-search'] },
    ], signer);
    await signed.upsertManifests([{ name: 'legacy', version: '0.1.0', tools: [], subAgents: [] }]);
    const states = async () => Object.fromEntries((await signed.storedManifests()).manifests.map((m) => [`${m.manifest.name}@${m.manifest.version}`, manifestSignatureState(m, signer)]));
    assert.deepEqual(await states(), { 'legacy@0.1.0': 'unsigned', 'orchestrator@1.0.0': 'valid', 'researcher@2.1.0': 'valid' });
    // Declaring the tool an agent should not have called, to hide that drift.
    await db.query(`UPDATE scopetrail.manifests SET manifest = jsonb_set(manifest, '{tools}', '["search","shell"]') WHERE agent = 'researcher'`);
    // A signature that is not one reads, and is forged.
    await db.query(`UPDATE scopetrail.manifests SET signature = 'zz', signature_key = NULL WHERE agent = 'orchestrator'`);
    assert.deepEqual(await states(), { 'legacy@0.1.0': 'unsigned', 'orchestrator@1.0.0': 'forged', 'researcher@2.1.0': 'forged' });
    assert.deepEqual((await signed.manifests()).find((m) => m.name === 'researcher')?.tools, ['search', 'shell'], 'manifests() still reads them');
    // Another deployment's reader cannot check; one with no key says why.
    const other = manifestSigner(parseKey('55'.repeat(32), 'test'));
    const [legit] = (await signed.storedManifests()).manifests.filter((m) => m.manifest.name === 'legacy');
    await signed.upsertManifests([legit!.manifest], signer);
    const [resigned] = (await signed.storedManifests()).manifests.filter((m) => m.manifest.name === 'legacy');
    assert.equal(manifestSignatureState(resigned!, signer), 'valid', 'registering again signs it');
    assert.equal(manifestSignatureState(resigned!, other), 'other_key');
    const none = manifestChecker(undefined, {}, '/nonexistent-scopetrail-test/key');
    assert.equal(manifestSignatureState(resigned!, none), 'unchecked');
    assert.match(manifestSignatureProblem(resigned!, 'unchecked', none)!, /the manifest of legacy@0\.1\.0 cannot be checked against its signature: no fingerprint key/);
  });
});

describe('large batches', () => {
  test('a batch larger than one statement can bind is written completely', async () => {
    const owner = scope('big', { sessionId: 'big' });
    await store.upsertScopes([owner]);
    const many = Array.from({ length: 3_500 }, (_, i) => action(`big/a${i}#1`, owner, { startedAt: at(i), endedAt: at(i + 1) }));
    await store.upsertActions(many);
    const got = await store.actionsUnder('big', { descendants: false });
    assert.equal(got.length, many.length);
    assert.deepEqual(got[3_499], many[3_499]);
  });
});

describe('footprintActions', () => {
  // r ─ r.1 ─ r.1.1, with refusals (one with an error and a worker build) among the calls.
  const r = richScope('r', { sessionId: 'fp' });
  const r1 = child('r.1', r);
  const r11 = child('r.1.1', r1);
  const acts = [
    richAction('r/a1#1', r, { startedAt: at(10), endedAt: at(12) }),
    richAction('r/a2#1', r, { kind: 'denied', name: 'write_file', status: 'denied', error: 'not in the allowance', startedAt: at(11), endedAt: at(11), workerDeployment: 'd', workerBuildId: 'b7' }),
    richAction('r.1/a1#1', r1, { resources: [{ uri: 'db:x', mode: 'write' }, { uri: 'db:x', mode: 'write' }], startedAt: at(20), endedAt: null, status: 'running' }),
    richAction('r.1/a2#1', r1, { status: 'denied', resources: [{ uri: 'db:secret', mode: 'read' }], startedAt: at(21), endedAt: at(22), attributes: {} }),
    richAction('r.1.1/a1#1', r11, { name: 'fetch', attempt: 1, error: 'boom', status: 'error', startedAt: at(30), endedAt: at(31), targetScopeId: null }),
  ];
  let db: SqlExecutor;
  let fp: SqlStore;
  before(async () => {
    db = pgliteExecutor(undefined);
    fp = new SqlStore(db, 'footprint');
    await fp.migrate();
    await fp.upsertScopes([r, r1, r11]);
    await fp.upsertActions(acts);
  });
  after(async () => {
    await fp?.close();
  });

  test('the footprint and the refusals read this way are those of the whole records', async () => {
    const scopes = await fp.scopesOfSession('fp');
    for (const id of ['r', 'r.1', 'r.1.1']) {
      for (const descendants of [true, false]) {
        const located = (await fp.locateScope(id))!;
        const read = await fp.footprintActions(located, { descendants });
        const whole = await fp.actionsUnder(id, { descendants });
        assert.deepStrictEqual(footprintWithReceipts(id, scopes, read.actions, [], { descendants }), footprintWithReceipts(id, scopes, whole, [], { descendants }));
        assert.deepStrictEqual(read.denied, deniedUnder(id, scopes, whole, { descendants }));
      }
    }
    assert.deepStrictEqual((await fp.footprintActions((await fp.locateScope('r'))!, { descendants: true })).denied, [acts[1], acts[3]]);
  });

  test('the scopes a footprint reads are where the whole records put them, and give the same footprint', async () => {
    const located = (await fp.locateScope('r'))!;
    const places = await fp.scopePlacesOfSession('fp', { sessionStartedAt: located.sessionStartedAt });
    const scopes = await fp.scopesOfSession('fp');
    assert.deepStrictEqual(places, scopes.map((x) => ({ sessionId: x.sessionId, scopeId: x.scopeId, path: x.path, allowance: x.allowance })));
    const read = await fp.footprintActions(located, { descendants: true });
    assert.deepStrictEqual(footprintWithReceipts('r', places, read.actions, [], { descendants: true }), footprintWithReceipts('r', scopes, read.actions, [], { descendants: true }));
    await db.query(`UPDATE scopetrail.scopes SET path = '' WHERE scope_id = 'r.1'`);
    await assert.rejects(fp.scopePlacesOfSession('fp'), /invalid field "path"/);
    await db.query(`UPDATE scopetrail.scopes SET path = $1 WHERE scope_id = 'r.1'`, [r1.path]);
  });

  test('a field footprint reads is validated, one it does not read is not read', async () => {
    const located = (await fp.locateScope('r'))!;
    await db.query(`UPDATE scopetrail.actions SET workflow_id = '' WHERE action_id = 'r.1.1/a1#1'`);
    await assert.rejects(fp.actionsUnder(located, { descendants: true }), /invalid field "workflowId"/);
    assert.equal((await fp.footprintActions(located, { descendants: true })).actions.length, 3);
    await db.query(`UPDATE scopetrail.actions SET agent = '1agent' WHERE action_id = 'r.1.1/a1#1'`);
    await assert.rejects(fp.footprintActions(located, { descendants: true }), /action "r.1.1\/a1#1" has an invalid field "agent"/);
    // A refused action is read whole: any of its fields is checked.
    await db.query(`UPDATE scopetrail.actions SET agent = 'agent', run_id = '' WHERE action_id IN ('r.1.1/a1#1', 'r/a2#1')`);
    await assert.rejects(fp.footprintActions(located, { descendants: true }), /action "r\/a2#1" has an invalid field "runId"/);
  });
});

describe('usage counts', () => {
  const sorted = (usage: object) => Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, (v as unknown[]).map((x) => JSON.stringify(x)).sort()]));
  // Two sessions in different months; each has a running delegate and an ended one.
  const sessions = ['u1', 'u2'].map((sid, i) => {
    const start = i === 0 ? '2026-01-05T00:00:00.000Z' : '2026-03-07T00:00:00.000Z';
    const root = scope(sid, { sessionId: sid, startedAt: start, endedAt: null, status: 'running', sessionStartedAt: start } as Partial<ScopeRecord>);
    const done = child(`${sid}.1`, root, { startedAt: start, agent: 'helper', delegatedBy: 'agent' });
    const busy = child(`${sid}.2`, root, { startedAt: start, agent: 'helper', delegatedBy: 'agent', status: 'running', endedAt: null });
    const acts = [
      action(`${sid}/w1`, root, { kind: 'delegate', name: 'helper', activityId: null, targetScopeId: done.scopeId, startedAt: start }),
      action(`${sid}.1/a1#1`, done, { name: 'search', startedAt: start }),
      action(`${sid}.2/a1#1`, busy, { name: 'fetch', status: 'error', startedAt: start }),
    ];
    return { scopes: [root, done, busy], acts };
  });
  let us: SqlStore;
  before(async () => {
    us = new SqlStore(pgliteExecutor(undefined), 'usage');
    await us.migrate();
    for (const s of sessions) {
      await us.upsertScopes(s.scopes);
      await us.upsertActions(s.acts);
    }
  });
  after(async () => {
    await us?.close();
  });

  test('the scopes not rolled up yet are counted from their rows, in every month, until none are left', async () => {
    for (const calls of [true, false]) assert.deepEqual(sorted(await us.agentUsage({ calls })), sorted(await us.agentUsage({ calls, recount: true })));
    // Seal the ended delegates: they move to the rollup, the rest is still counted live.
    await us.sealScopes(sessions.map((s) => ({ namespace: 'default', scopeId: s.scopes[1]!.scopeId })));
    assert.deepEqual(sorted(await us.agentUsage()), sorted(await us.agentUsage({ recount: true })));
    // Everything ends and is sealed: nothing is left to count live.
    await us.upsertScopes(sessions.flatMap((s) => [s.scopes[0]!, s.scopes[2]!].map((x) => ({ ...x, status: 'success' as const, endedAt: '2026-03-08T00:00:00.000Z' }))));
    await us.sealScopes(sessions.flatMap((s) => s.scopes.map((x) => ({ namespace: 'default', scopeId: x.scopeId }))));
    assert.deepEqual(await us.unsealedScopes(10), []);
    const usage = await us.agentUsage();
    assert.deepEqual(sorted(usage), sorted(await us.agentUsage({ recount: true })));
    assert.equal(usage.scopes.reduce((n, g) => n + g.count, 0), 6);
  });
});
