/**
 * Sealing from what the worker committed (store/seal-source.ts, worker/committed-actions.ts):
 * the chain is the one reading the rows back would give, and any row the worker's own
 * transactions did not write last sends its scope back to reading.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pgliteExecutor } from '../../store/pglite';
import { SqlStore, type SqlExecutor } from '../../store/sql-store';
import { chainGenesis, computeChain, scopeHash, verifyChains, type AnchorLookup } from '../../store/chain';
import { linksOfScopeRow } from '../../store/chain-links';
import { CommittedActionCache, compactWeight } from '../../worker/committed-actions';
import { hashHeldScope } from '../../store/seal-source';
import { Recorder } from '../../worker/recorder';
import { actionAsStored } from '../../store/rows';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { action, scope } from './fixtures';
import { observedExecutor } from '../helpers/observed-executor';
import { slowWrites } from '../helpers/delayed-store';

/** A PGlite store that counts full reads of action rows (the read-back the cache avoids). */
function countingStore(): { store: SqlStore; readsBack: () => number; monthsLookedUp: () => number; db: SqlExecutor } {
  const db = pgliteExecutor(undefined);
  let reads = 0;
  let lookups = 0;
  const counted = observedExecutor(db, (sql) => {
    if (/FROM \S*actions a\s+WHERE a\.namespace = \$2 AND a\.scope_id = ids\.scope_id AND a\.session_started_at = ids\.started\s+AND a\.session_started_at BETWEEN \$4 AND \$5 OFFSET 0/.test(sql)) reads += 1;
    if (/^SELECT ids\.scope_id, k\.started FROM/.test(sql)) lookups += 1;
  });
  return { store: new SqlStore(counted, 'counting PGlite'), readsBack: () => reads, monthsLookedUp: () => lookups, db };
}

const ms = (n: number) => new Date(Date.UTC(2026, 0, 1) + n).toISOString();
const s1 = scope('s1', { sessionId: 'sess', path: '/s1/' });
const s2 = scope('s2', { sessionId: 'sess', path: '/s1/s2/', parentScopeId: 's1', kind: 'delegation', depth: 1 });
function actionsOf(owner: ScopeRecord, n: number): ActionRecord[] {
  return Array.from({ length: n }, (_, i) =>
    action(`${owner.scopeId}/a${i + 1}#1`, owner.scopeId, {
      sessionId: 'sess', name: 'search', startedAt: ms(100 + i * 10), endedAt: ms(105 + i * 10),
      resources: [{ uri: `web:search/${i}`, mode: 'read' }], attributes: { tokens: i, note: 'ü\u0000x' },
    }),
  );
}

let a: ReturnType<typeof countingStore>;
let b: ReturnType<typeof countingStore>;
before(async () => {
  a = countingStore();
  b = countingStore();
  await a.store.migrate();
  await b.store.migrate();
});
after(async () => {
  await a?.store.close();
  await b?.store.close();
});

async function write(store: SqlStore, cache: CommittedActionCache | undefined, batch: { scopes?: ScopeRecord[]; actions?: ActionRecord[] }) {
  const { xid } = await store.writeBatch(batch);
  assert.ok(xid, 'the store names the transaction');
  cache?.committed(batch, xid);
}

test('a scope sealed from the committed records gets the chain that reading its rows back gives, without reading them', async () => {
  const cache = new CommittedActionCache();
  const running = actionsOf(s1, 3).map((r) => ({ ...r, status: 'running' as const, endedAt: null }));
  // Written as a worker writes: running rows first, then the finished ones, then the scope.
  for (const batch of [{ actions: running, scopes: [{ ...s1, status: 'running' as const, endedAt: null }] }, { actions: actionsOf(s1, 3) }, { scopes: [s1] }]) {
    await write(a.store, cache, batch);
    await write(b.store, undefined, batch);
  }
  const before = a.readsBack();
  await a.store.sealScopes([{ namespace: 'default', scopeId: 's1' }], undefined, cache);
  assert.equal(a.readsBack(), before, 'no action row was read back');
  await b.store.sealScopes([{ namespace: 'default', scopeId: 's1' }]);
  const [ca, cb] = [await a.store.chainsOfSession('sess'), await b.store.chainsOfSession('sess')];
  assert.deepEqual(ca, cb, 'the same links and seal as sealing from the rows');
  assert.equal(ca.chains[0]!.chainLength, 3);
  assert.deepEqual(verifyChains('sess', ca).problems, []);
});

