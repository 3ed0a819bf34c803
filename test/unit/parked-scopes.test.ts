/** The sealer's parked scopes (worker/parked-scopes.ts): one timer per scope, replaced when parked again. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParkedScopes } from '../../worker/parked-scopes';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a parked scope comes back once, when its time is up, and is no longer parked then', async () => {
  const parked = new ParkedScopes<string>();
  const due: string[] = [];
  parked.park('a', 'first', 10, (item) => due.push(item));
  assert.equal(parked.has('a'), true);
  assert.equal(parked.get('a'), 'first');
  await sleep(40);
  assert.deepEqual(due, ['first']);
  assert.equal(parked.has('a'), false);
  assert.equal(parked.size, 0);
});

test('parking a scope again replaces its entry and its timer: the earlier timer never hands it back', async () => {
  const parked = new ParkedScopes<string>();
  const due: string[] = [];
  parked.park('a', 'first', 10, (item) => due.push(item));
  parked.park('a', 'second', 60, (item) => due.push(item));
  await sleep(30);
  assert.deepEqual(due, [], 'the first timer was stopped');
  assert.equal(parked.get('a'), 'second');
  await sleep(60);
  assert.deepEqual(due, ['second']);
});

test('released early, a scope is returned without its due callback; clear stops every timer', async () => {
  const parked = new ParkedScopes<number>();
  const due: number[] = [];
  parked.park('a', 1, 10, (n) => due.push(n));
  parked.park('b', 2, 10, (n) => due.push(n));
  parked.park('c', 3, 10, (n) => due.push(n));
  assert.deepEqual(parked.ids().sort(), ['a', 'b', 'c']);
  assert.equal(parked.release('a'), 1);
  assert.equal(parked.release('a'), undefined);
  parked.clear();
  await sleep(40);
  assert.deepEqual(due, []);
  assert.equal(parked.size, 0);
});
