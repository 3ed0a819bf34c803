/**
 * Times read as Postgres's text (store/row-times.ts) give the ISO string the driver's
 * Date would have given, for every form Postgres writes: the fast UTC form and the others.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import pg from 'pg';
import { isoTime } from '../../store/row-times';

const driver = pg.types.getTypeParser(1184, 'text');

/** What reading the column as a timestamptz gave before: the driver's value as an ISO string. */
function viaDate(text: string): string | Error {
  try {
    const v = driver(text) as unknown;
    return (v instanceof Date ? v : new Date(String(v))).toISOString();
  } catch (err) {
    return err as Error;
  }
}

function viaText(text: string): string | null | Error {
  try {
    return isoTime(text);
  } catch (err) {
    return err as Error;
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Postgres's text of a timestamptz (DateStyle ISO) in a zone `offset` hours east, with `digits` of the microseconds. */
const pgText = fc
  .record({
    ms: fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }),
    micro: fc.integer({ min: 0, max: 999 }),
    digits: fc.integer({ min: 0, max: 6 }),
    offset: fc.constantFrom(0, 0, 0, 1, -5, 5.5, 14, -12),
  })
  .map(({ ms, micro, digits, offset }) => {
    const d = new Date(ms + offset * 3_600_000);
    const fraction = `${pad(d.getUTCMilliseconds(), 3)}${pad(micro, 3)}`.slice(0, digits).replace(/0+$/, '');
    const zone = offset === 0 ? '+00' : `${offset < 0 ? '-' : '+'}${pad(Math.trunc(Math.abs(offset)))}${Number.isInteger(offset) ? '' : ':30'}`;
    return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${fraction ? `.${fraction}` : ''}${zone}`;
  });

describe('times read as text', () => {
  test('every form Postgres writes reads as the driver read it', () => {
    fc.assert(fc.property(pgText, (text) => assert.deepStrictEqual(viaText(text), viaDate(text))), { numRuns: 5000 });
  });

  test('every microsecond of a second keeps the milliseconds the driver keeps', () => {
    for (let micro = 0; micro < 1_000_000; micro += 1) {
      const text = `2026-04-11 14:12:47.${pad(micro, 6).replace(/0+$/, '') || '0'}+00`;
      const ms = pad(Math.floor(micro / 1000), 3);
      if (isoTime(text) !== `2026-04-11T14:12:47.${ms}Z`) assert.equal(isoTime(text), viaDate(text));
    }
    assert.equal(viaDate('2026-04-11 14:12:47.999999+00'), '2026-04-11T14:12:47.999Z');
  });

  test('the forms outside the fast one, and what is not a time, read as before', () => {
    for (const text of [
      '0099-01-01 00:00:00+00', '0999-12-31 23:59:59.5+00', '10000-01-01 00:00:00+00', '2026-04-11 14:12:47+05:30',
      '2026-04-11 14:12:47.1-08', '0044-03-15 12:00:00+00 BC', '2026-04-11 14:12:47.727+00:00',
    ]) {
      assert.deepStrictEqual(viaText(text), viaDate(text), text);
    }
  });

  test('a time no Date holds reads as text, never as a thrown error: the record\'s schema then names the row', () => {
    for (const text of ['infinity', '-infinity', '294000-01-01 00:00:00+00']) {
      assert.ok(viaDate(text) instanceof Error, `the driver's Date cannot print ${text}`);
      const read = viaText(text);
      assert.equal(typeof read, 'string', text);
      assert.ok(!/^\d{4}-\d\d-\d\dT/.test(read as string), `${text} does not pass for an ISO time`);
    }
  });

  test('Dates and ISO strings read as before', () => {
    assert.equal(isoTime(new Date('2026-04-11T14:12:47.727Z')), '2026-04-11T14:12:47.727Z');
    assert.equal(isoTime('2026-01-10T23:59:59.123+01:00'), '2026-01-10T22:59:59.123Z');
    assert.equal(isoTime(null), null);
    assert.equal(isoTime(undefined), null);
  });
});
