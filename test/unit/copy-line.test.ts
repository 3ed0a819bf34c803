/** COPY's text format (store/copy.ts): every value comes back from the line as it went in. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { copyLine } from '../../store/copy';

/** Splits a line of COPY text format and undoes its escapes, as Postgres reads it. */
function readLine(line: string): Array<string | null> {
  assert.ok(line.endsWith('\n'), 'a line ends with a newline');
  return line
    .slice(0, -1)
    .split('\t')
    .map((f) => (f === '\\N' ? null : f.replace(/\\(.)/g, (_m, c: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? c)));
}

test('a field with tabs, newlines, carriage returns and backslashes reads back unchanged', () => {
  const row = ['plain', 'a\tb', 'line\nbreak', 'cr\rhere', 'back\\slash', '\\N', '', 'ünïcode \u2028'];
  assert.deepEqual(readLine(copyLine(row)), row);
  assert.equal(copyLine(['a\tb', 'c\\d']), 'a\\tb\tc\\\\d\n');
});

test('null and undefined are NULL; numbers, booleans and objects are written as text and JSON', () => {
  assert.equal(copyLine([null, undefined, 1.5, true, { a: 'x\ty' }]), '\\N\t\\N\t1.5\ttrue\t{"a":"x\\\\ty"}\n');
  assert.deepEqual(readLine(copyLine([{ a: 'x\ty' }])), [JSON.stringify({ a: 'x\ty' })]);
});

test('any row of text fields reads back as written', () => {
  const text = fc.string({ unit: fc.constantFrom('a', 'b', '\t', '\n', '\r', '\\', 'N', ' ', 'é') });
  fc.assert(
    fc.property(fc.array(fc.option(text, { nil: null }), { minLength: 1, maxLength: 8 }), (row) => {
      assert.deepEqual(readLine(copyLine(row)), row);
    }),
    { numRuns: 1_000 },
  );
});
