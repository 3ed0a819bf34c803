/** Attenuation rules (cim/allowance.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowed, intersectAllowances, outside, permits } from '../../cim/allowance';

test('a pattern permits its exact uri, and a trailing * permits the prefix', () => {
  assert.ok(permits('db:notes', 'db:notes'));
  assert.ok(!permits('db:notes', 'db:notes/x'));
  assert.ok(permits('db:notes*', 'db:notes/x'));
  assert.ok(permits('db:notes*', 'db:notes'));
  assert.ok(!permits('db:notes*', 'db:note'));
});

test('null is unrestricted and [] permits nothing', () => {
  assert.ok(allowed(null, 'anything'));
  assert.ok(!allowed([], 'anything'));
});

test('intersection keeps the narrower pattern and drops disjoint ones', () => {
  assert.deepEqual(intersectAllowances(['data:*'], ['data:public*']), ['data:public*']);
  assert.deepEqual(intersectAllowances(['data:public*'], ['data:*']), ['data:public*']);
  assert.deepEqual(intersectAllowances(['data:public*'], ['data:restricted*']), []);
  assert.deepEqual(intersectAllowances(['a', 'b*'], ['b/1', 'c']), ['b/1']);
  assert.deepEqual(intersectAllowances(null, ['x']), ['x']);
  assert.deepEqual(intersectAllowances(['x'], null), ['x']);
  assert.equal(intersectAllowances(null, null), null);
});

test('an intersection never permits what either side refuses', () => {
  const sides = [null, [], ['a*'], ['a/b'], ['a/b*', 'c'], ['c*'], ['*']];
  const uris = ['a', 'a/b', 'a/b/c', 'c', 'c/d', 'x'];
  for (const a of sides) for (const b of sides) {
    const both = intersectAllowances(a, b);
    for (const u of uris) {
      if (allowed(both, u)) assert.ok(allowed(a, u) && allowed(b, u), `${JSON.stringify(both)} permits ${u}`);
    }
  }
});

test('outside lists the refused uris', () => {
  assert.deepEqual(outside(['a*'], ['a/1', 'b', 'a']), ['b']);
});