test('a row another writer changed after the worker committed it is hashed as stored, not as the worker remembers it', async () => {
  const cache = new CommittedActionCache();
  const mine = actionsOf(s2, 2);
  await write(a.store, cache, { actions: mine });
  // Another worker (or a replay) writes a different finished version of the second action.
  await a.store.upsertActions([{ ...mine[1]!, outputDigest: 'sha256:other' }]);
  await write(a.store, cache, { scopes: [s2] });
  const before = a.readsBack();
  await a.store.sealScopes([{ namespace: 'default', scopeId: 's2' }], undefined, cache);
  assert.equal(a.readsBack(), before + 1, 'the scope was read back');
  const chains = await a.store.chainsOfSession('sess');
  assert.deepEqual(verifyChains('sess', chains).problems, []);
  assert.equal(chains.chains.find((c) => c.scope.scopeId === 's2')!.actions[1]!.record.outputDigest, 'sha256:other');
});

test('an action row the worker never wrote sends the scope back to reading, so the chain includes it', async () => {
  const cache = new CommittedActionCache();
  const s3 = scope('s3', { sessionId: 'sess', path: '/s1/s3/', parentScopeId: 's1', kind: 'delegation', depth: 1 });
  await write(a.store, cache, { actions: actionsOf(s3, 2) });
  await a.store.upsertActions([action('s3/a9#1', 's3', { sessionId: 'sess', startedAt: ms(500), endedAt: ms(501) })]);
  await write(a.store, cache, { scopes: [s3] });
  await a.store.sealScopes([{ namespace: 'default', scopeId: 's3' }], undefined, cache);
  const chains = await a.store.chainsOfSession('sess');
  assert.equal(chains.chains.find((c) => c.scope.scopeId === 's3')!.chainLength, 3);
  assert.deepEqual(verifyChains('sess', chains).problems, []);
});

test('a chain hashed ahead is the one sealed while the scope is unchanged; a record added after it has the chain hashed again, or the scope read back where its records were dropped', async () => {
  const store = a.store;
  const readBefore = a.readsBack();
  const cache = new CommittedActionCache();
  const sess = (r: ActionRecord) => ({ ...r, sessionId: 'ahead-sess' });
  const ahead = scope('ahead', { sessionId: 'ahead-sess', path: '/ahead/' });
  const late = scope('late', { sessionId: 'ahead-sess', path: '/ahead/late/', parentScopeId: 'ahead', kind: 'delegation', depth: 1 });
  const pair = scope('pair', { sessionId: 'ahead-sess', path: '/ahead/pair/', parentScopeId: 'ahead', kind: 'delegation', depth: 1 });
  const lateActions = actionsOf(late, 4).map(sess);
  const pairActions = actionsOf(pair, 3).map(sess);
  await write(store, cache, { actions: actionsOf(ahead, 3).map(sess), scopes: [ahead] });
  await write(store, cache, { actions: lateActions.slice(0, 3), scopes: [late] });
  await write(store, cache, { actions: pairActions.slice(0, 2), scopes: [pair] });
  const key = (scopeId: string) => ({ namespace: 'default', scopeId });
  assert.equal(cache.hashAhead(key('ahead'), hashHeldScope), true);
  assert.equal(cache.hashAhead(key('ahead'), hashHeldScope), false, 'hashed once');
  assert.equal(cache.hashAhead(key('late'), hashHeldScope), true);
  assert.equal(cache.hashAhead(key('pair'), hashHeldScope), true);
  assert.equal(cache.of('default', 'ahead')!.hashed!.length, 3);
  assert.equal(cache.of('default', 'ahead')!.actions, undefined, 'the records are dropped, the chain kept');
  assert.equal(cache.of('default', 'pair')!.actions!.length, 2, 'two records take no more room than their chain: kept');
  // Late records reach the ended scopes after their chains were hashed ahead.
  await write(store, cache, { actions: [lateActions[3]!, pairActions[2]!] });
  assert.equal(cache.of('default', 'late'), undefined, 'the chain hashed ahead no longer covers the scope, and its records are gone: read back');
  assert.deepEqual([cache.of('default', 'pair')!.actions!.length, cache.of('default', 'pair')!.hashed], [3, undefined], 'kept records: hashed again when sealed');
  assert.equal(cache.hashAhead(key('running'), hashHeldScope), false, 'nothing held, nothing hashed');
  await store.sealScopes(['ahead', 'late', 'pair'].map(key), undefined, cache);
  assert.equal(a.readsBack() - readBefore, 1, 'one read, for the scope whose records were dropped');
  const chains = await store.chainsOfSession('ahead-sess');
  assert.deepEqual(verifyChains('ahead-sess', chains).problems, []);
  assert.deepEqual(chains.chains.map((c) => [c.scope.scopeId, c.chainLength]).sort(), [['ahead', 3], ['late', 4], ['pair', 3]]);
});

