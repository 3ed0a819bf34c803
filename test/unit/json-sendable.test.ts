/**
 * What Temporal's default payload converter (JSON.stringify) cannot send faithfully is
 * refused, naming where: by the check-only walk (an agent's result) and by the strict
 * canonical JSON of a tool's output, which agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonRefusal, pathText } from '../../cim/json-sendable';
import { canonicalJson, canonicalJsonStrict } from '../../cim/canonical-json';

function strictRefusal(value: unknown, root: string): string | undefined {
  try {
    canonicalJsonStrict(value, root);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const cases: Array<[string, unknown, string]> = [
  ['a BigInt', { total: 5n }, 'output.total is a BigInt (5n), which JSON cannot hold'],
  ['a Uint8Array', { meta: { data: new Uint8Array([5, 6]) } }, 'output.meta.data is a Uint8Array, which JSON would turn into a plain object; send it as base64 text'],
  ['a Buffer', [1, { b: Buffer.from('hi') }], 'output[1].b is a Buffer, which JSON would turn into a plain object; send it as base64 text'],
  ['a Float64Array', { 'a b': new Float64Array(2) }, 'output["a b"] is a Float64Array, which JSON would turn into a plain object; send it as base64 text'],
  ['an ArrayBuffer', { raw: new ArrayBuffer(4) }, 'output.raw is an ArrayBuffer, which JSON would turn into an empty object; send it as base64 text'],
  ['a DataView', { v: new DataView(new ArrayBuffer(2)) }, 'output.v is a DataView, which JSON would turn into a plain object; send it as base64 text'],
  ['a Map', { m: new Map([['a', 1]]) }, 'output.m is a Map, which JSON would turn into an empty object; send an object or an array of [key, value] pairs'],
  ['a Set', { s: [0, 1, new Set([1])] }, 'output.s[2] is a Set, which JSON would turn into an empty object; send an array'],
  ['a Uint8Array at the root', new Uint8Array([1]), 'output is a Uint8Array, which JSON would turn into a plain object; send it as base64 text'],
];

for (const [what, value, message] of cases) {
  test(`${what} is refused naming its path, by both checks alike`, () => {
    assert.equal(jsonRefusal(value, 'output')?.message, message);
    assert.equal(strictRefusal(value, 'output'), message);
  });
}

test('a cycle is refused naming the member that closes it and what it refers back to, by both checks', () => {
  const loop: Record<string, unknown> = { a: 1 };
  loop.self = { again: loop };
  assert.equal(jsonRefusal(loop, 'result')?.message, 'result.self.again refers back to result: a cycle, which JSON cannot hold');
  assert.equal(strictRefusal(loop, 'output'), 'output.self.again refers back to output: a cycle, which JSON cannot hold');
  // Below the root, through an array, and where the object met again is not the root.
  const inner: Record<string, unknown> = { name: 'inner' };
  const list: unknown[] = [1, { x: inner }];
  inner.back = list[1];
  const value = { items: list, 'odd key': 2 };
  const why = 'output.items[1].x.back refers back to output.items[1]: a cycle, which JSON cannot hold';
  assert.equal(jsonRefusal(value, 'output')?.message, why);
  assert.equal(strictRefusal(value, 'output'), why);
  // A shared object that is not its own ancestor is no cycle.
  const shared = { n: 1 };
  assert.equal(jsonRefusal({ a: shared, b: [shared, shared] }), undefined);
});

test('what JSON carries passes: plain values, dates, toJSON, undefined and function members, deep nesting', () => {
  let deep: unknown = { leaf: 'x' };
  for (let i = 0; i < 2_000; i++) deep = { d: deep };
  const ok = [null, 1, 'x', [1, 'a', null], { a: { b: [true, false] } }, { at: new Date(0) }, { big: { toJSON: () => '10' } }, { u: undefined, f: () => 1 }, deep];
  for (const v of ok) {
    assert.equal(jsonRefusal(v), undefined);
    assert.equal(canonicalJsonStrict(v), canonicalJson(v));
  }
});

test('toJSON is followed as JSON.stringify follows it: what it returns is checked', () => {
  assert.equal(jsonRefusal({ x: { toJSON: () => ({ n: 1n }) } }, 'result')?.message, 'result.x.n is a BigInt (1n), which JSON cannot hold');
});

test('the non-strict canonical JSON (digests) still writes bytes and BigInts as before', () => {
  assert.equal(canonicalJson({ b: new Uint8Array([1, 2]), n: 3n }), '{"b":{"$bytes":[1,2]},"n":"3"}');
});

test('paths are written as JavaScript would', () => {
  assert.equal(pathText(['a', 0, 'b c', '$x', '1x']), '.a[0]["b c"].$x["1x"]');
});

test("a caller's own input may refuse a function, which JSON would drop, naming its place; results keep JSON's rule", () => {
  const input = { query: 'x', onDone: () => 1 };
  assert.equal(jsonRefusal(input, 'input'), undefined, 'dropped, as JSON.stringify drops it');
  assert.equal(jsonRefusal(input, 'input', { functions: 'refuse' })?.message, 'input.onDone is a function, which JSON would drop; send data only');
  assert.equal(jsonRefusal([1, () => 2], 'input', { functions: 'refuse' })?.message, 'input[1] is a function, which JSON would drop; send data only');
  assert.equal(jsonRefusal({ u: undefined }, 'input', { functions: 'refuse' }), undefined, 'an undefined member is still dropped, as optional fields are');
});
