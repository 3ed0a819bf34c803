/** cim/seal-sets.ts: which sessions' seals share an anchor, what it lists and holds, and the query that finds it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Seal } from '../../cim/seal';
import { MAX_SEALS_PER_ANCHOR } from '../../cim/seal-batches';
import {
  MAX_SESSION_LIST_BYTES,
  SEALED_SESSIONS_ATTRIBUTE,
  SEAL_SET_PREFIX,
  sealSetAnchorId,
  sealSetInput,
  sealSetQuery,
  sealSetSessions,
  sealSets,
  sealsOfSetInput,
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

test('an anchor holds at most MAX_SEALS_PER_ANCHOR seals, and its session list stays within the attribute limit', () => {
  const many = Array.from({ length: MAX_SEALS_PER_ANCHOR * 2 + 3 }, (_, i) => seal('S', `.${String(i).padStart(4, '0')}`));
  assert.deepEqual(sealSets(many).map((s) => s.length), [MAX_SEALS_PER_ANCHOR, MAX_SEALS_PER_ANCHOR, 3]);

  // Long session ids (150 characters, the most a session id may have): the list, not the seal count, bounds an anchor.
  const long = (i: number) => `${String(i).padStart(4, '0')}${'x'.repeat(146)}`;
  const seals = Array.from({ length: 40 }, (_, i) => seal(long(i), ''));
  const sets = sealSets(seals);
  assert.ok(sets.length > 1, 'split by the size of the session list');
  for (const s of sets) assert.ok(Buffer.byteLength(JSON.stringify(sealSetSessions(s))) <= MAX_SESSION_LIST_BYTES);
  assert.deepEqual(sets.flat().map((s) => s.sessionId), seals.map((s) => s.sessionId), 'every seal once, in order');
  // A set is filled before the next begins (each but the last could not take one more session).
  for (let i = 0; i + 1 < sets.length; i++) {
    assert.ok(Buffer.byteLength(JSON.stringify([...sealSetSessions(sets[i]!), sets[i + 1]![0]!.sessionId])) > MAX_SESSION_LIST_BYTES);
  }
  // One session's seals may span two anchors; each lists it.
  const split = sealSets([...Array.from({ length: MAX_SEALS_PER_ANCHOR - 1 }, (_, i) => seal('A', `.${String(i).padStart(3, '0')}`)), seal('B', '.1'), seal('B', '.2')]);
  assert.deepEqual(split.map(sealSetSessions), [['A', 'B'], ['B']]);
});

test('a session id that could not be quoted into a query is never listed', () => {
  assert.throws(() => sealSets([seal("x' OR WorkflowId != '", '')]), /cannot be listed/);
  assert.throws(() => sealSetQuery('T', ["a') OR ('1' = '1"]), /cannot be quoted/);
  assert.equal(sealSetQuery('T', ['a', 'b:1']), `WorkflowType = 'T' AND ${SEALED_SESSIONS_ATTRIBUTE} IN ('a', 'b:1')`);
});

test('an input gives back exactly its seals; entries that do not parse are dropped, an input that does not parse gives none', () => {
  const seals = [seal('A', '.1'), seal('B', '.2', { head: null, length: 0 })];
  assert.deepEqual(sealsOfSetInput(JSON.parse(JSON.stringify(sealSetInput(seals)))), seals);
  const input = sealSetInput(seals) as { seals: unknown[] };
  input.seals.push({ sessionId: 'C', scopeId: 'C', runId: 'r', length: -1, head: null, scopeHash: 'x' }, { scopeId: 'D', runId: 'r', length: 1, head: null, scopeHash: 'x' }, 'junk');
  assert.deepEqual(sealsOfSetInput(input), seals);
  assert.deepEqual(sealsOfSetInput({ namespace: 'default', seals: [] }), []);
  assert.deepEqual(sealsOfSetInput(undefined), []);
  assert.deepEqual(sealsOfSetInput({ namespace: 'default', seals: Array(MAX_SEALS_PER_ANCHOR + 1).fill(input.seals[0]) }), []);
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