test('a sealer with scopes left for later transactions hashes them while the current one writes, and they verify', async () => {
  const recorder = new Recorder(a.store, { sealer: { maxBatch: 4 } });
  const many = Array.from({ length: 12 }, (_, i) => scope(`many${i}`, { sessionId: 'many-sess', path: `/many${i}/` }));
  await Promise.all(many.map((m) => recorder.write({ scopes: [m], actions: actionsOf(m, 2).map((r) => ({ ...r, sessionId: 'many-sess' })) })));
  assert.equal(await recorder.sealer.drain(), true);
  recorder.stop();
  assert.ok(recorder.sealer.hashedAhead > 0, 'scopes of later transactions were hashed ahead');
  const chains = await a.store.chainsOfSession('many-sess');
  assert.deepEqual(verifyChains('many-sess', chains).problems, []);
  assert.deepEqual(chains.chains.map((c) => c.chainLength), many.map(() => 2));
});

test('the cache mirrors the upsert rules: a late running copy keeps the finished record, a gap fill or a running record withholds the scope', () => {
  const cache = new CommittedActionCache();
  const [done] = actionsOf(s1, 1);
  cache.committed({ actions: [done!] }, '10');
  cache.committed({ actions: [{ ...done!, status: 'running', endedAt: null }] }, '11');
  assert.deepEqual(cache.of('default', 's1'), { actions: [done], count: 1, xids: ['11'] }, 'the finished values, the row version of the later write');
  cache.committed({ actions: [{ ...done!, actionId: 's1/a2#1', status: 'running', endedAt: null }] }, '12');
  assert.equal(cache.of('default', 's1'), undefined, 'an action still running: only the store knows how it ended');
  cache.committed({ actions: actionsOf(s2, 1) }, '13');
  cache.committed({ gaps: actionsOf(s2, 1) }, '14');
  assert.equal(cache.of('default', 's2'), undefined, 'a gap fill merges with the stored row');
});

