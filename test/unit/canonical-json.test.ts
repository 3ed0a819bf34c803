/** Canonical JSON (cim/canonical-json.ts) and the digests built on it. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../cim/canonical-json';
import { digest } from '../../store/digest';
import fc from 'fast-check';

describe('canonicalJson', () => {
  test('equal values serialize identically whatever the key order', () => {
    assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
    assert.equal(canonicalJson({ b: 1, a: 2 }), canonicalJson({ a: 2, b: 1 }));
    assert.equal(canonicalJson({ z: true, m: null, a: 'x' }), '{"a":"x","m":null,"z":true}');
  });

  test('nested objects are sorted at every level, including objects inside arrays', () => {
    const one = { b: { y: 1, x: [{ q: 1, p: 2 }] }, a: { d: [1, 2], c: null } };
    const two = { a: { c: null, d: [1, 2] }, b: { x: [{ p: 2, q: 1 }], y: 1 } };
    assert.equal(canonicalJson(one), canonicalJson(two));
    assert.equal(canonicalJson(one), '{"a":{"c":null,"d":[1,2]},"b":{"x":[{"p":2,"q":1}],"y":1}}');
  });

  test('integer-like keys give the same text whatever order they were added in', () => {
    assert.equal(canonicalJson({ 10: 'a', 9: 'b', x: 1 }), canonicalJson({ x: 1, 9: 'b', 10: 'a' }));
  });

  test('output has no whitespace and parses back to an equal value', () => {
    const value = { s: 'a b', n: -1.5, t: true, f: false, z: null, arr: [1, 'two', { three: 3 }] };
    const text = canonicalJson(value);
    assert.doesNotMatch(text.replace(/"a b"/, ''), /\s/);
    assert.deepEqual(JSON.parse(text), value);
  });

  test('arrays keep their order', () => {
    assert.equal(canonicalJson([3, 1, 2]), '[3,1,2]');
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
    assert.equal(canonicalJson([{ b: 1, a: 2 }, [2, 1]]), '[{"a":2,"b":1},[2,1]]');
  });

  test('undefined (and function) members of objects are dropped; undefined in arrays becomes null', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
    assert.equal(canonicalJson({ a: undefined, b: 1 }), canonicalJson({ b: 1 }));
    assert.equal(canonicalJson({ nested: { gone: undefined } }), '{"nested":{}}');
    assert.equal(canonicalJson({ f: () => 1, b: 1 }), '{"b":1}');
    assert.equal(canonicalJson([undefined]), '[null]');
    assert.equal(canonicalJson([1, undefined, 3]), '[1,null,3]');
  });

  test('a cycle is a TypeError, not a hang or a stack overflow', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    assert.throws(() => canonicalJson(a), TypeError);
    const deep: Record<string, unknown> = { x: { y: {} } };
    (deep.x as { y: Record<string, unknown> }).y.back = deep;
    assert.throws(() => canonicalJson(deep), { name: 'TypeError', message: /cycle/ });
    const arr: unknown[] = [1];
    arr.push(arr);
    assert.throws(() => canonicalJson(arr), TypeError);
  });

  test('objects with the same keys share a sort order, and other key lists of the same length keep their own', () => {
    const rows = [{ z: 1, a: { y: 2, b: 3 } }, { a: { b: 4, y: 5 }, z: 6 }, { z: 7, a: { y: 8, b: 9 } }];
    assert.deepEqual(rows.map(canonicalJson), ['{"a":{"b":3,"y":2},"z":1}', '{"a":{"b":4,"y":5},"z":6}', '{"a":{"b":9,"y":8},"z":7}']);
    // One key list of each length here, then many more of length 2 than are kept.
    assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
    assert.equal(canonicalJson({ 'b\u0000a': 3 }), '{"b\\u0000a":3}');
    for (let i = 0; i < 20; i++) assert.equal(canonicalJson({ [`k${i}`]: 1, a: 2 }), `{"a":2,"k${i}":1}`);
    assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
  });

  test('the same object reached twice without a cycle is not mistaken for one', () => {
    const shared = { k: 1 };
    assert.equal(canonicalJson({ a: shared, b: shared, c: [shared, shared] }), '{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":1}]}');
  });

  test('dates become ISO strings, at top level and nested', () => {
    assert.equal(canonicalJson(new Date('2026-01-02T03:04:05.000Z')), '"2026-01-02T03:04:05.000Z"');
    assert.equal(canonicalJson({ at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)) }), '{"at":"2026-01-02T03:04:05.006Z"}');
    assert.equal(canonicalJson({ at: new Date('2026-01-02T04:04:05.000+01:00') }), canonicalJson({ at: new Date('2026-01-02T03:04:05.000Z') }));
  });

  test('values JSON cannot carry are made representable: bigints and non-finite numbers become strings, bytes a tagged list', () => {
    assert.equal(canonicalJson({ n: 12345678901234567890n }), '{"n":"12345678901234567890"}');
    assert.equal(canonicalJson([NaN, Infinity, -Infinity]), '["NaN","Infinity","-Infinity"]');
    assert.equal(canonicalJson(new Uint8Array([1, 2, 255])), '{"$bytes":[1,2,255]}');
  });

  test('primitives serialize as JSON does', () => {
    assert.equal(canonicalJson('x'), '"x"');
    assert.equal(canonicalJson(1), '1');
    assert.equal(canonicalJson(null), 'null');
    assert.equal(canonicalJson(true), 'true');
  });
});

describe('digest', () => {
  test('digests are sha-256 of the canonical JSON', () => {
    assert.match(digest('x'), /^sha256:[0-9a-f]{64}$/);
    // sha-256 of the text `{"a":1}`
    assert.equal(digest({ a: 1 }), 'sha256:015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
  });

  test('equal values have equal digests whatever the key order; different values differ', () => {
    assert.equal(digest({ x: 1, y: 2 }), digest({ y: 2, x: 1 }));
    assert.notEqual(digest({ x: 1 }), digest({ x: 2 }));
    assert.notEqual(digest([1, 2]), digest([2, 1]));
  });

  test('undefined digests like null', () => {
    assert.equal(digest(undefined), digest(null));
  });
});

test('integer-like keys sort as strings, like any other key, so other languages reproduce the bytes', () => {
  assert.equal(canonicalJson({ 10: 1, 9: 2, b: 3 }), '{"10":1,"9":2,"b":3}');
  assert.equal(canonicalJson(undefined), 'null');
});

/** The rules of canonical JSON written as plainly as possible, to hold the fast writer to. */
function reference(value: unknown): string {
  const walk = (v: unknown, ancestors: unknown[]): string => {
    if (v === null || v === undefined || typeof v === 'function' || typeof v === 'symbol') return 'null';
    if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : JSON.stringify(String(v));
    if (typeof v === 'bigint') return JSON.stringify(String(v));
    if (typeof v !== 'object') return JSON.stringify(v);
    if (ancestors.includes(v)) throw new TypeError('canonicalJson: value contains a cycle');
    const inner = [...ancestors, v];
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'null' : JSON.stringify(v.toISOString());
    if (Array.isArray(v)) return `[${Array.from(v, (x) => walk(x, inner)).join(',')}]`;
    if (v instanceof Uint8Array) return `{"$bytes":[${Array.from(v).join(',')}]}`;
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj)
      .sort()
      .filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function');
    return `{${keys.map((k) => `${JSON.stringify(k)}:${walk(obj[k], inner)}`).join(',')}}`;
  };
  return walk(value, []);
}

