/**
 * Times read back from the store, as the ISO strings records hold. The wide reads select
 * their timestamptz columns as text (`::text`, see ACTION_READ_COLUMNS): the common form,
 * a time in UTC, becomes the record's string directly, without a Date made and printed
 * for each one; any other form goes through the parser node-postgres uses for the
 * column, so a time reads the same whichever way it was selected.
 */
import pg from 'pg';

/** Postgres's text form of a timestamptz in UTC (DateStyle ISO): `2026-04-11 14:12:47.727123+00`. */
const UTC_TEXT = /^[1-9]\d{3}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?\+00$/;

const TIMESTAMPTZ = 1184;

/** A time as the driver gives it (a Date, or a string a Date can read) as an ISO string. */
function fromDriver(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const date = v instanceof Date ? v : new Date(typeof v === 'number' ? v : String(v));
  // `infinity`, or a year past what a Date holds (a row written outside scopetrail): kept as
  // text, which the record's schema then refuses, naming the row and the field.
  return Number.isNaN(date.getTime()) ? String(v) : date.toISOString();
}

/**
 * The ISO string of a stored time: from a Date, from Postgres's text form (a space
 * between date and time), or from an ISO string (a record turned into a row in memory).
 */
export function isoTime(v: unknown): string | null {
  if (typeof v === 'string' && v.charCodeAt(10) === 32) return isoFromText(v);
  return fromDriver(v);
}

function isoFromText(text: string): string | null {
  if (UTC_TEXT.test(text)) {
    // Whole milliseconds, truncated, as the driver's Date keeps them: the first three digits of
    // the fraction (`.5` is 500), which runs from position 20 to the zone's `+00`.
    const ms = text.length === 22 ? '000' : `${text.slice(20, -3)}00`.slice(0, 3);
    return `${text.slice(0, 10)}T${text.slice(11, 19)}.${ms}Z`;
  }
  // Years before 1000, BC, another time zone: what the driver would have made of the column.
  return fromDriver(pg.types.getTypeParser(TIMESTAMPTZ, 'text')(text));
}