test('a scope hashed ahead keeps its chain, count and transactions in a tenth of the room; records of one that cannot be hashed stay', () => {
  const cache = new CommittedActionCache(1_000);
  const done = scope('done', { status: 'success' });
  const open = scope('open', { status: 'running', endedAt: null });
  cache.committed({ actions: actionsOf(done, 20).slice(0, 12), scopes: [done] }, '21');
  cache.committed({ actions: actionsOf(done, 20).slice(12) }, '22');
  cache.committed({ actions: actionsOf(open, 5), scopes: [open] }, '23');
  assert.deepEqual([cache.size, cache.awaitingSeal, cache.hashable], [25, 20, 20]);
  const key = (scopeId: string) => ({ namespace: 'default', scopeId });
  assert.equal(cache.hashAhead(key('open'), hashHeldScope), false, 'a running scope is not hashed ahead');
  assert.equal(cache.hashAhead(key('done'), () => undefined), false, 'a stored form that cannot be known here: the records stay');
  assert.equal(cache.hashable, 20);
  assert.equal(cache.hashAhead(key('done'), hashHeldScope), true);
  assert.deepEqual([cache.size, cache.awaitingSeal, cache.hashable], [5 + compactWeight(20), compactWeight(20), 0]);
  assert.equal(compactWeight(20), 3);
  const held = cache.of('default', 'done')!;
  assert.deepEqual({ count: held.count, xids: [...held.xids].sort(), actions: held.actions, length: held.hashed!.length }, { count: 20, xids: ['21', '22'], actions: undefined, length: 20 });
  // The hashed chain is the one the records give.
  assert.deepEqual(held.hashed, hashHeldScope('default', 'done', actionsOf(done, 20)));
  // A gap fill of a compacted scope: only the store knows its rows now.
  cache.committed({ gaps: actionsOf(done, 1) }, '24');
  assert.equal(cache.of('default', 'done'), undefined);
  assert.deepEqual([cache.size, cache.awaitingSeal], [5, 0]);
  cache.sealed([key('done')]);
  assert.equal(cache.size, 5, 'the running scope stays held');
  // A scope of two actions would not shrink: its chain is kept beside its records, and a
  // record added after it has the chain hashed again from them.
  const small = scope('small', { status: 'success' });
  cache.committed({ actions: actionsOf(small, 2), scopes: [small] }, '25');
  assert.equal(cache.hashAhead(key('small'), hashHeldScope), true);
  assert.deepEqual([cache.size, cache.awaitingSeal, cache.hashable], [7, 2, 0]);
  assert.deepEqual([cache.of('default', 'small')!.actions!.length, cache.of('default', 'small')!.hashed!.length], [2, 2]);
  cache.committed({ actions: actionsOf(small, 3).slice(2) }, '26');
  assert.deepEqual([cache.size, cache.awaitingSeal, cache.hashable], [8, 3, 3]);
  assert.equal(cache.of('default', 'small')!.hashed, undefined);
  assert.equal(cache.hashAhead(key('small'), hashHeldScope), true);
  assert.deepEqual([cache.size, cache.awaitingSeal, cache.hashable, cache.of('default', 'small')!.hashed!.length], [5 + compactWeight(3), compactWeight(3), 0, 3]);
});

test('a batch larger than the cache has the scopes that end whole in it hashed while it is written; only their chains are kept', async () => {
  const cache = new CommittedActionCache(10);
  const ended = (id: string) => scope(id, { sessionId: 'sess', path: `/${id}/`, status: 'success' });
  const [whole, pair, busy, gapped, early] = ['whole', 'pair', 'busy', 'gapped', 'early'].map(ended) as [ScopeRecord, ScopeRecord, ScopeRecord, ScopeRecord, ScopeRecord];
  const wholeActions = actionsOf(whole, 12);
  const busyActions = actionsOf(busy, 3).map((r, i) => (i === 1 ? { ...r, status: 'running' as const, endedAt: null } : r));
  cache.committed({ actions: actionsOf(early, 1) }, '40');
  const batch = {
    scopes: [whole, pair, busy, gapped, early],
    actions: [...wholeActions, ...actionsOf(pair, 2), ...busyActions, ...actionsOf(gapped, 4), ...actionsOf(early, 3)],
    gaps: actionsOf(gapped, 1),
  };
  assert.equal(cache.wouldOverflow(batch), true);
  assert.equal(cache.wouldOverflow({ actions: actionsOf(pair, 2) }), false);
  const hashing = cache.hashWhileWriting(batch, hashHeldScope);
  await hashing.finished;
  const chains = hashing.stop();
  // Not the pair (its chain would not shrink it), the scope with a running record, the one
  // with a gap fill, nor the one with records held from an earlier transaction.
  assert.deepEqual([...chains.keys()].map((k) => k.split('\u0000')[1]), ['whole']);
  cache.committed(batch, '41', chains);
  assert.deepEqual(cache.of('default', 'whole'), { count: 12, xids: ['41'], hashed: hashHeldScope('default', 'whole', wholeActions) });
  assert.ok(cache.size <= 10, `bounded: ${cache.size}`);
  assert.equal(cache.of('default', 'early'), undefined, 'the scopes held whole are forgotten first');

  // Without the chains, the batch's scopes are held whole, and the bound forgets the largest.
  const plain = new CommittedActionCache(10);
  plain.committed(batch, '41');
  assert.equal(plain.of('default', 'whole'), undefined);

  // A chain hashed while another commit added a record of its scope covers only part of it:
  // the scope's records are held whole instead.
  const raced = new CommittedActionCache(100);
  const later = ended('later');
  const laterBatch = { scopes: [later], actions: actionsOf(later, 5) };
  const racing = raced.hashWhileWriting(laterBatch, hashHeldScope);
  await racing.finished;
  raced.committed({ actions: actionsOf(later, 6).slice(5) }, '50');
  raced.committed(laterBatch, '51', racing.stop());
  const held = raced.of('default', 'later')!;
  assert.deepEqual([held.count, [...held.xids].sort(), held.hashed], [6, ['50', '51'], undefined]);

  // Stopped before it began: nothing hashed.
  const stopped = new CommittedActionCache(10).hashWhileWriting(batch, hashHeldScope);
  assert.equal(stopped.stop().size, 0);
  await stopped.finished;
  assert.equal(stopped.stop().size, 0, 'nothing hashed after the stop');

  // The write failed: nothing hashed for it is used.
  const failed = new CommittedActionCache(10).hashWhileWriting(batch, hashHeldScope);
  await failed.finished;
  failed.cancel();
  assert.equal(failed.stop().size, 0);
});