describe('canonicalJson against the plain statement of its rules', () => {
  /** Any UTF-16 code unit, so lone surrogates, quotes, backslashes and control characters all turn up. */
  const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 });
  const values = fc.anything({
    key: fc.oneof(anyText, fc.constantFrom('10', '9', '__proto__', 'a', 'B', '')),
    values: [anyText, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.bigInt(), fc.date({ noInvalidDate: false })],
    withBigInt: true,
    withDate: true,
    withSparseArray: true,
    withNullPrototype: true,
    withTypedArray: false,
    maxDepth: 5,
  });

  test('gives the same text for any value, including text that needs escaping', () => {
    fc.assert(
      fc.property(values, (v) => {
        assert.equal(canonicalJson(v), reference(v));
      }),
      { numRuns: 2_000 },
    );
  });

  test('parses back to an equal value for JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        assert.deepEqual(JSON.parse(canonicalJson(v)), JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 1_000 },
    );
  });

  test('a cycle deeper than the depth where checking starts is still a TypeError, and a deep value without one is written', () => {
    const root: Record<string, unknown> = {};
    let at = root;
    for (let i = 0; i < 50; i++) {
      const next: Record<string, unknown> = { i };
      at.next = next;
      at = next;
    }
    assert.equal(canonicalJson(root), reference(root));
    at.back = root.next;
    assert.throws(() => canonicalJson(root), { name: 'TypeError', message: /cycle/ });
    const shared = { k: [1] };
    let deep: unknown = { a: shared, b: shared };
    for (let i = 0; i < 40; i++) deep = [deep, shared];
    assert.equal(canonicalJson(deep), reference(deep));
  });
});
