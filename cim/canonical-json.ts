/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped.
 * Two equal values always serialize to the same text, so their digests match no
 * matter how the producer ordered the keys.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalize(value, new Set()));
}

function normalize(value: unknown, seen: Set<unknown>): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
    return value;
  }
  if (seen.has(value)) throw new TypeError('canonicalJson: value contains a cycle');
  seen.add(value);
  try {
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : normalize(v, seen)));
    if (value instanceof Uint8Array) return { $bytes: Array.from(value) };
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined || typeof member === 'function') continue;
      out[key] = normalize(member, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
