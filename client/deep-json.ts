/**
 * JSON text for values of any depth. V8's JSON.stringify overflows the call stack on a
 * value nested a few thousand levels deep, and a session's scope tree is as deep as its
 * longest delegation or handoff chain. Indented, such a value is also quadratic: each
 * line carries its depth in spaces, gigabytes for a chain of 20 000 scopes.
 */

/** How many nesting levels are indented; deeper ones keep this level's indent (in a tree document, about 50 scopes down). */
export const INDENT_LEVELS = 100;

/**
 * JSON.stringify(value, null, space), the same text for any value nested at most
 * INDENT_LEVELS deep. A deeper one is written by stringifyDeep with the indent capped
 * there: a parser reads the same document.
 */
export function stringifyAnyDepth(value: unknown, space = 0): string | undefined {
  // The native writer is an order of magnitude faster: it stays the choice for every ordinary value.
  return deeperThan(value, INDENT_LEVELS) ? stringifyDeep(value, space, INDENT_LEVELS) : JSON.stringify(value, null, space);
}

/** Whether objects and arrays nest more than `levels` deep in `value` (walked with a stack of its own). */
export function deeperThan(value: unknown, levels: number): boolean {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length) {
    const { v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= levels) return true;
    for (const x of Array.isArray(v) ? v : Object.values(v)) if (x !== null && typeof x === 'object') stack.push({ v: x, depth: depth + 1 });
  }
  return false;
}

/**
 * JSON.stringify's text, written with a stack of its own; past `indentLevels` nesting
 * levels the indent stops growing. The rules are JSON.stringify's: `toJSON` is called,
 * boxed primitives are unwrapped, undefined, functions and symbols are left out of
 * objects and written as null in arrays, non-finite numbers are null, and a cycle or a
 * BigInt throws the TypeError JSON.stringify throws.
 */
interface Frame {
  holder: object;
  /** An object's own enumerable keys; null for an array, whose indexes are its keys. */
  keys: string[] | null;
  length: number;
  next: number;
  depth: number;
  written: number;
}

export function stringifyDeep(value: unknown, space = 0, indentLevels = Infinity): string | undefined {
  const gap = ' '.repeat(Math.min(10, Math.max(0, Math.floor(space))));
  const indent = (depth: number) => `\n${gap.repeat(Math.min(depth, indentLevels))}`;
  const out: string[] = [];
  const stack: Frame[] = [];
  // The objects being written, from the top down: meeting one again is a cycle.
  const open = new Set<object>();

  const write = (v: unknown, depth: number) => {
    if (v === null) out.push('null');
    else if (typeof v === 'string') out.push(JSON.stringify(v));
    else if (typeof v === 'number') out.push(Number.isFinite(v) ? String(v) : 'null');
    else if (typeof v === 'boolean') out.push(String(v));
    else if (typeof v === 'bigint') throw new TypeError('Do not know how to serialize a BigInt');
    else {
      const holder = v as object;
      if (open.has(holder)) throw new TypeError('Converting circular structure to JSON');
      open.add(holder);
      const keys = Array.isArray(holder) ? null : Object.keys(holder);
      out.push(keys ? '{' : '[');
      stack.push({ holder, keys, length: keys ? keys.length : (holder as unknown[]).length, next: 0, depth, written: 0 });
    }
  };

  const top = prepared(value, '');
  if (omitted(top)) return undefined;
  write(top, 0);
  while (stack.length) {
    const f = stack[stack.length - 1]!;
    if (f.next === f.length) {
      if (f.written && gap) out.push(indent(f.depth));
      out.push(f.keys ? '}' : ']');
      open.delete(f.holder);
      stack.pop();
      continue;
    }
    const i = f.next++;
    const key = f.keys ? f.keys[i]! : String(i);
    const v = prepared((f.holder as Record<string, unknown>)[key], key);
    if (f.keys && omitted(v)) continue;
    if (f.written++) out.push(',');
    if (gap) out.push(indent(f.depth + 1));
    if (f.keys) out.push(JSON.stringify(key), gap ? ': ' : ':');
    if (omitted(v)) out.push('null');
    else write(v, f.depth + 1);
  }
  return out.join('');
}

function prepared(v: unknown, key: string): unknown {
  if (v !== null && (typeof v === 'object' || typeof v === 'bigint') && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON(key: string): unknown }).toJSON(key);
  }
  if (v instanceof Number) return Number(v);
  if (v instanceof String) return String(v);
  if (v instanceof Boolean) return v.valueOf();
  return v;
}

function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}