test('a burst larger than the cache is sealed from chains hashed while it was written, without reading a row back', async () => {
  const store = a.store;
  const slow = slowWrites(store, 50);
  const recorder = new Recorder(slow, { sealer: { maxHeldRecords: 20 } });
  const burst = Array.from({ length: 6 }, (_, i) => scope(`burst${i}`, { sessionId: 'burst-sess', path: `/burst${i}/` }));
  const readBefore = a.readsBack();
  await Promise.all(burst.map((m) => recorder.write({ scopes: [m], actions: actionsOf(m, 8).map((r) => ({ ...r, sessionId: 'burst-sess' })) })));
  assert.ok(recorder.sealer.committed.size <= 20, `the cache stays bounded: ${recorder.sealer.committed.size}`);
  assert.equal(await recorder.sealer.drain(), true);
  recorder.stop();
  assert.equal(a.readsBack() - readBefore, 0, 'no action row was read back');
  assert.equal(recorder.sealer.hashedAhead, 6);
  const chains = await store.chainsOfSession('burst-sess');
  assert.deepEqual(verifyChains('burst-sess', chains).problems, []);
  assert.deepEqual(chains.chains.map((c) => c.chainLength), burst.map(() => 8));
});

test('the cache is bounded: past its size the oldest scopes are forgotten, and a sealed scope is dropped', () => {
  const cache = new CommittedActionCache(4);
  cache.committed({ actions: actionsOf(s1, 3) }, '1');
  cache.committed({ actions: actionsOf(s2, 3), scopes: [s2] }, '2');
  assert.equal(cache.of('default', 's1'), undefined);
  assert.equal(cache.of('default', 's2')!.actions!.length, 3);
  cache.sealed([{ namespace: 'default', scopeId: 's2' }]);
  assert.equal(cache.size, 0);
});

test('a held record is hashed as reading its row back gives it, awkward values included', async () => {
  const base = (id: string, fields: Partial<ActionRecord>) =>
    action(`odd/${id}`, 'odd', { sessionId: 'odd-sess', startedAt: ms(700), endedAt: ms(710), ...fields });
  const records: ActionRecord[] = [
    base('nul', { name: 'na\u0000me', error: 'bad\u0000byte', status: 'error' }),
    base('surrogate', { inputDigest: 'half \ud800 pair', attributes: { note: 'x\udc00y' } }),
    base('numbers', { attributes: { zero: -0, big: 1e21, small: 1e-7, flag: true, none: null } }),
    base('keys', { attributes: { b: 1, a: 2, '10': 3, '9': 4 }, resources: [{ uri: 'db:t', mode: 'write' }] }),
    base('build', { workerDeployment: 'dep', workerBuildId: 'b-1' }),
    // What JSON does not keep as it is: an undefined value, a non-finite number.
    { ...base('not-as-is', {}), attributes: { gone: undefined, inf: Infinity }, resources: [{ uri: 'db:t', mode: 'read', note: undefined }] } as unknown as ActionRecord,
    // A field the schema does not know is not stored, so it is not hashed either.
    { ...base('extra', {}), extra: 'dropped' } as ActionRecord,
    { ...base('nested-extra', {}), resources: [{ uri: 'api:x', mode: 'read', extra: 1 }] } as unknown as ActionRecord,
  ];
  await a.store.writeBatch({ actions: records });
  const stored = new Map((await a.store.actionsOfSession('odd-sess')).map((r) => [r.actionId, r]));
  for (const r of records) assert.deepEqual(actionAsStored(r), stored.get(r.actionId), r.actionId);
  // Times the store would give back in another form cannot be known without reading them.
  assert.equal(actionAsStored(base('micro', { startedAt: '2026-01-01T00:00:00.123456Z' })), undefined);
  assert.equal(actionAsStored(base('offset', { startedAt: '2026-01-01T01:00:00.000+01:00' })), undefined);
  assert.equal(actionAsStored({ ...base('bad', {}), attempt: 0 }), undefined, 'a record that would not read back');
});

