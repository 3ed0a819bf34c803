/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, `undefined` and
 * function members dropped. Two equal values always serialize to the same text, so
 * their digests match no matter how the producer ordered the keys — and the text is
 * built directly, because a JS object would move integer-like keys ("9", "10") to the
 * front and break the promise that another language's sorter gets the same bytes.
 */
export function canonicalJson(value: unknown): string {
  return write(value === undefined ? null : value, new Set());
}

function write(value: unknown, seen: Set<unknown>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(String(value));
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null';
  }
  if (seen.has(value)) throw new TypeError('canonicalJson: value contains a cycle');
  seen.add(value);
  try {
    // As JSON.stringify: an invalid date is null, an array hole is null.
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'null' : JSON.stringify(value.toISOString());
    if (Array.isArray(value)) {
      const items: string[] = [];
      for (let i = 0; i < value.length; i++) items.push(write(value[i], seen));
      return `[${items.join(',')}]`;
    }
    if (value instanceof Uint8Array) return `{"$bytes":[${Array.from(value).join(',')}]}`;
    const obj = value as Record<string, unknown>;
    const order = sortedKeys(Object.keys(obj));
    let out = '{';
    for (let i = 0; i < order.keys.length; i++) {
      const member = obj[order.keys[i]!];
      if (member === undefined || typeof member === 'function') continue;
      out += `${out.length > 1 ? ',' : ''}${order.quoted[i]}:${write(member, seen)}`;
    }
    return `${out}}`;
  } finally {
    seen.delete(value);
  }
}

interface KeyOrder {
  /** The keys as Object.keys gave them, to tell two key lists with the same joined text apart. */
  given: string[];
  keys: string[];
  quoted: string[];
}

/**
 * Records of one kind share their key list, so its sorted order and the keys' JSON text
 * are computed once per list rather than once per object (the sealer hashes every action
 * of every ended scope). The cache is cleared, not grown, past a few hundred shapes.
 */
const keyOrders = new Map<string, KeyOrder>();

function sortedKeys(given: string[]): KeyOrder {
  const id = given.join('\u0000');
  const cached = keyOrders.get(id);
  if (cached && cached.given.length === given.length && cached.given.every((k, i) => k === given[i])) return cached;
  const keys = [...given].sort();
  const order = { given, keys, quoted: keys.map((k) => JSON.stringify(k)) };
  if (keyOrders.size >= 512) keyOrders.clear();
  keyOrders.set(id, order);
  return order;
}
