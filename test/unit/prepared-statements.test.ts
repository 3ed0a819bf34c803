/** Named prepared statements for the hot statements, and the switch that turns them off (PgBouncer in transaction mode). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolIdleTimeoutMs, preparedStatementsEnabled, runQuery } from '../../store/postgres';

function recorder() {
  const calls: unknown[][] = [];
  return { calls, query: async (...args: unknown[]) => (calls.push(args), { rows: [] }) };
}

test('a statement marked prepared goes by a name derived from its text; others, and all when switched off, go as text', async () => {
  const on = recorder();
  await runQuery(on as never, 'SELECT $1::int', [1], { prepared: true });
  await runQuery(on as never, 'SELECT $1::int', [2], { prepared: true });
  await runQuery(on as never, 'SELECT 2', [], undefined);
  const [first, second] = on.calls.map((c) => c[0] as { name: string; text: string; values: unknown[] });
  assert.match(first!.name, /^scopetrail_[0-9a-f]{32}$/);
  assert.equal(first!.name, second!.name, 'one name per text');
  assert.deepEqual([first!.text, first!.values], ['SELECT $1::int', [1]]);
  assert.deepEqual(on.calls[2], ['SELECT 2', []]);

  const off = recorder();
  await runQuery(off as never, 'SELECT $1::int', [1], { prepared: true }, false);
  assert.deepEqual(off.calls[0], ['SELECT $1::int', [1]]);
});

test('SCOPETRAIL_PG_PREPARED_STATEMENTS: on by default, off by name, anything else is an error naming it', () => {
  assert.equal(preparedStatementsEnabled({}), true);
  assert.equal(preparedStatementsEnabled({ SCOPETRAIL_PG_PREPARED_STATEMENTS: 'on' }), true);
  for (const v of ['off', 'OFF', '0', 'false', ' no ']) assert.equal(preparedStatementsEnabled({ SCOPETRAIL_PG_PREPARED_STATEMENTS: v }), false, v);
  assert.throws(() => preparedStatementsEnabled({ SCOPETRAIL_PG_PREPARED_STATEMENTS: 'sometimes' }), /SCOPETRAIL_PG_PREPARED_STATEMENTS: expected on or off, got "sometimes"/);
});

test('SCOPETRAIL_PG_IDLE_TIMEOUT_MS: a minute by default, 0 keeps idle connections, anything but whole milliseconds is an error naming it', () => {
  assert.equal(poolIdleTimeoutMs({}), 60_000);
  assert.equal(poolIdleTimeoutMs({ SCOPETRAIL_PG_IDLE_TIMEOUT_MS: ' 5000 ' }), 5_000);
  assert.equal(poolIdleTimeoutMs({ SCOPETRAIL_PG_IDLE_TIMEOUT_MS: '0' }), 0);
  assert.equal(poolIdleTimeoutMs({ SCOPETRAIL_PG_IDLE_TIMEOUT_MS: '2147483647' }), 2 ** 31 - 1);
  for (const v of ['-1', '1.5', '10s', 'forever', '2147483648', '99999999999']) {
    assert.throws(() => poolIdleTimeoutMs({ SCOPETRAIL_PG_IDLE_TIMEOUT_MS: v }), /SCOPETRAIL_PG_IDLE_TIMEOUT_MS: expected a whole number of milliseconds/, v);
  }
});
