/**
 * A rebuilt attempt (one that never reported its outcome) starts no earlier than what is
 * known of the attempt before it (cim/rebuilt-attempt.ts), in the store's gap fill too
 * (store/rebuilt-attempts.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { earlierAttemptId, rebuiltAttemptTimes } from '../../cim/rebuilt-attempt';
import { afterEarlierAttempts } from '../../store/rebuilt-attempts';
import type { ActionRecord } from '../../cim/schemas';

const t = (s: string) => `2026-12-07T01:38:${s}Z`;

test('a rebuilt attempt starts no earlier than the attempt before it began, or ended where it recorded its end', () => {
  const own = { startedAt: t('21.694'), endedAt: t('30.000') };
  // The trial's case: attempt 1 started at 22.297, attempt 2's window began at the call's scheduling.
  assert.deepEqual(rebuiltAttemptTimes(own, { startedAt: t('22.297'), endedAt: null, reconstructed: false }), { startedAt: t('22.297'), endedAt: t('30.000') });
  assert.deepEqual(rebuiltAttemptTimes(own, { startedAt: t('22.297'), endedAt: t('25.100'), reconstructed: false }), { startedAt: t('25.100'), endedAt: t('30.000') });
  // An end a later writer rebuilt is only the window's bound, not when the attempt ended.
  assert.deepEqual(rebuiltAttemptTimes(own, { startedAt: t('22.297'), endedAt: t('30.000'), reconstructed: true }), { startedAt: t('22.297'), endedAt: t('30.000') });
  // Already after it, or nothing known: unchanged.
  assert.equal(rebuiltAttemptTimes(own, { startedAt: t('20.000'), endedAt: t('21.000'), reconstructed: false }), own);
  assert.equal(rebuiltAttemptTimes(own, undefined), own);
  // Never ends before it begins.
  assert.deepEqual(rebuiltAttemptTimes(own, { startedAt: t('31.000'), endedAt: null, reconstructed: false }), { startedAt: t('31.000'), endedAt: t('31.000') });
  assert.equal(earlierAttemptId('s.1.2/a1#3', 3), 's.1.2/a1#2');
  assert.equal(earlierAttemptId('s/a10#10', 10), 's/a10#9');
  assert.equal(earlierAttemptId('s/a1#1', 1), undefined);
});

function gap(attempt: number, startedAt: string, endedAt: string): ActionRecord {
  return {
    actionId: `s/a1#${attempt}`, scopeId: 's', sessionId: 's', namespace: 'default', agent: 'a', kind: 'tool_call', name: 'echo', attempt,
    resources: [], inputDigest: null, outputDigest: null, status: 'error', error: 'attempt ended without reporting its outcome', startedAt, endedAt,
    workflowId: 's', runId: 'r', activityId: '1', targetScopeId: null, attributes: { reconstructed: true },
  } as ActionRecord;
}

test('the gap fill puts rebuilt attempts after the stored attempt before them, and after each other in one batch', async () => {
  // Attempt 1 recorded its start (a running row); attempts 2 and 3 are rebuilt from the call's window.
  const stored = [{ namespace: 'default', action_id: 's/a1#1', status: 'running', started_at: new Date(t('22.297')), ended_at: null, reconstructed: null }];
  const asked: unknown[][] = [];
  const db = { query: async <R>(_sql: string, params?: unknown[]) => (asked.push(params ?? []), { rows: stored as R[] }) };
  const out = await afterEarlierAttempts(db, 'actions', [gap(3, t('21.694'), t('40.000')), gap(1, t('21.694'), t('40.000')), gap(2, t('21.694'), t('40.000'))]);
  assert.deepEqual(out.map((r) => [r.actionId, r.startedAt, r.endedAt]), [
    ['s/a1#3', t('22.297'), t('40.000')],
    // Attempt 1's own row keeps its start; the fill only closes it.
    ['s/a1#1', t('21.694'), t('40.000')],
    ['s/a1#2', t('22.297'), t('40.000')],
  ]);
  assert.deepEqual(asked, [[['default'], ['s/a1#3', 's/a1#2', 's/a1#1']]]);
  // First attempts alone: nothing to ask.
  assert.equal((await afterEarlierAttempts(db, 'actions', [gap(1, t('21.694'), t('40.000'))])).length, 1);
  assert.equal(asked.length, 1);
});
