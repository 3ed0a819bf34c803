/** Array parameters of the write path, built as text-array literals: exact text, and what Postgres reads back from it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arrayLiteral, unnestRows } from '../../store/bulk-write';
import { pgliteExecutor } from '../../store/pglite';

const ODD = ['', 'NULL', 'null', ' a b ', 'q"uote', 'back\\slash', '\\"', 'comma,brace{}', 'tab\tnew\nline', 'ü☃😀', "it's"];

test('a text array literal quotes every element, escapes quotes and backslashes, and writes null as NULL', () => {
  assert.equal(arrayLiteral([]), '{}');
  assert.equal(arrayLiteral(['']), '{""}');
  assert.equal(arrayLiteral(['a', 'b c']), '{"a","b c"}');
  assert.equal(arrayLiteral(['a', null]), '{"a",NULL}');
  assert.equal(arrayLiteral([null]), '{NULL}');
  assert.equal(arrayLiteral(['NULL', null]), '{"NULL",NULL}');
  assert.equal(arrayLiteral(['q"uote', 'back\\slash']), '{"q\\"uote","back\\\\slash"}');
});

test('Postgres reads back from the literal exactly the elements given, nulls and odd text included', async () => {
  const db = pgliteExecutor(undefined);
  try {
    const cases: Array<Array<string | null>> = [[], [''], ODD, [...ODD, null], [null, null], ['x'.repeat(10_000), null, 'y']];
    for (const items of cases) {
      const { rows } = await db.query<{ a: Array<string | null> }>('SELECT $1::text[] AS a', [arrayLiteral(items)]);
      assert.deepEqual(rows[0]!.a, items);
    }
    // As the write path sends rows: one literal per column, values as text, cast in SQL.
    const rows = [['a"1', 1, null], [null, 2, '2026-01-01T00:00:00.000Z'], ['\\', 3, '2026-01-02T00:00:00.000Z']];
    const u = unnestRows(rows, ['id', 'n', 'at'], { n: 'integer', at: 'timestamptz' });
    assert.ok(u.params.every((p) => typeof p === 'string'), 'every parameter is one literal');
    const { rows: back } = await db.query<{ id: string | null; n: number; at: string | null }>(
      `SELECT id, n, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS at FROM (${u.select}) v`,
      u.params,
    );
    assert.deepEqual(back, [
      { id: 'a"1', n: 1, at: null },
      { id: null, n: 2, at: '2026-01-01' },
      { id: '\\', n: 3, at: '2026-01-02' },
    ]);
  } finally {
    await db.close();
  }
});