const table = (name: string) => `"scopetrail".${name}`;

test('a seal cleared in the database and sealed again keeps one chain: the old links are replaced, not added to', async () => {
  const owner = scope('relinked', { sessionId: 'relink-sess', path: '/relinked/' });
  const records = actionsOf(owner, 3).map((r) => ({ ...r, sessionId: 'relink-sess' }));
  const other = scope('untouched', { sessionId: 'relink-sess', path: '/untouched/' });
  await a.store.writeBatch({ scopes: [owner, other], actions: [...records, ...actionsOf(other, 2).map((r) => ({ ...r, sessionId: 'relink-sess' }))] });
  const keys = [{ namespace: 'default', scopeId: 'relinked' }, { namespace: 'default', scopeId: 'untouched' }];
  await a.store.sealScopes(keys);
  // Links in either table: a row per scope (migration 014), or a row per action (sealed before it).
  const links = async () => (await a.db.query<{ scope_id: string; n: number; kind: string }>(
    `SELECT scope_id, sum(n)::int AS n, string_agg(DISTINCT kind, ',') AS kind FROM (
       SELECT scope_id, count(*) AS n, 'per action' AS kind FROM ${table('action_chain')} WHERE session_id = 'relink-sess' GROUP BY scope_id
       UNION ALL
       SELECT scope_id, sum(cardinality(action_ids)), 'per scope' FROM ${table('scope_chains')} WHERE session_id = 'relink-sess' GROUP BY scope_id) l
      GROUP BY scope_id ORDER BY scope_id`,
  )).rows.map((r) => [r.scope_id, Number(r.n), r.kind]);
  assert.deepEqual(await links(), [['relinked', 3, 'per scope'], ['untouched', 2, 'per scope']]);

  // The relinked scope as a store sealed before migration 014 holds it: a link row per action.
  await a.db.query(
    `INSERT INTO ${table('action_chain')} (namespace, session_id, scope_id, chain_seq, action_id, prev_hash, hash, session_started_at)
     SELECT namespace, session_id, scope_id, i, action_ids[i], CASE WHEN i = 1 THEN $1 ELSE hashes[i - 1] END, hashes[i], session_started_at
       FROM ${table('scope_chains')}, generate_subscripts(action_ids, 1) AS i WHERE scope_id = 'relinked'`,
    [chainGenesis({ namespace: 'default', scopeId: 'relinked' })],
  );
  await a.db.query(`DELETE FROM ${table('scope_chains')} WHERE scope_id = 'relinked'`);
  assert.deepEqual(await links(), [['relinked', 3, 'per action'], ['untouched', 2, 'per scope']]);
  assert.deepEqual(verifyChains('relink-sess', await a.store.chainsOfSession('relink-sess')).problems, [], 'both forms read as the same chain');

  await a.db.query(`UPDATE ${table('scopes')} SET chain_length = NULL, chain_head = NULL, scope_hash = NULL WHERE scope_id = 'relinked'`);
  await a.store.sealScopes(keys);
  assert.deepEqual(await links(), [['relinked', 3, 'per scope'], ['untouched', 2, 'per scope']], 'one link per action, in one table, as before the seal was cleared');
  assert.deepEqual(verifyChains('relink-sess', await a.store.chainsOfSession('relink-sess')).problems, []);
});

