/** client/forensic-queries.ts sessionStatusAgrees: whether a session's status in the store fits how Temporal says its latest run stands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sessionStatusAgrees } from '../../client/forensic-queries';

test('a status the run bears out agrees; an end the run never reached, or a success it terminated, does not', () => {
  const cases: Array<[Parameters<typeof sessionStatusAgrees>[0], string, boolean]> = [
    ['running', 'RUNNING', true],
    ['running', 'COMPLETED', false],
    ['running', 'TERMINATED', false],
    ['success', 'COMPLETED', true],
    ['success', 'RUNNING', false],
    ['success', 'TERMINATED', false],
    ['degraded', 'FAILED', false],
    ['error', 'FAILED', true],
    ['error', 'TERMINATED', true],
    ['error', 'COMPLETED', true],
    ['error', 'RUNNING', false],
    ['cancelled', 'CANCELLED', true],
    ['cancelled', 'RUNNING', false],
    ['unreadable', 'RUNNING', true],
  ];
  for (const [store, temporal, agrees] of cases) assert.equal(sessionStatusAgrees(store, temporal), agrees, `${store} / ${temporal}`);
});
