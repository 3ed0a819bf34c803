/** Local activity markers: the attempts each covers, and reconcile against them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localActivityFacts, type LocalActivityMarker } from '../../cim/local-activities';
import { reconcileSession, type RunFacts } from '../../cim/reconcile';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';

const T0 = '2025-01-01T00:00:00.000Z';
const S = 's1';

function marker(fields: Partial<LocalActivityMarker> & Pick<LocalActivityMarker, 'eventId' | 'activityId' | 'attempt'>): LocalActivityMarker {
  return { activityType: 'flaky', originalScheduleTime: '1700000000.5', backoff: false, outcome: 'completed', ...fields };
}

function runWith(markers: LocalActivityMarker[]): RunFacts[] {
  return [
    {
      workflowId: S,
      runId: 'r1',
      workflowType: 'agent',
      scope: null,
      previousRunId: null,
      close: { kind: 'completed', resultStatus: 'success' },
      children: [],
      activities: localActivityFacts(markers),
      signals: [],
      continuedAs: null,
    },
  ];
}

const scopes: ScopeRecord[] = [
  {
    sessionId: S, scopeId: S, kind: 'root', agent: 'agent', agentVersion: '1.0.0', status: 'success', runId: 'r1',
    parentScopeId: null, handoffFromScopeId: null, delegatedBy: null, objective: null, allowance: null, depth: 0, path: `/${S}/`,
    namespace: 'default', recovered: false, error: null, startedAt: T0, endedAt: T0, workflowId: S,
  },
];

function row(activityId: string, attempt: number, status: ActionRecord['status'], name = 'flaky'): ActionRecord {
  return {
    actionId: `${S}/a${activityId}#${attempt}`, scopeId: S, sessionId: S, namespace: 'default', agent: 'agent', kind: 'tool_call', name, status,
    attempt, resources: [], inputDigest: null, outputDigest: null, error: null, startedAt: T0, endedAt: T0, workflowId: S, runId: 'r1',
    activityId, targetScopeId: null, attributes: {},
  };
}

const brief = (markers: LocalActivityMarker[], rows: ActionRecord[]) =>
  reconcileSession(S, runWith(markers), scopes, rows).differences.map((d) => `${d.kind} ${d.id}`);

test('one marker covers the attempts retried in the worker, from the first', () => {
  const [facts] = localActivityFacts([marker({ eventId: 5, activityId: '1', attempt: 3 })]);
  assert.deepEqual(facts!.local, { firstAttempt: 1, mayNotHaveStarted: false });
  assert.equal(facts!.close, 'completed');
  const rows = [row('1', 1, 'error'), row('1', 2, 'error'), row('1', 3, 'success')];
  assert.deepEqual(brief([marker({ eventId: 5, activityId: '1', attempt: 3 })], rows), []);
  assert.deepEqual(brief([marker({ eventId: 5, activityId: '1', attempt: 3 })], rows.slice(1)), [`missing ${S}/a1#1`]);
  assert.deepEqual(brief([marker({ eventId: 5, activityId: '1', attempt: 3 })], [...rows, row('1', 4, 'error')]), [`extra ${S}/a1#4`]);
});

test('after a timer backoff the next marker (new id, same original schedule time) covers the attempts after the last one', () => {
  const markers = [
    marker({ eventId: 5, activityId: '1', attempt: 2, backoff: true, outcome: 'failed', failureMessage: 'flaky failure on attempt 2' }),
    marker({ eventId: 9, activityId: '3', attempt: 1, activityType: 'other', originalScheduleTime: '1700000000.7' }),
    marker({ eventId: 12, activityId: '4', attempt: 4, backoff: true, outcome: 'failed', failureMessage: 'flaky failure on attempt 4' }),
    marker({ eventId: 20, activityId: '6', attempt: 5 }),
  ];
  assert.deepEqual(localActivityFacts(markers).map((f) => [f.activityId, f.local!.firstAttempt, f.lastAttempt]), [
    ['1', 1, 2],
    ['3', 1, 1],
    ['4', 3, 4],
    ['6', 5, 5],
  ]);
  const rows = [row('1', 1, 'error'), row('1', 2, 'error'), row('3', 1, 'success', 'other'), row('4', 3, 'error'), row('4', 4, 'error'), row('6', 5, 'success')];
  rows[1]!.error = 'flaky failure on attempt 2';
  rows[4]!.error = 'flaky failure on attempt 4';
  assert.deepEqual(brief(markers, rows), []);
  // A made-up first attempt under the retry's id is not something history holds.
  assert.deepEqual(brief(markers, [...rows, row('4', 1, 'error')]), [`extra ${S}/a4#1`]);
  // The marker's failure is the last attempt's error.
  rows[4]!.error = 'something else';
  assert.deepEqual(brief(markers, rows), [`mismatched ${S}/a4#4`]);
});

test('a chain that does not add up starts over at attempt 1 rather than covering attempts it never reached', () => {
  const facts = localActivityFacts([
    marker({ eventId: 5, activityId: '1', attempt: 6, backoff: true, outcome: 'failed' }),
    marker({ eventId: 9, activityId: '2', attempt: 3 }),
  ]);
  assert.deepEqual(facts.map((f) => f.local!.firstAttempt), [1, 1]);
});

test('a cancelled local activity, or one timed out before it could start, may have no row; a row it has is still checked', () => {
  const cancelled = [marker({ eventId: 5, activityId: '1', attempt: 1, outcome: 'canceled' })];
  assert.equal(localActivityFacts(cancelled)[0]!.local!.mayNotHaveStarted, true);
  assert.deepEqual(brief(cancelled, []), []);
  assert.deepEqual(brief(cancelled, [row('1', 1, 'cancelled')]), []);
  assert.deepEqual(brief(cancelled, [row('1', 1, 'running')]), [`mismatched ${S}/a1#1`]);
  const beforeStart = [marker({ eventId: 5, activityId: '1', attempt: 1, outcome: 'timed_out', timeoutType: 'TIMEOUT_TYPE_SCHEDULE_TO_START' })];
  assert.deepEqual(brief(beforeStart, []), []);
  // A start-to-close timeout needs the attempt running: its row must be there.
  const running = [marker({ eventId: 5, activityId: '1', attempt: 1, outcome: 'timed_out', timeoutType: 'TIMEOUT_TYPE_START_TO_CLOSE' })];
  assert.equal(localActivityFacts(running)[0]!.local!.mayNotHaveStarted, false);
  assert.deepEqual(brief(running, []), [`missing ${S}/a1#1`]);
  assert.deepEqual(brief(running, [row('1', 1, 'error')]), []);
});
