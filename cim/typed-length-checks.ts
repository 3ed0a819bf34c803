/**
 * zod runs a length check (`.min()`, `.max()`, `.length()` of a string or an array) on
 * any value that has a `length`, even one its type check has just refused: the default
 * condition of those checks ignores earlier failures. A non-string whose `length` has no
 * primitive value (a null-prototype object) then makes `safeParse` throw "Cannot convert
 * object to primitive value" instead of answering an issue naming the field. This gives
 * every length check of a schema, through its fields, elements and wrappers, the
 * condition zod gives other checks: run only if nothing before it failed for good (a
 * failed length or pattern check does not stop the next one, so issues still add up).
 * Pure: used in workflow code too.
 */
import { z } from 'zod';

const LENGTH_CHECKS: ReadonlySet<string> = new Set(['min_length', 'max_length', 'length_equals']);
const done = new WeakSet<object>();

type Payload = { value: unknown; issues: unknown[] };

function typedWhen(payload: Payload): boolean {
  if (z.core.util.aborted(payload as never)) return false;
  const value = payload.value as { length?: unknown } | null | undefined;
  return value !== null && value !== undefined && value.length !== undefined;
}

export function typedLengthChecks<T>(schema: T): T {
  visit(schema);
  return schema;
}

function visit(schema: unknown): void {
  if (typeof schema !== 'object' || schema === null || done.has(schema)) return;
  const zod = (schema as { _zod?: { def?: Record<string, unknown> } })._zod;
  const def = zod?.def;
  if (!def) return;
  done.add(schema);
  for (const check of (def.checks as Array<{ _zod?: { def?: { check?: string; when?: unknown } } }> | undefined) ?? []) {
    const checkDef = check._zod?.def;
    if (checkDef?.check && LENGTH_CHECKS.has(checkDef.check)) checkDef.when = typedWhen;
  }
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  if (shape && typeof shape === 'object') for (const field of Object.values(shape)) visit(field);
  for (const key of ['innerType', 'element', 'in', 'out', 'keyType', 'valueType', 'rest', 'left', 'right', 'catchall']) visit(def[key]);
  for (const key of ['options', 'items']) for (const inner of (def[key] as unknown[] | undefined) ?? []) visit(inner);
}
