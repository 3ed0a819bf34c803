/**
 * What Temporal's default payload converter (JSON.stringify) cannot send as it is: a
 * BigInt and a cycle, which it refuses, and binary data, a Map or a Set, which it sends as
 * something else (a Uint8Array as `{"0":5,"1":6}`, a Map as `{}`) for the receiver to find
 * silently changed. No imports: the workflow sandbox takes it (workflows/sendable-result.ts),
 * as does the tool attempt's check in the worker (cim/canonical-json.ts, strict).
 */

/** Why a value is refused, and where: the path is filled in as the walk unwinds, so it costs nothing when all is well. */
export class JsonRefusal extends TypeError {
  /** Keys and indices from the root down to the refused value. */
  readonly segments: Array<string | number> = [];
  constructor(
    /** What the value is and what JSON would do with it. */
    readonly what: string,
    /** Whether the message names the value's path (a cycle has no single place). */
    readonly placed = true,
  ) {
    // Named a TypeError still, as JSON.stringify's own refusals are.
    super(what);
  }
  /** Records that the refused value lies under `segment` (called from the inside out). */
  within(segment: string | number): void {
    this.segments.unshift(segment);
  }
  /**
   * For a cycle: the objects from the root down to the one met again, each reached from
   * the one before by the segment of the same place (filled in as the walk unwinds).
   */
  cycle?: readonly unknown[];
  /** Sets the message, naming the refused value's path under `root` (`output.data`, `result.items[2]`). */
  named(root: string): this {
    if (this.cycle) this.message = cycleText(this.cycle, this.segments, root);
    else if (this.placed) this.message = `${root}${pathText(this.segments)} is ${this.what}`;
    return this;
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `.a[2]["b c"]`: a path as JavaScript would write it. */
export function pathText(segments: ReadonlyArray<string | number>): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  return out;
}

/**
 * Why JSON cannot carry this object faithfully, or undefined when it can. Binary data and
 * Map and Set have no JSON form: JSON.stringify gives an object of indices or an empty object.
 */
export function unfaithfulObject(value: object): string | undefined {
  if (ArrayBuffer.isView(value)) {
    const kind = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return `${article(typeof kind === 'string' && kind ? kind : 'typed array')}, which JSON would turn into a plain object; send it as base64 text`;
  }
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer)) {
    return `${article(value.constructor.name)}, which JSON would turn into an empty object; send it as base64 text`;
  }
  if (value instanceof Map) return 'a Map, which JSON would turn into an empty object; send an object or an array of [key, value] pairs';
  if (value instanceof Set) return 'a Set, which JSON would turn into an empty object; send an array';
  return undefined;
}

export function bigintRefusal(value: bigint): JsonRefusal {
  return new JsonRefusal(`a BigInt (${value}n), which JSON cannot hold`);
}

/** `chain`: the objects being walked, from the root down, and last the one met again among them. */
export function cycleRefusal(chain: readonly unknown[]): JsonRefusal {
  const refusal = new JsonRefusal('the value contains a cycle', false);
  refusal.cycle = chain;
  return refusal;
}

/**
 * Names the first member that refers back to an object above it. The walk looks for cycles
 * only once it is deep (CYCLE_CHECK_DEPTH), so the chain has gone round the cycle many
 * times by then; this finds where it first closed, and costs nothing unless a value is refused.
 */
function cycleText(chain: readonly unknown[], segments: ReadonlyArray<string | number>, root: string): string {
  for (let j = 1; j < chain.length && j <= segments.length; j++) {
    const i = chain.indexOf(chain[j]);
    if (i < j) return `${root}${pathText(segments.slice(0, j))} refers back to ${root}${pathText(segments.slice(0, i))}: a cycle, which JSON cannot hold`;
  }
  return 'the value contains a cycle';
}

function article(kind: string): string {
  return `${/^[AEIO]/.test(kind) ? 'an' : 'a'} ${kind}`;
}

/** As in canonical-json.ts: above this depth each object is looked for among those above it. */
const CYCLE_CHECK_DEPTH = 32;

/**
 * Whether JSON.stringify sends `value` faithfully: the first refusal (its message naming
 * the path under `root`), or undefined. One walk with JSON.stringify's rules (`toJSON` is
 * called, `undefined` and function members are dropped) that builds no text.
 * `functions: 'refuse'`: a function is refused rather than dropped, for a caller's own
 * input (a session's, a handoff request's), where one is a mistake JSON would hide; what
 * agents return keeps JSON's rule, as their recorded histories were made with it.
 */
export function jsonRefusal(value: unknown, root = 'value', options: { functions?: 'drop' | 'refuse' } = {}): JsonRefusal | undefined {
  try {
    check(value, '', [], options.functions === 'refuse');
    return undefined;
  } catch (err) {
    if (err instanceof JsonRefusal) return err.named(root);
    // A toJSON that throws, or a stack too deep for this walk: JSON.stringify would meet the same.
    const refusal = new JsonRefusal(err instanceof Error ? err.message : String(err), false);
    refusal.message = `${root}: ${refusal.message}`;
    return refusal;
  }
}

function check(value: unknown, key: string, above: unknown[], refuseFunctions: boolean): void {
  if (value === null) return;
  const type = typeof value;
  if (type === 'function' && refuseFunctions) throw new JsonRefusal('a function, which JSON would drop; send data only');
  if (type === 'object') {
    // Before toJSON: a Buffer has one, which sends it as `{ type, data: [...] }`.
    const why = unfaithfulObject(value as object);
    if (why) throw new JsonRefusal(why);
  }
  if (type === 'object' || type === 'bigint') {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return check(toJSON.call(value, key), key, above, refuseFunctions);
  }
  if (type === 'bigint') throw bigintRefusal(value as bigint);
  if (type !== 'object') return;
  if (above.length >= CYCLE_CHECK_DEPTH && above.includes(value)) throw cycleRefusal([...above, value]);
  above.push(value);
  let at: string | number | undefined;
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        at = i;
        check(value[i], String(i), above, refuseFunctions);
      }
    } else {
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        at = k;
        check(obj[k], k, above, refuseFunctions);
      }
    }
  } catch (err) {
    if (err instanceof JsonRefusal && at !== undefined) err.within(at);
    throw err;
  } finally {
    above.pop();
  }
}
