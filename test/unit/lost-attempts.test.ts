/**
 * Rows the next attempt writes for earlier attempts that never said how they ended
 * (their worker was lost): timed between the call's first scheduling and this attempt's,
 * so they sort before the attempt that followed them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { encodeScopeHeader, SCOPE_HEADER } from '../../cim/header';
import type { ActionRecord, ScopeContext } from '../../cim/schemas';
import type { Store } from '../../store/types';
import { Recorder } from '../../worker/recorder';
import { lostAttemptsWindow, scopeActivityInterceptor } from '../../worker/activity-interceptor';

test('lost attempts ran after the call was first scheduled and before this attempt was, never later than now', () => {
  const now = Date.parse('2026-12-04T12:00:10.000Z');
  assert.deepEqual(lostAttemptsWindow({ scheduledTimestampMs: now - 9_000, currentAttemptScheduledTimestampMs: now - 2_000 }, now), {
    startedAt: '2026-12-04T12:00:01.000Z',
    endedAt: '2026-12-04T12:00:08.000Z',
  });
  // A server clock ahead of the worker's: its times would put the rows after this attempt, so now stands in.
  assert.deepEqual(lostAttemptsWindow({ scheduledTimestampMs: now + 60_000, currentAttemptScheduledTimestampMs: now + 61_000 }, now), {
    startedAt: '2026-12-04T12:00:10.000Z',
    endedAt: '2026-12-04T12:00:10.000Z',
  });
  // Only the first scheduling known, or neither.
  assert.deepEqual(lostAttemptsWindow({ scheduledTimestampMs: now - 1_000 }, now), { startedAt: '2026-12-04T12:00:09.000Z', endedAt: '2026-12-04T12:00:10.000Z' });
  assert.deepEqual(lostAttemptsWindow({ scheduledTimestampMs: Number.NaN, currentAttemptScheduledTimestampMs: now - 1_000 }, now), { startedAt: '2026-12-04T12:00:09.000Z', endedAt: '2026-12-04T12:00:09.000Z' });
  // This attempt scheduled before the first (an impossible pair): not a window.
  assert.deepEqual(lostAttemptsWindow({ scheduledTimestampMs: now - 1_000, currentAttemptScheduledTimestampMs: now - 5_000 }, now), { startedAt: '2026-12-04T12:00:09.000Z', endedAt: '2026-12-04T12:00:10.000Z' });
});

test('the third attempt of a call fills in the first two, timed before itself', async () => {
  const rows: ActionRecord[] = [];
  const store = {
    upsertActions: async (records: ActionRecord[]) => void rows.push(...records),
    fillActionGaps: async (records: ActionRecord[]) => void rows.push(...records),
    upsertScopes: async () => undefined,
    upsertPayloads: async () => undefined,
    fingerprints: () => ({ upsert: async () => undefined }),
  } as unknown as Store;
  const recorder = new Recorder(store, { lingerMs: 1 });
  const ctx: ScopeContext = {
    sessionId: 's', scopeId: 's', parentScopeId: null, handoffFromScopeId: null, kind: 'root', agent: 'caller',
    agentVersion: '1', delegatedBy: null, allowance: null, depth: 0, path: '/s/', handoffIndex: 0, visibility: false, budget: null,
  };
  const withScope: ActivityInterceptorsFactory = () => ({
    inbound: { execute: (input, next) => next({ ...input, headers: { ...input.headers, [SCOPE_HEADER]: encodeScopeHeader(ctx) } }) },
  });
  const started = Date.now();
  const env = new MockActivityEnvironment(
    {
      activityType: 'lookup', activityId: '1', attempt: 3, isLocal: false,
      scheduledTimestampMs: started - 30_000, currentAttemptScheduledTimestampMs: started - 1_000,
      workflowExecution: { workflowId: 's', runId: 'run-1' }, workflowNamespace: 'default',
    },
    { interceptors: [withScope, scopeActivityInterceptor(recorder, new Map(), { runningRowAfterMs: 60_000 })] },
  );
  await env.run(async () => 'ok');
  await recorder.drain();
  const byAttempt = new Map(rows.map((r) => [r.attempt, r]));
  assert.deepEqual([...byAttempt.keys()].sort(), [1, 2, 3]);
  for (const lost of [byAttempt.get(1)!, byAttempt.get(2)!]) {
    assert.equal(lost.attributes.reconstructed, true);
    assert.equal(lost.startedAt, new Date(started - 30_000).toISOString());
    assert.equal(lost.endedAt, new Date(started - 1_000).toISOString());
    assert.ok(lost.startedAt < byAttempt.get(3)!.startedAt, 'sorts before the attempt that followed it');
  }
});
