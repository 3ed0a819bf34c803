import { JsonRefusal, bigintRefusal, cycleRefusal, unfaithfulObject } from './json-sendable';

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, `undefined` and
 * function members dropped. Two equal values always serialize to the same text, so
 * their digests match no matter how the producer ordered the keys — and the text is
 * built directly, because a JS object would move integer-like keys ("9", "10") to the
 * front and break the promise that another language's sorter gets the same bytes.
 */
export function canonicalJson(value: unknown): string {
  return write(value === undefined ? null : value, [], false);
}

/**
 * canonicalJson of a value that must also be valid for JSON.stringify, as Temporal's
 * default payload converter sends it: a BigInt, which canonicalJson writes as a string
 * and JSON.stringify refuses, throws here, as a cycle does; so do binary data, a Map and
 * a Set, which JSON.stringify would send as a different value (cim/json-sendable.ts). The
 * error (a JsonRefusal) names the refused value's path under `root`.
 */
export function canonicalJsonStrict(value: unknown, root = 'value'): string {
  try {
    return write(value === undefined ? null : value, [], true);
  } catch (err) {
    throw err instanceof JsonRefusal ? err.named(root) : err;
  }
}

/** A string JSON.stringify would change beyond quoting it: a quote, a backslash, a control character or a surrogate. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * Above this depth each object is looked for among those being written (a cycle recurses
 * without end, so it is found once it is this deep). Records are far shallower, and
 * checking every object against a set of those being written cost a third of the time.
 */
const CYCLE_CHECK_DEPTH = 32;

function write(value: unknown, path: unknown[], strict: boolean): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(String(value));
    case 'bigint':
      if (strict) throw bigintRefusal(value);
      return JSON.stringify(value.toString());
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null';
  }
  if (path.length >= CYCLE_CHECK_DEPTH && path.includes(value)) throw cycleRefusal([...path, value]);
  path.push(value);
  /** The member being written, named in a refusal from below it. */
  let at: string | number | undefined;
  try {
    // As JSON.stringify: an invalid date is null, an array hole is null.
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'null' : JSON.stringify(value.toISOString());
    if (Array.isArray(value)) {
      let out = '[';
      for (let i = 0; i < value.length; i++) {
        at = i;
        out += (i === 0 ? '' : ',') + write(value[i], path, strict);
      }
      return `${out}]`;
    }
    if (strict) {
      const why = unfaithfulObject(value);
      if (why) throw new JsonRefusal(why);
    }
    if (value instanceof Uint8Array) return `{"$bytes":[${Array.from(value).join(',')}]}`;
    const obj = value as Record<string, unknown>;
    const order = sortedKeys(Object.keys(obj));
    let out = '{';
    for (let i = 0; i < order.keys.length; i++) {
      const member = obj[order.keys[i]!];
      if (member === undefined || typeof member === 'function') continue;
      at = order.keys[i]!;
      out += (out.length > 1 ? ',' : '') + order.quoted[i] + ':' + write(member, path, strict);
    }
    return `${out}}`;
  } catch (err) {
    if (err instanceof JsonRefusal && at !== undefined) err.within(at);
    throw err;
  } finally {
    path.pop();
  }
}

interface KeyOrder {
  /** The keys as Object.keys gave them. */
  given: string[];
  keys: string[];
  quoted: string[];
}

/**
 * Records of one kind share their key list, so its sorted order and the keys' JSON text
 * are computed once per list rather than once per object (the sealer hashes every action
 * of every ended scope). Lists are found by length, then compared key by key (keys of
 * records from one schema are the same strings, so the comparison is cheap). Bounded:
 * a few lists per length, the oldest replaced.
 */
const keyOrders = new Map<number, KeyOrder[]>();
const PER_LENGTH = 8;

function sortedKeys(given: string[]): KeyOrder {
  const candidates = keyOrders.get(given.length);
  if (candidates) {
    for (const c of candidates) {
      let same = true;
      for (let i = 0; i < given.length; i++) {
        if (c.given[i] !== given[i]) {
          same = false;
          break;
        }
      }
      if (same) return c;
    }
  }
  const keys = [...given].sort();
  const order = { given, keys, quoted: keys.map((k) => JSON.stringify(k)) };
  if (given.length > 64) return order; // large maps are rarely repeated: not worth keeping
  const list = candidates ?? [];
  if (list.length >= PER_LENGTH) list.shift();
  list.push(order);
  keyOrders.set(given.length, list);
  return order;
}
