/** cim/seal-sets.ts: which sessions' seals share an anchor, what it lists and holds, and the query that finds it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Seal } from '../../cim/seal';
import { MAX_SEALS_PER_ANCHOR } from '../../cim/seal-batches';
import {
  MAX_MEMO_BYTES,
  MAX_SESSION_LIST_BYTES,
  SEALED_SESSIONS_ATTRIBUTE,
  SEAL_SET_PREFIX,
  sealSetAnchorId,
  sealSetMemo,
  sealSetQuery,
  sealSetSessions,
  sealSets,
  sealsOfSetMemo,
} from '../../cim/seal-sets';

function seal(sessionId: string, scope: string, over: Partial<Seal> = {}): Seal {
  return { namespace: 'default', sessionId, scopeId: `${sessionId}${scope}`, runId: `run-${scope}`, length: 2, head: 'h'.repeat(64), scopeHash: 's'.repeat(64), ...over };
}

test('the seals of several sessions share one anchor per namespace, in session and scope order', () => {
  const sets = sealSets([seal('B', '.2'), seal('A', ''), seal('B', '.1'), seal('C', '.1', { namespace: 'other' }), seal('A', '.1')]);
  assert.deepEqual(
    sets.map((s) => s.map((x) => `${x.namespace}/${x.scopeId}`)),
    [['default/A', 'default/A.1', 'default/B.1', 'default/B.2'], ['other/C.1']],
  );
  assert.deepEqual(sealSetSessions(sets[0]!), ['A', 'B']);
});

test('an anchor\'s memo stays under the 2 KB Temporal warns about, and its session list within the attribute limit', () => {
  const memoBytes = (s: Seal[]) => Buffer.byteLength(JSON.stringify(sealSetMemo(s)));
  const listBytes = (s: Seal[]) => Buffer.byteLength(JSON.stringify(sealSetSessions(s)));
  // Session ids of every length up to the most a session id may have (150 characters).
  for (const length of [1, 16, 40, 150]) {
    const id = (i: number) => `${String(i).padStart(4, '0')}${'x'.repeat(Math.max(0, length - 4))}`;
    const seals = Array.from({ length: 60 }, (_, i) => seal(id(i), i % 3 ? `.${i % 3}` : ''));
    const sets = sealSets(seals);
    assert.deepEqual(sets.flat().map((s) => s.scopeId), [...seals].sort((a, b) => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : a.scopeId < b.scopeId ? -1 : 1)).map((s) => s.scopeId), 'every seal once, in order');
    for (const s of sets) {
      assert.ok(s.length <= MAX_SEALS_PER_ANCHOR);
      assert.ok(memoBytes(s) <= MAX_MEMO_BYTES, `memo of ${memoBytes(s)} bytes`);
      assert.ok(listBytes(s) <= MAX_SESSION_LIST_BYTES);
    }
    // Each anchor but the last is full: the next seal would not have fit.
    for (let i = 0; i + 1 < sets.length; i++) assert.ok(memoBytes([...sets[i]!, sets[i + 1]![0]!]) > MAX_MEMO_BYTES, `anchor ${i} of ${sets.length} could take more`);
    assert.ok(sets.length > 1 && sets.length < seals.length, `${sets.length} anchors for ${seals.length} seals`);
  }
  // One session's seals may span two anchors; each lists it.
  const split = sealSets([...Array.from({ length: 30 }, (_, i) => seal('A', `.${String(i).padStart(3, '0')}`)), seal('B', '.1')]);
  assert.equal(split.at(-1)!.at(-1)!.sessionId, 'B');
  assert.ok(split.filter((s) => s.some((x) => x.sessionId === 'A')).length > 1, 'A spans several anchors');
  for (const s of split) assert.deepEqual(sealSetSessions(s), [...new Set(s.map((x) => x.sessionId))]);
});

test('a session id that could not be quoted into a query is never listed', () => {
  assert.throws(() => sealSets([seal("x' OR WorkflowId != '", '')]), /cannot be listed/);
  assert.throws(() => sealSetQuery('T', ["a') OR ('1' = '1"]), /cannot be quoted/);
  assert.equal(sealSetQuery('T', ['a', 'b:1']), `WorkflowType = 'T' AND ${SEALED_SESSIONS_ATTRIBUTE} IN ('a', 'b:1')`);
});

test('a memo gives back exactly its seals; entries that do not parse are dropped, a memo that does not parse gives none', () => {
  const seals = [seal('A', '.1'), seal('B', '.2', { head: null, length: 0 })];
  assert.deepEqual(sealsOfSetMemo(JSON.parse(JSON.stringify(sealSetMemo(seals)))), seals);
  const memo = sealSetMemo(seals) as { seals: unknown[] };
  memo.seals.push({ sessionId: 'C', scopeId: 'C', runId: 'r', length: -1, head: null, scopeHash: 'x' }, { scopeId: 'D', runId: 'r', length: 1, head: null, scopeHash: 'x' }, 'junk');
  assert.deepEqual(sealsOfSetMemo(memo), seals);
  assert.deepEqual(sealsOfSetMemo({ namespace: 'default', seals: [] }), []);
  assert.deepEqual(sealsOfSetMemo(undefined), []);
  assert.deepEqual(sealsOfSetMemo({ namespace: 'default', seals: Array(MAX_SEALS_PER_ANCHOR + 1).fill(memo.seals[0]) }), []);
});

test('an anchor id changes with anything it holds, not with the order seals came in, and is under no session prefix', () => {
  const a = [seal('A', '.1'), seal('B', '.2')];
  const id = sealSetAnchorId(sealSets(a)[0]!);
  assert.match(id, new RegExp(`^${SEAL_SET_PREFIX}[0-9a-f]{32}$`));
  assert.ok(!id.startsWith('scopetrail-seals/'));
  assert.equal(sealSetAnchorId(sealSets(a.slice().reverse())[0]!), id);
  assert.notEqual(sealSetAnchorId(sealSets([seal('A', '.1'), seal('B', '.2', { length: 3 })])[0]!), id);
  assert.notEqual(sealSetAnchorId(sealSets([seal('A', '.1'), seal('B', '.2', { sessionId: 'C' })])[0]!), id);
});
