/** cim/seal-batches.ts: which seals share an anchor, what an anchor's memo gives back, and what verify holds a scope against. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Seal } from '../../cim/seal';
import {
  MAX_SEALS_PER_ANCHOR,
  anchoredSealOf,
  batchMemo,
  priorAnchor,
  quotableSession,
  sealBatchAnchorId,
  sealBatchPrefix,
  sealBatches,
  sealsByRun,
  sealsOfMemo,
} from '../../cim/seal-batches';

function seal(sessionId: string, scope: string, over: Partial<Seal> = {}): Seal {
  return { namespace: 'default', sessionId, scopeId: `${sessionId}${scope}`, runId: `run-${scope}`, length: 2, head: 'h'.repeat(64), scopeHash: 's'.repeat(64), ...over };
}

test('seals are anchored by namespace and session, in scope order, at most MAX_SEALS_PER_ANCHOR an anchor', () => {
  const many = Array.from({ length: MAX_SEALS_PER_ANCHOR + 5 }, (_, i) => seal('A', `.${String(i).padStart(3, '0')}`));
  const batches = sealBatches([seal('B', '.2'), ...many.slice().reverse(), seal('B', '.1'), seal('B', '.1', { namespace: 'other' })]);
  assert.deepEqual(
    batches.map((b) => [b[0]!.namespace, b[0]!.sessionId, b.length]),
    [
      ['default', 'B', 2],
      ['default', 'A', MAX_SEALS_PER_ANCHOR],
      ['default', 'A', 5],
      ['other', 'B', 1],
    ],
  );
  assert.deepEqual(batches[1]!.map((s) => s.scopeId), many.slice(0, MAX_SEALS_PER_ANCHOR).map((s) => s.scopeId));
  for (const b of batches) assert.ok(b.every((s) => s.sessionId === b[0]!.sessionId && s.namespace === b[0]!.namespace));
});

test('an anchor id names its session and changes with anything it holds, not with the order seals came in', () => {
  const a = [seal('S', '.1'), seal('S', '.2')];
  const id = sealBatchAnchorId(sealBatches(a)[0]!);
  assert.match(id, /^scopetrail-seals\/S\/[0-9a-f]{32}$/);
  assert.ok(id.startsWith(sealBatchPrefix('S')) && !id.startsWith(sealBatchPrefix('S:')));
  assert.equal(sealBatchAnchorId(sealBatches(a.slice().reverse())[0]!), id);
  assert.notEqual(sealBatchAnchorId(sealBatches([seal('S', '.1'), seal('S', '.2', { length: 3 })])[0]!), id);
  assert.notEqual(sealBatchAnchorId(sealBatches([seal('S', '.1')])[0]!), id);
});

test('a memo gives back exactly the seals it was made of; entries that do not parse are dropped, a memo that does not parse gives none', () => {
  const seals = [seal('S', '.1'), seal('S', '.2', { head: null, length: 0 })];
  assert.deepEqual(sealsOfMemo(JSON.parse(JSON.stringify(batchMemo(seals)))), seals);
  const memo = batchMemo(seals) as { seals: unknown[] };
  memo.seals.push({ scopeId: 'S.3', runId: 'r', length: -1, head: null, scopeHash: 'x' }, 'junk');
  assert.deepEqual(sealsOfMemo(memo), seals);
  assert.deepEqual(sealsOfMemo({ namespace: 'default', seals: [] }), []);
  assert.deepEqual(sealsOfMemo(undefined), []);
  assert.deepEqual(sealsOfMemo({ namespace: 'default', sessionId: 'S', seals: Array(MAX_SEALS_PER_ANCHOR + 1).fill(memo.seals[0]) }), []);
});

test('a seal about to be anchored meets what Temporal holds for its scope run: nothing, the same chain, or another', () => {
  const mine = seal('S', '.1');
  assert.deepEqual(priorAnchor(mine, undefined), { state: 'none' });
  assert.deepEqual(priorAnchor(mine, []), { state: 'none' });
  assert.deepEqual(priorAnchor(mine, [{ ...mine }]), { state: 'same' });
  const other = { ...mine, head: 'f'.repeat(64) };
  assert.deepEqual(priorAnchor(mine, [{ ...mine }, other]), { state: 'conflict', anchored: other });
});

test('verify holds a scope against the seal of its first run that has one; two different seals of one run conflict', () => {
  const first = seal('S', '.1');
  const later = seal('S', '.1', { runId: 'run-later', length: 5 });
  const forged = { ...first, head: 'f'.repeat(64) };
  const byRun = sealsByRun([first, later, { ...first }]);
  assert.deepEqual(anchoredSealOf(first.scopeId, ['run-later', first.runId], byRun), { state: 'anchored', seal: later });
  assert.deepEqual(anchoredSealOf(first.scopeId, ['unknown', first.runId], byRun), { state: 'anchored', seal: first });
  assert.deepEqual(anchoredSealOf(first.scopeId, ['unknown'], byRun), { state: 'absent' });
  assert.deepEqual(anchoredSealOf('S.9', [first.runId], byRun), { state: 'absent' });
  assert.deepEqual(anchoredSealOf(first.scopeId, [first.runId], sealsByRun([first, forged, { ...first }])), { state: 'conflicting', seals: [first, forged] });
});

test('only session ids scopetrail accepts are quoted into a visibility query', () => {
  assert.ok(quotableSession('research-2026_11:a@b'));
  for (const bad of ["x' OR WorkflowType != '", 'a b', '', 'a.1', 'a/b', 'x'.repeat(151)]) assert.equal(quotableSession(bad), false, bad);
});
