/**
 * The field tests shared by the fast checks that run before zod (store/row-check.ts for
 * rows read back, cim/certain-context.ts for what workflow code parses): each says true
 * only for a value its schema certainly accepts as it is. Pure, and free of zod, so the
 * workflow sandbox can use them without building a schema.
 */
import { AGENT_NAME_PATTERN, IDENTIFIER_PATTERN } from './scope-context';

export function text(v: unknown): boolean {
  return typeof v === 'string' && v.length >= 1;
}

export function textOrNull(v: unknown): boolean {
  return v === null || typeof v === 'string';
}

export function boundedText(v: unknown, min: number, max: number): v is string {
  return typeof v === 'string' && v.length >= min && v.length <= max;
}

export function identifier(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= 200 && IDENTIFIER_PATTERN.test(v);
}

export function agentName(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= 100 && AGENT_NAME_PATTERN.test(v);
}

/** An integer zod's `.int().min(min)` accepts (zod's integers are the safe ones). */
export function count(v: unknown, min = 0): v is number {
  return Number.isSafeInteger(v) && (v as number) >= min;
}

/** A plain object as JSON.parse or an object literal makes them; anything else is left to zod. */
export function plainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** A copy of an array of strings each passing `each`, as zod copies arrays; undefined otherwise. */
export function stringsOf(v: unknown, each: (s: string) => boolean = () => true): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (let k = 0; k < v.length; k++) {
    const s: unknown = v[k];
    if (typeof s !== 'string' || !each(s)) return undefined;
    out.push(s);
  }
  return out;
}

const ISO_MS_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Only the form `Date#toISOString` and the store's reads produce (`2026-04-11T14:12:47.727Z`),
 * with a real calendar date and time: a subset of what `z.string().datetime({ offset: true })`
 * accepts. The digits are read by position (thousands of rows: no match objects).
 */
export function isoTime(v: unknown): v is string {
  if (typeof v !== 'string' || !ISO_MS_UTC.test(v)) return false;
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 2);
  const day = digits(v, 8, 2);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS[month - 1]!;
  return day <= days && digits(v, 11, 2) < 24 && digits(v, 14, 2) < 60 && digits(v, 17, 2) < 60;
}

/** The number written by the `count` ASCII digits of `s` at `at`. */
function digits(s: string, at: number, n: number): number {
  let value = 0;
  for (let k = at; k < at + n; k++) value = value * 10 + (s.charCodeAt(k) - 48);
  return value;
}
