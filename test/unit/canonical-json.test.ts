import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../cim/canonical-json';
import { digest } from '../../worker/digest';

test('equal values serialize identically whatever the key order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, 2], c: null } }), canonicalJson({ a: { c: null, d: [1, 2] }, b: 1 }));
  assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
  assert.equal(digest({ x: 1, y: 2 }), digest({ y: 2, x: 1 }));
  assert.notEqual(digest({ x: 1 }), digest({ x: 2 }));
});

test('arrays keep their order; undefined members are dropped; dates become ISO strings', () => {
  assert.equal(canonicalJson([3, 1, 2]), '[3,1,2]');
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  assert.equal(canonicalJson([undefined]), '[null]');
  assert.equal(canonicalJson(new Date('2026-01-02T03:04:05.000Z')), '"2026-01-02T03:04:05.000Z"');
});

test('a cycle is a TypeError, not a hang', () => {
  const a: Record<string, unknown> = {};
  a.self = a;
  assert.throws(() => canonicalJson(a), TypeError);
});

test('digests are sha-256 of the canonical JSON', () => {
  assert.match(digest('x'), /^sha256:[0-9a-f]{64}$/);
  assert.equal(digest(undefined), digest(null));
});
