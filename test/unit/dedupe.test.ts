/**
 * One row per key in a batch (store/bulk-write.ts): `dedupeRecords` answers what
 * `dedupe` answers for the same key and merge, and returns the batch as given when no
 * key is there twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionWins, dedupe, dedupeRecords, finishedWins } from '../../store/bulk-write';

interface R {
  namespace: string;
  id: string;
  status: string;
}
const r = (namespace: string, id: string, status = 'success'): R => ({ namespace, id, status });
const generic = (records: readonly R[]) => dedupe(records, (x) => `${x.namespace}\u0000${x.id}`, finishedWins);

test('a batch of one namespace without an id twice is answered as given', () => {
  const batch = [r('default', 'a'), r('default', 'b'), r('default', 'c')];
  assert.equal(dedupeRecords(batch, (x) => x.id, finishedWins), batch);
  assert.deepEqual(dedupeRecords([], (x: R) => x.id, finishedWins), []);
});

test('an id twice, or several namespaces, are merged as dedupe merges them', () => {
  const cases: R[][] = [
    [r('default', 'a', 'running'), r('default', 'b'), r('default', 'a', 'success')],
    [r('default', 'a', 'success'), r('default', 'a', 'running')],
    // The same id in two namespaces is two rows.
    [r('default', 'a'), r('other', 'a'), r('other', 'a', 'running'), r('default', 'b')],
    [r('other', 'x'), r('default', 'x')],
  ];
  for (const batch of cases) assert.deepEqual(dedupeRecords(batch, (x) => x.id, finishedWins), generic(batch), JSON.stringify(batch));
  assert.deepEqual(dedupeRecords(cases[0]!, (x) => x.id, finishedWins), [r('default', 'a', 'success'), r('default', 'b')]);
  assert.equal(dedupeRecords(cases[2]!, (x) => x.id, finishedWins).length, 3);
});

test('actions: the outcome Temporal took late wins over the overrun row in either order, and otherwise the finished copy wins as for any record', () => {
  type A = { status: string; attributes: Record<string, unknown> };
  const overrun: A = { status: 'error', attributes: { timedOut: true } };
  const accepted: A = { status: 'success', attributes: { finishedAfterDeadline: true } };
  const running: A = { status: 'running', attributes: {} };
  assert.equal(actionWins(accepted, overrun), accepted);
  assert.equal(actionWins(overrun, accepted), accepted);
  assert.equal(actionWins(accepted, running), accepted);
  assert.equal(actionWins(running, overrun), overrun);
  const other: A = { status: 'error', attributes: {} };
  assert.equal(actionWins(accepted, other), other, 'only the overrun row gives way');
});
