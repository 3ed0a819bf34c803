import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotOneStatement, StatementCollector, renumber } from '../../store/one-statement';

test('parameters are renumbered past those of the parts before', () => {
  assert.equal(renumber('INSERT INTO t (a, b) SELECT $1::int, $2 WHERE $10 IS NULL', 3), 'INSERT INTO t (a, b) SELECT $4::int, $5 WHERE $13 IS NULL');
  assert.equal(renumber('INSERT INTO t VALUES ($1)', 0), 'INSERT INTO t VALUES ($1)');
});

test('collected INSERTs become CTEs of one statement, their parameters in order', async () => {
  const c = new StatementCollector();
  const tx = c.transaction();
  await tx.query('INSERT INTO a (x) SELECT * FROM unnest($1::text[])', [['1', '2']]);
  await tx.query('INSERT INTO b (y, z) VALUES ($1, $2) ON CONFLICT (y) DO UPDATE SET z = excluded.z', ['y', 'z']);
  const { sql, params } = c.combined('SELECT 1 AS one');
  assert.equal(sql, 'WITH w0 AS (INSERT INTO a (x) SELECT * FROM unnest($1::text[])),\nw1 AS (INSERT INTO b (y, z) VALUES ($2, $3) ON CONFLICT (y) DO UPDATE SET z = excluded.z)\nSELECT 1 AS one');
  assert.deepEqual(params, [['1', '2'], 'y', 'z']);
});

test('anything but an INSERT, COPY and too many parameters cannot be collected', async () => {
  const tx = new StatementCollector().transaction();
  await assert.rejects(tx.query('SELECT 1'), NotOneStatement);
  await assert.rejects(tx.query('  update t set a = 1'), NotOneStatement);
  await assert.rejects(tx.copy!('t', ['a'], [['1']]), NotOneStatement);
  await assert.rejects(tx.exec('INSERT INTO t VALUES (1)'), NotOneStatement);
  await assert.rejects(tx.query('INSERT INTO t VALUES ($1)', Array.from({ length: 60_001 }, () => 'x')), /too many parameters/);
});
