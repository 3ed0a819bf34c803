/**
 * Fault injection in CI: the crash harness (SIGKILL of the worker process while 20
 * sessions run) and the outage harness (the database cut mid-run) must both end with
 * every session reconciling to zero differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCrashHarness } from '../harness/crash-harness';
import { runOutageHarness } from '../harness/outage-harness';
import { TEST_DATABASE_URL, usesPglite } from '../helpers/runtime';

const skip = usesPglite() && 'needs the Postgres server';
const seed = Number(process.env.SCOPETRAIL_SEED ?? Date.now() % 100_000);

test(`killing the worker with SIGKILL mid-session loses and duplicates nothing (seed ${seed})`, { skip, timeout: 600_000 }, async () => {
  const report = await runCrashHarness({ sessions: 20, kills: 4, seed, databaseUrl: TEST_DATABASE_URL, log: () => undefined });
  console.log(`crash: ${JSON.stringify({ ...report, differences: report.differences.slice(0, 5) })}`);
  assert.deepEqual(report.differences, []);
  assert.equal(report.workersStarted, 5);
  assert.equal(report.runs, report.scopes, 'one scope per workflow run');
  assert.ok(report.scopes >= 20 * 5, 'sessions ran (a failed session may stop before its handoff)');
});

test(`a database outage mid-run: sessions carry on, records wait in the spool, nothing is lost (seed ${seed})`, { skip, timeout: 300_000 }, async () => {
  const report = await runOutageHarness({ sessions: 20, outageMs: 4000, seed, log: () => undefined });
  console.log(`outage: ${JSON.stringify(report)}`);
  assert.ok(report.spooledRecords > 0);
  assert.equal(report.missing + report.extra + report.mismatched, 0);
  assert.equal(report.scopes, 20 * 7);
});