test('a scope row\'s links are the per-action links, each previous hash the one before it; an edited value ends them', () => {
  const genesis = chainGenesis({ namespace: 'default', scopeId: 'sc' });
  assert.deepEqual(linksOfScopeRow('default', { scope_id: 'sc', action_ids: ['a', 'b"c\\', 'd'], hashes: ['h1', 'h2', 'h3'] }), [
    { action_id: 'a', chain_seq: 1, prev_hash: genesis, hash: 'h1' },
    { action_id: 'b"c\\', chain_seq: 2, prev_hash: 'h1', hash: 'h2' },
    { action_id: 'd', chain_seq: 3, prev_hash: 'h2', hash: 'h3' },
  ]);
  assert.deepEqual(linksOfScopeRow('default', { scope_id: 'sc', action_ids: ['a', null, 'd'], hashes: ['h1', 'h2', 'h3'] }).map((l) => l.action_id), ['a']);
  assert.deepEqual(linksOfScopeRow('default', { scope_id: 'sc', action_ids: ['a', 'b'], hashes: ['h1'] }).map((l) => l.action_id), ['a']);
  assert.deepEqual(linksOfScopeRow('default', { scope_id: 'sc', action_ids: 'junk', hashes: null }), []);
});

test('a chain whose stored hashes or seal were edited while its rows still match its anchor is named as the stored proof, not as changed rows', async () => {
  const chains = await a.store.chainsOfSession('sess');
  const c = chains.chains.find((x) => x.scope.scopeId === 's1')!;
  assert.ok(c.chainLength && c.actions.length > 1, 's1 was sealed by the first test');
  const links = computeChain(c.scope, c.actions.map((x) => x.record));
  const head = links.at(-1)!.hash;
  const anchors = new Map<string, AnchorLookup>([
    ['s1', { state: 'anchored', seal: { namespace: 'default', sessionId: 'sess', scopeId: 's1', runId: 'r', length: links.length, head, scopeHash: scopeHash(c.scope, head, links.length) } }],
  ]);
  const only = (edited: typeof c) => ({ chains: [edited], invalid: [] });
  assert.deepEqual(verifyChains('sess', only(c), anchors).problems, []);

  const rehashed = { ...c, actions: c.actions.map((x, i) => (i === 1 ? { ...x, hash: '0'.repeat(64) } : x)) };
  const [edited] = verifyChains('sess', only(rehashed), anchors).problems;
  assert.equal(edited?.problem, 'chain_changed');
  assert.match(edited!.detail, /hashes stored with scope s1's sealed chain were edited \(at s1\/a2#1, s1\/a3#1\)/);
  // Without the anchor, the same edit is all the store can see: a changed record.
  assert.ok(verifyChains('sess', only(rehashed)).problems.some((p) => p.problem === 'changed'));

  const cleared = { ...c, chainLength: null, chainHead: null, scopeHash: null };
  const [unsealed] = verifyChains('sess', only(cleared), anchors).problems;
  assert.equal(unsealed?.problem, 'unsealed');
  assert.match(unsealed!.detail, /sealed in Temporal and its rows match that seal, but the store holds no seal of it \(cleared, or its sealing did not commit\)$/);
  // Seconds after the scope ended, the same state is a sealing under way, and says so first.
  const endedMs = Date.parse(c.scope.endedAt!);
  const [recent] = verifyChains('sess', only(cleared), anchors, endedMs + 2_000).problems;
  assert.equal(recent?.problem, 'unsealed');
  assert.equal(recent!.detail, "scope s1 ended 2 s ago and its sealing is under way: its seal is anchored in Temporal and its rows match it; the store's copy of the seal is not committed yet");

  // A row changed as well: the anchor disagrees, and every finding is reported as it is.
  const changedRow = { ...rehashed, actions: rehashed.actions.map((x, i) => (i === 0 ? { ...x, record: { ...x.record, name: 'other' } } : x)) };
  const found = verifyChains('sess', only(changedRow), anchors).problems.map((p) => p.problem);
  assert.ok(found.includes('anchor_mismatch') && found.includes('changed') && !found.includes('chain_changed'), found.join());
});

/** A session of one scope and one call, all at `started`; the start carried in its records unless `carried` is false. */
function oneCallSession(id: string, started: string, carried = true): { scopes: ScopeRecord[]; actions: ActionRecord[] } {
  const start = carried ? { sessionStartedAt: started } : {};
  return {
    scopes: [scope(id, { sessionId: id, startedAt: started, endedAt: started, ...start })],
    actions: [action(`${id}/a1#1`, id, { sessionId: id, startedAt: started, endedAt: started, ...start })],
  };
}

test('sealing looks a scope up in its session\'s month: a key with the start seals as one without, and one with another month\'s start seals nothing until the sweep gives the stored one', async () => {
  const started = '2026-03-01T10:00:00.000Z';
  for (const id of ['month-given', 'month-looked-up', 'month-wrong']) await a.store.writeBatch(oneCallSession(id, started));
  await a.store.sealScopes([{ namespace: 'default', scopeId: 'month-given', sessionStartedAt: started }]);
  await a.store.sealScopes([{ namespace: 'default', scopeId: 'month-looked-up' }]);
  await a.store.sealScopes([{ namespace: 'default', scopeId: 'month-wrong', sessionStartedAt: '2026-04-01T10:00:00.000Z' }]);
  const sealed = async (id: string) => {
    const chains = await a.store.chainsOfSession(id);
    assert.deepEqual(verifyChains(id, chains).problems.filter((p) => p.problem !== 'unsealed'), [], id);
    return chains.chains[0]!.chainLength;
  };
  assert.equal(await sealed('month-given'), 1);
  assert.equal(await sealed('month-looked-up'), 1);
  assert.equal(await sealed('month-wrong'), null, 'no row of that scope in April');
  const swept = (await a.store.unsealedScopes(1_000)).find((k) => k.scopeId === 'month-wrong');
  assert.ok(swept, 'the sweep lists it');
  assert.equal(new Date(swept.sessionStartedAt!).toISOString(), started, 'with the start its row has');
  await a.store.sealScopes([swept]);
  assert.equal(await sealed('month-wrong'), 1);
});

test('an action row of a scope kept in another month than its session is not sealed into the scope\'s chain, and verify reports it', async () => {
  const started = '2026-06-01T10:00:00.000Z';
  const id = 'month-stray';
  await a.store.writeBatch(oneCallSession(id, started));
  // Written by someone who can write the tables, into July's partition.
  await a.store.upsertActions([action(`${id}/a2#1`, id, { sessionId: id, sessionStartedAt: '2026-07-01T10:00:00.000Z', startedAt: started, endedAt: started })]);
  await a.store.sealScopes([{ namespace: 'default', scopeId: id, sessionStartedAt: started }]);
  const chains = await a.store.chainsOfSession(id);
  assert.equal(chains.chains[0]!.chainLength, 1, 'the chain holds the row in the session\'s month');
  const problems = verifyChains(id, chains).problems;
  assert.deepEqual(problems.map((p) => [p.recordId, p.problem]), [[`${id}/a2#1`, 'inserted']]);
});

test('a worker seals with the session\'s start its records carry, so no scope\'s month is looked up; records without one have it looked up', async () => {
  const started = '2026-08-01T10:00:00.000Z';
  const sealedWith = async (prefix: string, carried: boolean) => {
    const recorder = new Recorder(a.store);
    const before = a.monthsLookedUp();
    const ids = [1, 2, 3].map((i) => `${prefix}${i}`);
    for (const id of ids) await recorder.write(oneCallSession(id, started, carried));
    assert.equal(await recorder.sealer.drain(), true);
    recorder.stop();
    for (const id of ids) assert.equal((await a.store.chainsOfSession(id)).chains[0]!.chainLength, 1, id);
    return a.monthsLookedUp() - before;
  };
  assert.equal(await sealedWith('carried', true), 0);
  assert.ok((await sealedWith('uncarried', false)) > 0);
});

test('a key whose session start is not a time is looked up instead, and seals', async () => {
  const started = '2026-09-01T10:00:00.000Z';
  const id = 'month-garbled';
  await a.store.writeBatch(oneCallSession(id, started));
  const before = a.monthsLookedUp();
  await a.store.sealScopes([{ namespace: 'default', scopeId: id, sessionStartedAt: "'; DROP TABLE scopes; --" }]);
  assert.equal(a.monthsLookedUp() - before, 1);
  assert.equal((await a.store.chainsOfSession(id)).chains[0]!.chainLength, 1);
});
