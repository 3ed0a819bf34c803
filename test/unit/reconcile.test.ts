/** reconcileSession: hand-built history facts against hand-built store rows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  reconcileSession,
  type ActivityFacts,
  type ChildFacts,
  type Difference,
  type RunFacts,
  type SignalFacts,
} from '../../cim/reconcile';
import type { ActionRecord, ScopeContext, ScopeRecord } from '../../cim/schemas';
import { HANDOFF_SIGNAL } from '../../cim/schemas';
import { UNHANDLED_SIGNAL_ERROR } from '../../cim/names';

const T0 = '2025-01-01T00:00:00.000Z';

function ctx(fields: Partial<ScopeContext> & Pick<ScopeContext, 'sessionId' | 'scopeId' | 'kind' | 'agent'>): ScopeContext {
  return {
    parentScopeId: null,
    handoffFromScopeId: null,
    agentVersion: 'unknown',
    delegatedBy: null,
    allowance: null,
    depth: 0,
    path: `/${fields.scopeId}/`,
    handoffIndex: 0,
    visibility: false,
    budget: null,
    ...fields,
  };
}

function run(fields: Partial<RunFacts> & Pick<RunFacts, 'workflowId' | 'runId' | 'workflowType'>): RunFacts {
  return {
    scope: null,
    previousRunId: null,
    close: { kind: 'completed', resultStatus: 'success' },
    children: [],
    activities: [],
    signals: [],
    continuedAs: null,
    ...fields,
  };
}

function activity(activityId: string, activityType: string, lastAttempt: number | null, close: ActivityFacts['close']): ActivityFacts {
  return { activityId, activityType, scheduledEventId: 100 + Number(activityId), lastAttempt, close };
}

function child(workflowId: string, workflowType: string, eventId: number, close: ChildFacts['close'], wtc = 4): ChildFacts {
  return { workflowId, workflowType, eventId, workflowTaskCompletedEventId: wtc, runId: `run-${workflowId}`, close };
}

function signal(name: string, eventId: number, processedBy: number | null, args: unknown[] = []): SignalFacts {
  return { name, eventId, processedByTaskCompletedEventId: processedBy, args };
}

function scopeRow(fields: Partial<ScopeRecord> & Pick<ScopeRecord, 'sessionId' | 'scopeId' | 'kind' | 'agent' | 'status' | 'runId'>): ScopeRecord {
  return {
    parentScopeId: null,
    handoffFromScopeId: null,
    agentVersion: '1.0.0',
    delegatedBy: null,
    objective: null,
    allowance: null,
    depth: 0,
    path: `/${fields.scopeId}/`,
    namespace: 'default',
    recovered: false,
    error: null,
    startedAt: T0,
    endedAt: fields.status === 'running' ? null : T0,
    workflowId: fields.scopeId.split('~')[0]!,
    ...fields,
  };
}

function actionRow(
  fields: Partial<ActionRecord> & Pick<ActionRecord, 'actionId' | 'scopeId' | 'sessionId' | 'kind' | 'name' | 'status'>,
): ActionRecord {
  const activity = /\/a([^#]+)#(\d+)$/.exec(fields.actionId);
  return {
    namespace: 'default',
    agent: 'agent',
    attempt: activity ? Number(activity[2]) : 1,
    resources: [],
    inputDigest: null,
    outputDigest: null,
    error: null,
    startedAt: T0,
    endedAt: T0,
    workflowId: fields.scopeId,
    runId: 'r',
    activityId: activity ? activity[1]! : null,
    targetScopeId: null,
    attributes: {},
    ...fields,
  };
}

// ---------------------------------------------------------------- a delegating session

const S = 's1';

/**
 * An orchestrator delegates to two leaves (the second fails), calls search (3 attempts,
 * the last succeeds) and the LLM, and receives one `note` signal and an internal signal.
 */
function delegatingRuns(): RunFacts[] {
  return [
    run({
      workflowId: S,
      runId: 'r-root',
      workflowType: 'orch',
      close: { kind: 'completed', resultStatus: 'degraded' },
      children: [child(`${S}.1`, 'leaf', 5, 'completed'), child(`${S}.2`, 'leaf', 6, 'failed')],
      activities: [activity('1', 'search', 3, 'completed'), activity('2', 'llm', 1, 'completed')],
      signals: [signal('note', 10, 14, ['hi']), signal('__internal', 11, 14)],
    }),
    run({
      workflowId: `${S}.1`,
      runId: `run-${S}.1`,
      workflowType: 'leaf',
      scope: ctx({ sessionId: S, scopeId: `${S}.1`, kind: 'delegation', agent: 'leaf', parentScopeId: S, delegatedBy: 'orch', depth: 1 }),
      close: { kind: 'completed', resultStatus: 'success' },
      activities: [activity('1', 'echo', 1, 'completed')],
    }),
    run({
      workflowId: `${S}.2`,
      runId: `run-${S}.2`,
      workflowType: 'leaf',
      scope: ctx({ sessionId: S, scopeId: `${S}.2`, kind: 'delegation', agent: 'leaf', parentScopeId: S, delegatedBy: 'orch', depth: 1 }),
      close: { kind: 'failed' },
      activities: [activity('1', 'echo', 2, 'failed')],
    }),
  ];
}

function delegatingStore(): { scopes: ScopeRecord[]; actions: ActionRecord[] } {
  const scopes = [
    scopeRow({ sessionId: S, scopeId: S, kind: 'root', agent: 'orch', status: 'degraded', runId: 'r-root' }),
    scopeRow({ sessionId: S, scopeId: `${S}.1`, kind: 'delegation', agent: 'leaf', parentScopeId: S, depth: 1, status: 'success', runId: `run-${S}.1` }),
    scopeRow({ sessionId: S, scopeId: `${S}.2`, kind: 'delegation', agent: 'leaf', parentScopeId: S, depth: 1, status: 'error', runId: `run-${S}.2` }),
  ];
  const actions = [
    actionRow({ actionId: `${S}/w1`, scopeId: S, sessionId: S, kind: 'delegate', name: 'leaf', status: 'success', targetScopeId: `${S}.1` }),
    actionRow({ actionId: `${S}/w2`, scopeId: S, sessionId: S, kind: 'delegate', name: 'leaf', status: 'error', targetScopeId: `${S}.2` }),
    actionRow({ actionId: `${S}/w3`, scopeId: S, sessionId: S, kind: 'signal', name: 'note', status: 'success' }),
    actionRow({ actionId: `${S}/a1#1`, scopeId: S, sessionId: S, kind: 'tool_call', name: 'search', status: 'error' }),
    actionRow({ actionId: `${S}/a1#2`, scopeId: S, sessionId: S, kind: 'tool_call', name: 'search', status: 'error' }),
    actionRow({ actionId: `${S}/a1#3`, scopeId: S, sessionId: S, kind: 'tool_call', name: 'search', status: 'success' }),
    actionRow({ actionId: `${S}/a2#1`, scopeId: S, sessionId: S, kind: 'llm_call', name: 'llm', status: 'success' }),
    actionRow({ actionId: `${S}.1/a1#1`, scopeId: `${S}.1`, sessionId: S, kind: 'tool_call', name: 'echo', status: 'success' }),
    actionRow({ actionId: `${S}.2/a1#1`, scopeId: `${S}.2`, sessionId: S, kind: 'tool_call', name: 'echo', status: 'error' }),
    actionRow({ actionId: `${S}.2/a1#2`, scopeId: `${S}.2`, sessionId: S, kind: 'tool_call', name: 'echo', status: 'error' }),
  ];
  return { scopes, actions };
}

function brief(diffs: Difference[]): string[] {
  return diffs.map((d) => `${d.kind} ${d.record} ${d.id}`);
}

test('a complete store has zero differences, and the counts say what was compared', () => {
  const { scopes, actions } = delegatingStore();
  const report = reconcileSession(S, delegatingRuns(), scopes, actions);
  assert.deepEqual(report.differences, []);
  assert.equal(report.sessionId, S);
  assert.equal(report.runs, 3);
  assert.deepEqual(report.expected, { scopes: 3, actions: 10 });
  assert.deepEqual(report.stored, { scopes: 3, actions: 10, openInHistory: 0 });
});

test('a deleted tool attempt is one missing action named by its id', () => {
  const { scopes, actions } = delegatingStore();
  const report = reconcileSession(S, delegatingRuns(), scopes, actions.filter((a) => a.actionId !== `${S}/a1#2`));
  assert.deepEqual(brief(report.differences), [`missing action ${S}/a1#2`]);
  assert.equal(report.differences[0]!.scopeId, S);
  assert.match(report.differences[0]!.detail, /attempt 2 of 3 of activity 1 \(search/);
});

test('deleted workflow-side actions are named by the id the workflow gave them', () => {
  const { scopes, actions } = delegatingStore();
  for (const id of [`${S}/w1`, `${S}/w2`, `${S}/w3`]) {
    const report = reconcileSession(S, delegatingRuns(), scopes, actions.filter((a) => a.actionId !== id));
    assert.deepEqual(brief(report.differences), [`missing action ${id}`]);
  }
});

test('a deleted scope is one missing scope; its actions are still explained', () => {
  const { scopes, actions } = delegatingStore();
  const report = reconcileSession(S, delegatingRuns(), scopes.filter((s) => s.scopeId !== `${S}.2`), actions);
  assert.deepEqual(brief(report.differences), [`missing scope ${S}.2`]);
});

test('rows no history explains are extra: an unscheduled activity, an unknown scope and its actions, a stray signal', () => {
  const { scopes, actions } = delegatingStore();
  const report = reconcileSession(
    S,
    delegatingRuns(),
    [...scopes, scopeRow({ sessionId: S, scopeId: `${S}.9`, kind: 'delegation', agent: 'leaf', parentScopeId: S, status: 'success', runId: 'ghost' })],
    [
      ...actions,
      actionRow({ actionId: `${S}.1/a7#1`, scopeId: `${S}.1`, sessionId: S, kind: 'tool_call', name: 'echo', status: 'success' }),
      actionRow({ actionId: `${S}.9/a1#1`, scopeId: `${S}.9`, sessionId: S, kind: 'tool_call', name: 'echo', status: 'success' }),
      actionRow({ actionId: `${S}/w4`, scopeId: S, sessionId: S, kind: 'signal', name: 'note', status: 'success' }),
    ],
  );
  assert.deepEqual(brief(report.differences), [
    `extra action ${S}/w4`,
    `extra action ${S}.1/a7#1`,
    `extra action ${S}.9/a1#1`,
    `extra scope ${S}.9`,
  ]);
  assert.match(report.differences.find((d) => d.id === `${S}.1/a7#1`)!.detail, /activity 7 attempt 1 of its scope is not in history/);
});

test('a wrong status is a mismatch on the same id, for a scope and for an action', () => {
  const { scopes, actions } = delegatingStore();
  const report = reconcileSession(
    S,
    delegatingRuns(),
    scopes.map((s) => (s.scopeId === `${S}.2` ? { ...s, status: 'success' as const } : s)),
    actions.map((a) => (a.actionId === `${S}/a1#3` ? { ...a, status: 'error' as const } : a)),
  );
  assert.deepEqual(brief(report.differences), [`mismatched action ${S}/a1#3`, `mismatched scope ${S}.2`]);
  assert.match(report.differences[1]!.detail, /status: store "success", history "error"/);
});

test('every field history proves is compared: attempt error, input and output digests, reported resources, scope error', () => {
  const runs = delegatingRuns();
  const search = runs[0]!.activities[0]!;
  search.inputDigest = 'sha256:in';
  search.result = { outputDigest: 'sha256:out', resources: [{ uri: 'db:notes', mode: 'write' }, { uri: 'api:web-search', mode: 'read' }] };
  const echo = runs[2]!.activities[0]!;
  echo.failureMessage = 'echo broke';
  runs[2]!.close = { kind: 'failed', failureMessages: ['leaf refused: t2', 'leaf refused: t2'] };
  const { scopes, actions } = delegatingStore();
  const honest = actions.map((a) => {
    if (a.actionId.startsWith(`${S}/a1#`)) return { ...a, inputDigest: 'sha256:in' };
    if (a.actionId === `${S}.2/a1#2`) return { ...a, error: 'echo broke' };
    return a;
  });
  const honestScopes = scopes.map((s) => (s.scopeId === `${S}.2` ? { ...s, error: 'leaf refused: t2' } : s));
  const withSearch = (fields: Partial<ActionRecord>) =>
    honest.map((a) => (a.actionId === `${S}/a1#3` ? { ...a, outputDigest: 'sha256:out', resources: search.result!.resources!, ...fields } : a));
  assert.deepEqual(reconcileSession(S, runs, honestScopes, withSearch({})).differences, []);

  const laundered = reconcileSession(S, runs, honestScopes, withSearch({ resources: [{ uri: 'api:web-search', mode: 'read' }] }));
  assert.deepEqual(brief(laundered.differences), [`mismatched action ${S}/a1#3`]);
  assert.match(laundered.differences[0]!.detail, /resources: store \[read api:web-search\], the tool's result in history \[read api:web-search, write db:notes\]/);

  const digests = reconcileSession(S, runs, honestScopes, withSearch({ inputDigest: 'sha256:x', outputDigest: 'sha256:y' }));
  assert.match(digests.differences[0]!.detail, /inputDigest: store "sha256:x", history "sha256:in"; outputDigest: store "sha256:y", history "sha256:out"/);

  const errors = reconcileSession(
    S,
    runs,
    honestScopes.map((s) => (s.scopeId === `${S}.2` ? { ...s, error: 'a harmless hiccup' } : s.scopeId === S ? { ...s, error: 'forged' } : s)),
    withSearch({}).map((a) => (a.actionId === `${S}.2/a1#2` ? { ...a, error: 'timeout' } : a)),
  );
  assert.deepEqual(brief(errors.differences), [`mismatched scope ${S}`, `mismatched action ${S}.2/a1#2`, `mismatched scope ${S}.2`]);
  assert.match(errors.differences[0]!.detail, /error: store "forged", history null/);
  assert.match(errors.differences[1]!.detail, /error: store "timeout", history "echo broke"/);
  assert.match(errors.differences[2]!.detail, /error: store "a harmless hiccup", history "leaf refused: t2"/);
});

test('a scope error is expected with each cause said once, and rows that said one twice (written before) still match', () => {
  const runs = delegatingRuns();
  runs[2]!.activities[0]!.failureMessage = 'echo broke';
  runs[2]!.close = { kind: 'failed', failureMessages: ['Activity task failed', 'MCP server s (http://h/mcp) gave no answer to read: fetch failed', 'fetch failed', 'connect ECONNREFUSED 127.0.0.1:7412'] };
  const { scopes, actions } = delegatingStore();
  const stored = actions.map((a) => (a.actionId === `${S}.2/a1#2` ? { ...a, error: 'echo broke' } : a));
  const withError = (error: string) => scopes.map((x) => (x.scopeId === `${S}.2` ? { ...x, error } : x));
  const once = 'Activity task failed: MCP server s (http://h/mcp) gave no answer to read: fetch failed: connect ECONNREFUSED 127.0.0.1:7412';
  assert.deepEqual(reconcileSession(S, runs, withError(once), stored).differences, []);
  const twice = 'Activity task failed: MCP server s (http://h/mcp) gave no answer to read: fetch failed: fetch failed: connect ECONNREFUSED 127.0.0.1:7412';
  assert.deepEqual(reconcileSession(S, runs, withError(twice), stored).differences, []);
  const other = reconcileSession(S, runs, withError('Activity task failed: something else'), stored);
  assert.deepEqual(brief(other.differences), [`mismatched scope ${S}.2`]);
  assert.match(other.differences[0]!.detail, new RegExp(`history "${once.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
});

test('text the store had to clean (NUL, a lone surrogate) is compared as the store keeps it, not reported as tampering', () => {
  const runs = delegatingRuns();
  const search = runs[0]!.activities[0]!;
  search.result = { outputDigest: 'sha256:out', resources: [{ uri: 'data:cut-\uD83D', mode: 'read' }] };
  const echo = runs[2]!.activities[0]!;
  echo.failureMessage = 'bad byte \u0000 here';
  runs[2]!.close = { kind: 'failed', failureMessages: ['half an emoji \uD83D'] };
  const { scopes, actions } = delegatingStore();
  const stored = actions.map((a) =>
    a.actionId === `${S}/a1#3`
      ? { ...a, outputDigest: 'sha256:out', resources: [{ uri: 'data:cut-\uFFFD', mode: 'read' as const }] }
      : a.actionId === `${S}.2/a1#2`
        ? { ...a, error: 'bad byte \uFFFD here' }
        : a,
  );
  const storedScopes = scopes.map((x) => (x.scopeId === `${S}.2` ? { ...x, error: 'half an emoji \uFFFD' } : x));
  assert.deepEqual(reconcileSession(S, runs, storedScopes, stored).differences, []);
});

test('a changed delegation target or agent is a mismatch, not a missing plus an extra', () => {
  const { scopes, actions } = delegatingStore();
  const report = reconcileSession(
    S,
    delegatingRuns(),
    scopes.map((s) => (s.scopeId === `${S}.1` ? { ...s, agent: 'other', parentScopeId: null } : s)),
    actions.map((a) => (a.actionId === `${S}/w2` ? { ...a, targetScopeId: `${S}.7` } : a)),
  );
  assert.deepEqual(brief(report.differences), [`mismatched action ${S}/w2`, `mismatched scope ${S}.1`]);
  assert.match(report.differences[0]!.detail, /targetScopeId: store "s1.7", history "s1.2"/);
  assert.match(report.differences[1]!.detail, /agent: store "other", history "leaf"; parentScopeId: store null, history "s1"/);
});

test('retries: attempts 1..N are expected, the earlier ones as errors, the last with the activity outcome', () => {
  const runs = [run({ workflowId: 'r1', runId: 'a', workflowType: 'w', activities: [activity('1', 'flaky', 4, 'completed'), activity('2', 'down', 2, 'timed_out')] })];
  const scopes = [scopeRow({ sessionId: 'r1', scopeId: 'r1', kind: 'root', agent: 'w', status: 'success', runId: 'a' })];
  const row = (id: string, name: string, status: ActionRecord['status']) =>
    actionRow({ actionId: `r1/a${id}`, scopeId: 'r1', sessionId: 'r1', kind: 'tool_call', name, status });
  const complete = [
    row('1#1', 'flaky', 'error'),
    row('1#2', 'flaky', 'error'),
    row('1#3', 'flaky', 'error'),
    row('1#4', 'flaky', 'success'),
    row('2#1', 'down', 'error'),
    row('2#2', 'down', 'error'),
  ];
  const ok = reconcileSession('r1', runs, scopes, complete);
  assert.deepEqual(ok.differences, []);
  assert.equal(ok.expected.actions, 6);

  // The worker died during attempt 2 (its row still says running) and attempt 3 was never recorded.
  // Activity 2's first attempt succeeded but its worker died before Temporal heard: a superseded
  // attempt may end any way, so that row is no difference.
  const gappy = complete
    .filter((a) => a.actionId !== 'r1/a1#3')
    .map((a) => (a.actionId === 'r1/a1#2' ? { ...a, status: 'running' as const } : a))
    .map((a) => (a.actionId === 'r2/a2#1' || a.actionId === 'r1/a2#1' ? { ...a, status: 'success' as const } : a));
  assert.deepEqual(brief(reconcileSession('r1', runs, scopes, gappy).differences), [
    'mismatched action r1/a1#2',
    'missing action r1/a1#3',
  ]);
  const lastWrong = complete.map((a) => (a.actionId === 'r1/a1#4' ? { ...a, status: 'error' as const } : a));
  assert.deepEqual(brief(reconcileSession('r1', runs, scopes, lastWrong).differences), ['mismatched action r1/a1#4'], 'the last attempt must match');
});

test('activities still open, or closed before any start, expect nothing and explain their rows', () => {
  const runs = [
    run({
      workflowId: 'o1',
      runId: 'a',
      workflowType: 'w',
      close: { kind: 'open' },
      activities: [activity('1', 'slow', null, 'open'), activity('2', 'slow', null, 'canceled')],
    }),
  ];
  const scopes = [scopeRow({ sessionId: 'o1', scopeId: 'o1', kind: 'root', agent: 'w', status: 'running', runId: 'a' })];
  const actions = [
    actionRow({ actionId: 'o1/a1#1', scopeId: 'o1', sessionId: 'o1', kind: 'tool_call', name: 'slow', status: 'error' }),
    actionRow({ actionId: 'o1/a1#2', scopeId: 'o1', sessionId: 'o1', kind: 'tool_call', name: 'slow', status: 'running' }),
  ];
  const report = reconcileSession('o1', runs, scopes, actions);
  assert.deepEqual(report.differences, []);
  assert.equal(report.expected.actions, 0);
  assert.deepEqual(report.stored, { scopes: 1, actions: 2, openInHistory: 2 }, 'their rows are counted as open in history');
});

test('refusals: a denied row stands for a failed attempt, and denied rows are never extra', () => {
  const runs = [run({ workflowId: 'd1', runId: 'a', workflowType: 'w', activities: [activity('1', 'exportAll', 1, 'failed')] })];
  const scopes = [scopeRow({ sessionId: 'd1', scopeId: 'd1', kind: 'root', agent: 'w', status: 'success', runId: 'a' })];
  const denied = (id: string) =>
    actionRow({ actionId: id, scopeId: 'd1', sessionId: 'd1', kind: 'denied', name: 'exportAll', status: 'denied' });
  assert.deepEqual(reconcileSession('d1', runs, scopes, [denied('d1/a1#1'), denied('d1/a9#1')]).differences, []);
});

test('a denied row over an attempt history shows timed out, completed or failing for another reason is a mismatch', () => {
  const denied = (id: string, error: string | null = null) =>
    actionRow({ actionId: id, scopeId: 'd2', sessionId: 'd2', kind: 'denied', name: 'slow', status: 'denied', error });
  const scopes = [scopeRow({ sessionId: 'd2', scopeId: 'd2', kind: 'root', agent: 'w', status: 'success', runId: 'a' })];
  const runs = [
    run({
      workflowId: 'd2', runId: 'a', workflowType: 'w',
      activities: [
        activity('1', 'slow', 1, 'timed_out'),
        activity('2', 'slow', 1, 'completed'),
        { ...activity('3', 'slow', 1, 'failed'), failureMessage: 'w in scope d2 may not read api:slow (its allowance: nothing)' },
        { ...activity('4', 'slow', 1, 'failed'), failureMessage: 'upstream refused the connection' },
      ],
    }),
  ];
  const rows = [denied('d2/a1#1'), denied('d2/a2#1'), denied('d2/a3#1', 'w in scope d2 may not read api:slow (its allowance: nothing)'), denied('d2/a4#1', 'w in scope d2 may not read api:slow (its allowance: nothing)')];
  const diffs = reconcileSession('d2', runs, scopes, rows).differences;
  assert.deepEqual(brief(diffs), ['mismatched action d2/a1#1', 'mismatched action d2/a2#1', 'mismatched action d2/a4#1']);
  assert.match(diffs[0]!.detail, /history shows the attempt timed out/);
  assert.match(diffs[1]!.detail, /status: store "denied", history "success"/);
  assert.match(diffs[2]!.detail, /error: store .*may not read.*, history .*upstream refused/);
});

test('a row\'s attempt number is held to its id, and a row may not end before it began', () => {
  const { scopes, actions } = delegatingStore();
  const changed = actions.map((a) =>
    a.actionId === `${S}/a1#3` ? { ...a, attempt: 2147483647 } : a.actionId === `${S}.1/a1#1` ? { ...a, startedAt: '9999-01-01T00:00:00.000Z', endedAt: '1970-01-01T00:00:00.000Z' } : a,
  );
  const diffs = reconcileSession(S, delegatingRuns(), scopes, changed).differences;
  assert.deepEqual(brief(diffs), [`mismatched action ${S}/a1#3`, `mismatched action ${S}.1/a1#1`]);
  assert.match(diffs[0]!.detail, /attempt: store 2147483647, history 3/);
  assert.match(diffs[1]!.detail, /endedAt: store 1970-01-01T00:00:00.000Z, before its startedAt 9999/);
});

test('a handoff chain A → B → C: three scopes, one handoff action in each scope that handed off', () => {
  const H = 'h1';
  const runs = [
    run({
      workflowId: H,
      runId: 'ra',
      workflowType: 'chainA',
      close: { kind: 'continued_as_new', nextRunId: 'rb' },
      activities: [activity('1', 'echo', 1, 'completed')],
      continuedAs: { nextRunId: 'rb', nextWorkflowType: 'chainB', nextScopeId: `${H}~1`, nextKind: 'handoff', eventId: 12, workflowTaskCompletedEventId: 11 },
    }),
    run({
      workflowId: H,
      runId: 'rb',
      workflowType: 'chainB',
      previousRunId: 'ra',
      scope: ctx({ sessionId: H, scopeId: `${H}~1`, kind: 'handoff', agent: 'chainB', handoffFromScopeId: H, handoffIndex: 1 }),
      close: { kind: 'continued_as_new', nextRunId: 'rc' },
      activities: [activity('1', 'echo', 1, 'completed')],
      continuedAs: { nextRunId: 'rc', nextWorkflowType: 'chainC', nextScopeId: `${H}~2`, nextKind: 'handoff', eventId: 12, workflowTaskCompletedEventId: 11 },
    }),
    run({
      workflowId: H,
      runId: 'rc',
      workflowType: 'chainC',
      previousRunId: 'rb',
      scope: ctx({ sessionId: H, scopeId: `${H}~2`, kind: 'handoff', agent: 'chainC', handoffFromScopeId: `${H}~1`, handoffIndex: 2 }),
      close: { kind: 'completed', resultStatus: 'success' },
      activities: [activity('1', 'echo', 1, 'completed')],
    }),
  ];
  const scopes = [
    scopeRow({ sessionId: H, scopeId: H, kind: 'root', agent: 'chainA', status: 'success', runId: 'ra' }),
    scopeRow({ sessionId: H, scopeId: `${H}~1`, kind: 'handoff', agent: 'chainB', handoffFromScopeId: H, status: 'degraded', runId: 'rb' }),
    scopeRow({ sessionId: H, scopeId: `${H}~2`, kind: 'handoff', agent: 'chainC', handoffFromScopeId: `${H}~1`, status: 'success', runId: 'rc' }),
  ];
  const actions = [
    actionRow({ actionId: `${H}/a1#1`, scopeId: H, sessionId: H, kind: 'tool_call', name: 'echo', status: 'success' }),
    actionRow({ actionId: `${H}/w1`, scopeId: H, sessionId: H, kind: 'handoff', name: 'chainB', status: 'success', targetScopeId: `${H}~1` }),
    actionRow({ actionId: `${H}~1/a1#1`, scopeId: `${H}~1`, sessionId: H, kind: 'tool_call', name: 'echo', status: 'success' }),
    actionRow({ actionId: `${H}~1/w1`, scopeId: `${H}~1`, sessionId: H, kind: 'handoff', name: 'chainC', status: 'success', targetScopeId: `${H}~2` }),
    actionRow({ actionId: `${H}~2/a1#1`, scopeId: `${H}~2`, sessionId: H, kind: 'tool_call', name: 'echo', status: 'success' }),
  ];
  const ok = reconcileSession(H, runs, scopes, actions);
  assert.deepEqual(ok.differences, [], 'a scope that handed off may hold any final status but running');
  assert.deepEqual(ok.expected, { scopes: 3, actions: 5 });

  const broken = reconcileSession(
    H,
    runs,
    scopes.map((s) => (s.scopeId === H ? { ...s, status: 'running' as const } : s)),
    actions.filter((a) => a.actionId !== `${H}~1/w1`),
  );
  assert.deepEqual(brief(broken.differences), [`mismatched scope ${H}`, `missing action ${H}~1/w1`]);
  assert.match(broken.differences[0]!.detail, /status: store "running", history: ended \(run continued as new\)/);
  assert.match(broken.differences[1]!.detail, /handoff chainC → h1~2/);
});

test('a handoff inside a delegation: history places the target under the delegator, and a row that does not is a mismatch', () => {
  const D = 'g1';
  const target = ctx({
    sessionId: D, scopeId: `${D}.1~1`, kind: 'handoff', agent: 'finisher', parentScopeId: D, handoffFromScopeId: `${D}.1`,
    depth: 1, path: `/${D}/${D}.1~1/`, handoffIndex: 1,
  });
  const runs = [
    run({ workflowId: D, runId: 'rd', workflowType: 'boss', children: [child(`${D}.1`, 'passer', 5, 'completed')] }),
    run({
      workflowId: `${D}.1`,
      runId: `run-${D}.1`,
      workflowType: 'passer',
      scope: ctx({ sessionId: D, scopeId: `${D}.1`, kind: 'delegation', agent: 'passer', parentScopeId: D, delegatedBy: 'boss', depth: 1, path: `/${D}/${D}.1/` }),
      close: { kind: 'continued_as_new', nextRunId: 'rf' },
      continuedAs: { nextRunId: 'rf', nextWorkflowType: 'finisher', nextScopeId: `${D}.1~1`, nextKind: 'handoff', eventId: 12, workflowTaskCompletedEventId: 11 },
    }),
    run({ workflowId: `${D}.1`, runId: 'rf', workflowType: 'finisher', previousRunId: `run-${D}.1`, scope: target }),
  ];
  const scopes = [
    scopeRow({ sessionId: D, scopeId: D, kind: 'root', agent: 'boss', status: 'success', runId: 'rd' }),
    scopeRow({ sessionId: D, scopeId: `${D}.1`, kind: 'delegation', agent: 'passer', parentScopeId: D, depth: 1, path: `/${D}/${D}.1/`, status: 'success', runId: `run-${D}.1` }),
    scopeRow({ sessionId: D, scopeId: `${D}.1~1`, kind: 'handoff', agent: 'finisher', parentScopeId: D, handoffFromScopeId: `${D}.1`, depth: 1, path: `/${D}/${D}.1~1/`, status: 'success', runId: 'rf', workflowId: `${D}.1` }),
  ];
  const actions = [
    actionRow({ actionId: `${D}/w1`, scopeId: D, sessionId: D, kind: 'delegate', name: 'passer', status: 'success', targetScopeId: `${D}.1` }),
    actionRow({ actionId: `${D}.1/w1`, scopeId: `${D}.1`, sessionId: D, kind: 'handoff', name: 'finisher', status: 'success', targetScopeId: `${D}.1~1` }),
  ];
  assert.deepEqual(reconcileSession(D, runs, scopes, actions).differences, []);

  // A row cut loose from its delegator would hide the target from every subtree query.
  const lateral = scopes.map((s) => (s.scopeId === `${D}.1~1` ? { ...s, parentScopeId: null, path: `/${D}.1~1/`, depth: 0 } : s));
  const report = reconcileSession(D, runs, lateral, actions);
  assert.deepEqual(brief(report.differences), [`mismatched scope ${D}.1~1`]);
  assert.match(report.differences[0]!.detail, /parentScopeId: store null, history "g1"; path: store "\/g1\.1~1\/", history "\/g1\/g1\.1~1\/"; depth: store 0, history 1/);
});

test('a terminated or timed-out run: the store must not say running (expected error)', () => {
  for (const kind of ['terminated', 'timed_out'] as const) {
    const runs = [run({ workflowId: 't1', runId: 'a', workflowType: 'w', close: { kind } })];
    const row = (status: ScopeRecord['status']) => [scopeRow({ sessionId: 't1', scopeId: 't1', kind: 'root', agent: 'w', status, runId: 'a' })];
    const report = reconcileSession('t1', runs, row('running'), []);
    assert.deepEqual(brief(report.differences), ['mismatched scope t1']);
    assert.match(report.differences[0]!.detail, /status: store "running", history "error"/);
    assert.deepEqual(reconcileSession('t1', runs, row('error'), []).differences, []);
  }
});

test('an open run expects its scope but not its status; a cancelled run expects cancelled', () => {
  const open = [run({ workflowId: 'o2', runId: 'a', workflowType: 'w', close: { kind: 'open' } })];
  const row = (status: ScopeRecord['status'], id = 'o2') => [scopeRow({ sessionId: id, scopeId: id, kind: 'root', agent: 'w', status, runId: 'a' })];
  assert.deepEqual(reconcileSession('o2', open, row('running'), []).differences, []);
  assert.deepEqual(brief(reconcileSession('o2', open, [], []).differences), ['missing scope o2']);
  const cancelled = [run({ workflowId: 'c1', runId: 'a', workflowType: 'w', close: { kind: 'canceled' } })];
  assert.deepEqual(reconcileSession('c1', cancelled, row('cancelled', 'c1'), []).differences, []);
  assert.deepEqual(brief(reconcileSession('c1', cancelled, row('error', 'c1'), []).differences), ['mismatched scope c1']);
});

test('rows of an open run that its history does not show yet are accounted for, not extra; once the run has closed they are', () => {
  const { scopes, actions } = delegatingStore();
  const runs = delegatingRuns();
  const open = { ...runs[0]!, close: { kind: 'open' as const } };
  const rootRow = scopes.map((s) => (s.scopeId === S ? { ...s, status: 'running' as const, endedAt: null } : s));
  // A local call still running (no marker yet) and a delegation its in-flight task started.
  const newer = [
    actionRow({ actionId: `${S}/a9#1`, scopeId: S, sessionId: S, kind: 'tool_call', name: 'search', status: 'running', activityId: '9' }),
    actionRow({ actionId: `${S}/w4`, scopeId: S, sessionId: S, kind: 'delegate', name: 'leaf', status: 'running', targetScopeId: `${S}.3` }),
  ];
  const report = reconcileSession(S, [open, ...runs.slice(1)], rootRow, [...actions, ...newer]);
  assert.deepEqual(report.differences, []);
  assert.equal(report.stored.openInHistory, 2);
  assert.deepEqual(brief(reconcileSession(S, runs, scopes, [...actions, ...newer]).differences), [`extra action ${S}/a9#1`, `extra action ${S}/w4`]);
});

test('a scope whose runs are open and have completed no workflow task need not be stored yet; once one has, it must be', () => {
  const { scopes, actions } = delegatingStore();
  const runs = delegatingRuns();
  const root = { ...runs[0]!, close: { kind: 'open' as const }, children: [{ ...runs[0]!.children[0]!, close: 'open' as const }, runs[0]!.children[1]!] };
  const rootRow = scopes.map((s) => (s.scopeId === S ? { ...s, status: 'running' as const, endedAt: null } : s));
  const leafActions = actions.filter((a) => a.scopeId !== `${S}.1`).map((a) => (a.actionId === `${S}/w1` ? { ...a, status: 'running' as const, endedAt: null } : a));
  const waiting = { ...runs[1]!, close: { kind: 'open' as const }, activities: [], workflowTasksCompleted: 0 };
  const withoutLeaf = rootRow.filter((s) => s.scopeId !== `${S}.1`);
  assert.deepEqual(reconcileSession(S, [root, waiting, runs[2]!], withoutLeaf, leafActions).differences, []);
  // Unknown (not read) is not zero: the row is required.
  const unread = { ...waiting, workflowTasksCompleted: undefined };
  assert.deepEqual(brief(reconcileSession(S, [root, unread, runs[2]!], withoutLeaf, leafActions).differences), [`missing scope ${S}.1`]);
  const started = { ...waiting, workflowTasksCompleted: 1 };
  assert.deepEqual(brief(reconcileSession(S, [root, started, runs[2]!], withoutLeaf, leafActions).differences), [`missing scope ${S}.1`]);
  // A run closed before any task (terminated while it waited) is still owed: the store cannot explain it.
  const terminated = { ...waiting, close: { kind: 'terminated' as const } };
  assert.deepEqual(brief(reconcileSession(S, [root, terminated, runs[2]!], withoutLeaf, leafActions).differences), [`missing scope ${S}.1`]);
});

test('a delegate whose end its delegator has not yet seen may still read running; once seen, its end is required', () => {
  const { scopes, actions } = delegatingStore();
  const runs = delegatingRuns();
  const root = runs[0]!;
  // The root is still running and history holds the first leaf's end, after its last completed task.
  const openRoot = { ...root, close: { kind: 'open' as const }, children: [{ ...root.children[0]!, closeUnseen: true }, root.children[1]!] };
  const stillRunning = actions.map((a) => (a.actionId === `${S}/w1` ? { ...a, status: 'running' as const, endedAt: null } : a));
  const rootRow = scopes.map((s) => (s.scopeId === S ? { ...s, status: 'running' as const, endedAt: null } : s));
  assert.deepEqual(reconcileSession(S, [openRoot, ...runs.slice(1)], rootRow, stillRunning).differences, []);
  // The same row once the run has taken the end in is a difference.
  const seen = { ...openRoot, children: root.children };
  assert.deepEqual(brief(reconcileSession(S, [seen, ...runs.slice(1)], rootRow, stillRunning).differences), [`mismatched action ${S}/w1`]);
});

test('signals are counted per name; handoff requests follow the agent\'s rules; unprocessed and internal ones expect nothing', () => {
  const valid = { to: 'chainC', reason: 'take over' };
  const runs = [
    run({
      workflowId: 'g1',
      runId: 'a',
      workflowType: 'waiter',
      // Returned without handing off: the accepted request (w3) was not honoured.
      close: { kind: 'completed', resultStatus: 'error' },
      signals: [
        signal('ping', 5, 8),
        signal(HANDOFF_SIGNAL, 6, 8, [{ to: 'chainC' }]),
        signal(HANDOFF_SIGNAL, 9, 12, [valid]),
        signal('ping', 10, 12),
        signal(HANDOFF_SIGNAL, 13, 16, [valid]),
        signal('__stack_trace', 14, 16),
        signal('ping', 20, null),
      ],
    }),
  ];
  const scopes = [scopeRow({ sessionId: 'g1', scopeId: 'g1', kind: 'root', agent: 'waiter', status: 'error', runId: 'a' })];
  const sig = (n: number, name: string, status: ActionRecord['status']) =>
    actionRow({ actionId: `g1/w${n}`, scopeId: 'g1', sessionId: 'g1', kind: 'signal', name, status });
  const complete = [
    sig(1, 'ping', 'success'),
    sig(2, HANDOFF_SIGNAL, 'error'),
    // As a build before unhonoured requests were recorded wrote it: it stands (see the test below).
    sig(3, HANDOFF_SIGNAL, 'success'),
    sig(4, 'ping', 'success'),
    sig(5, HANDOFF_SIGNAL, 'error'),
  ];
  const ok = reconcileSession('g1', runs, scopes, complete);
  assert.deepEqual(ok.differences, []);
  assert.equal(ok.expected.actions, 5);

  const lost = reconcileSession('g1', runs, scopes, complete.filter((a) => a.actionId !== 'g1/w4'));
  assert.deepEqual(brief(lost.differences), ['missing action g1/w4']);
  const doubled = reconcileSession('g1', runs, scopes, [...complete, sig(6, 'ping', 'success')]);
  assert.deepEqual(brief(doubled.differences), ['extra action g1/w6']);
  const wrong = reconcileSession('g1', runs, scopes, complete.map((a) => (a.actionId === 'g1/w3' ? { ...a, status: 'error' as const } : a)));
  assert.deepEqual(brief(wrong.differences), ['mismatched action g1/w3']);

  // A signal no handler took, recorded as its run ended, stands in for a handled one; any
  // other failed record of it does not, nor does a handoff request recorded that way.
  const asUnhandled = (id: string, error = UNHANDLED_SIGNAL_ERROR) => complete.map((a) => (a.actionId === id ? { ...a, status: 'error' as const, error } : a));
  assert.deepEqual(reconcileSession('g1', runs, scopes, asUnhandled('g1/w4')).differences, []);
  assert.deepEqual(brief(reconcileSession('g1', runs, scopes, asUnhandled('g1/w4', 'handler threw')).differences), ['mismatched action g1/w4']);
  assert.deepEqual(brief(reconcileSession('g1', runs, scopes, asUnhandled('g1/w3')).differences), ['mismatched action g1/w3']);
});

test('an accepted handoff request is honoured only by a handoff into the agent it names; rows of earlier builds stand', () => {
  const request = { to: 'chainC', reason: 'a person takes over' };
  const session = (end: Pick<RunFacts, 'close' | 'continuedAs'>, next?: { agent: string; kind: 'handoff' | 'root' }) => {
    const runs = [run({ workflowId: 'h1', runId: 'a', workflowType: 'waiter', signals: [signal(HANDOFF_SIGNAL, 5, 8, [request])], ...end })];
    const status = ({ open: 'running', failed: 'error', terminated: 'error', canceled: 'cancelled' } as const)[end.close.kind as 'open'] ?? 'success';
    const scopes = [scopeRow({ sessionId: 'h1', scopeId: 'h1', kind: 'root', agent: 'waiter', status, error: end.close.failureMessages?.[0] ?? null, runId: 'a' })];
    const actions: ActionRecord[] = [];
    if (next?.kind === 'handoff') {
      runs.push(run({ workflowId: 'h1', runId: 'b', workflowType: next.agent, previousRunId: 'a', scope: ctx({ sessionId: 'h1', scopeId: 'h1~1', kind: 'handoff', agent: next.agent, handoffFromScopeId: 'h1', handoffIndex: 1, path: '/h1~1/' }) }));
      scopes.push(scopeRow({ sessionId: 'h1', scopeId: 'h1~1', kind: 'handoff', agent: next.agent, handoffFromScopeId: 'h1', status: 'success', runId: 'b', workflowId: 'h1' }));
      actions.push(actionRow({ actionId: 'h1/w2', scopeId: 'h1', sessionId: 'h1', kind: 'handoff', name: next.agent, status: 'success', targetScopeId: 'h1~1' }));
    } else if (next) {
      runs.push(run({ workflowId: 'h1', runId: 'b', workflowType: next.agent, previousRunId: 'a', scope: ctx({ sessionId: 'h1', scopeId: 'h1', kind: 'root', agent: next.agent, continuation: { run: 1, startedAt: T0, actionSeq: 1, childSeq: 0, slotSeq: 0, llmTurns: 0, used: { turns: 0, tokens: 0 }, recoveredCalls: false, delegations: [] } }) }));
    }
    const differences = (status: ActionRecord['status'], error: string | null = null) =>
      brief(reconcileSession('h1', runs, scopes, [...actions, actionRow({ actionId: 'h1/w1', scopeId: 'h1', sessionId: 'h1', kind: 'signal', name: HANDOFF_SIGNAL, status, error, endedAt: status === 'running' ? null : T0 })]).differences);
    return differences;
  };
  const handoffTo = (agent: string) => ({
    close: { kind: 'continued_as_new' as const, nextRunId: 'b' },
    continuedAs: { nextRunId: 'b', nextWorkflowType: agent, nextScopeId: 'h1~1', nextKind: 'handoff' as const, eventId: 10, workflowTaskCompletedEventId: 9 },
  });
  const not = (why: string) => `handoff to chainC requested but not honoured: the agent ${why}`;

  // Honoured: the run went on as chainC.
  const honoured = session(handoffTo('chainC'), { agent: 'chainC', kind: 'handoff' });
  assert.deepEqual(honoured('success'), []);
  assert.deepEqual(honoured('error', not('returned before its next checkpoint')), ['mismatched action h1/w1']);
  assert.deepEqual(honoured('running'), ['mismatched action h1/w1']);

  // Dropped: the run ended otherwise. The reason is the row's error; a success row of an earlier build stands.
  const dropped: Array<[string, ReturnType<typeof session>]> = [
    ['returned before its next checkpoint', session({ close: { kind: 'completed', resultStatus: 'success' }, continuedAs: null })],
    ['failed before its next checkpoint', session({ close: { kind: 'failed', failureMessages: ['boom'] }, continuedAs: null })],
    ['was cancelled before its next checkpoint', session({ close: { kind: 'canceled' }, continuedAs: null })],
    ['handed off to chainB itself', session(handoffTo('chainB'), { agent: 'chainB', kind: 'handoff' })],
    [
      'continued as new in its own scope before its next checkpoint',
      session(
        { close: { kind: 'continued_as_new', nextRunId: 'b' }, continuedAs: { nextRunId: 'b', nextWorkflowType: 'waiter', nextScopeId: 'h1', nextKind: 'root', eventId: 10, workflowTaskCompletedEventId: 9 } },
        { agent: 'waiter', kind: 'root' },
      ),
    ],
  ];
  for (const [why, differences] of dropped) {
    assert.deepEqual(differences('error', not(why)), [], why);
    assert.deepEqual(differences('success'), [], `${why}: the earlier build's row`);
    assert.deepEqual(differences('error', not('failed before its next checkpoint') === not(why) ? not('returned before its next checkpoint') : not('failed before its next checkpoint')), ['mismatched action h1/w1'], `${why}: another reason`);
    assert.deepEqual(differences('running'), ['mismatched action h1/w1'], `${why}: still pending`);
  }
  const detail = reconcileSession('h1', [run({ workflowId: 'h1', runId: 'a', workflowType: 'waiter', signals: [signal(HANDOFF_SIGNAL, 5, 8, [request])] })], [scopeRow({ sessionId: 'h1', scopeId: 'h1', kind: 'root', agent: 'waiter', status: 'success', runId: 'a' })], [actionRow({ actionId: 'h1/w1', scopeId: 'h1', sessionId: 'h1', kind: 'signal', name: HANDOFF_SIGNAL, status: 'running', endedAt: null })]).differences[0]!.detail;
  assert.match(detail, /status: store "running", history "error" \("handoff to chainC requested but not honoured: the agent returned before its next checkpoint"\) or "success"/);

  // Undecided while the run is open, and when no agent code ended it.
  for (const kind of ['open', 'terminated'] as const) {
    const undecided = session({ close: { kind }, continuedAs: null });
    for (const status of ['running', 'success', 'error'] as const) assert.deepEqual(undecided(status, status === 'error' ? not('returned before its next checkpoint') : null), [], `${kind} ${status}`);
  }
});

test('workflow-side ids follow emission order: signals of a task before the commands it completed', () => {
  const runs = [
    run({
      workflowId: 'q1',
      runId: 'a',
      workflowType: 'w',
      // The signal arrives while task 3..4 runs, so task 7..10 handles it, before starting child .2.
      children: [child('q1.1', 'leaf', 5, 'completed', 4), child('q1.2', 'leaf', 11, 'completed', 10)],
      signals: [signal('ping', 4, 10)],
    }),
    run({ workflowId: 'q1.1', runId: 'run-q1.1', workflowType: 'leaf', scope: ctx({ sessionId: 'q1', scopeId: 'q1.1', kind: 'delegation', agent: 'leaf', parentScopeId: 'q1' }) }),
    run({ workflowId: 'q1.2', runId: 'run-q1.2', workflowType: 'leaf', scope: ctx({ sessionId: 'q1', scopeId: 'q1.2', kind: 'delegation', agent: 'leaf', parentScopeId: 'q1' }) }),
  ];
  const scopes = [
    scopeRow({ sessionId: 'q1', scopeId: 'q1', kind: 'root', agent: 'w', status: 'success', runId: 'a' }),
    scopeRow({ sessionId: 'q1', scopeId: 'q1.1', kind: 'delegation', agent: 'leaf', parentScopeId: 'q1', status: 'success', runId: 'run-q1.1' }),
    scopeRow({ sessionId: 'q1', scopeId: 'q1.2', kind: 'delegation', agent: 'leaf', parentScopeId: 'q1', status: 'success', runId: 'run-q1.2' }),
  ];
  assert.deepEqual(brief(reconcileSession('q1', runs, scopes, []).differences), [
    'missing action q1/w1',
    'missing action q1/w2',
    'missing action q1/w3',
  ]);
  const report = reconcileSession('q1', runs, scopes, []);
  assert.match(report.differences[0]!.detail, /delegate leaf → q1.1/);
  assert.match(report.differences[1]!.detail, /signal "ping": signal event 4/);
  assert.match(report.differences[2]!.detail, /delegate leaf → q1.2/);
});

test('a plain continue-as-new keeps the scope: one scope across runs, judged by its last run', () => {
  const scope = ctx({ sessionId: 'p1', scopeId: 'p1', kind: 'root', agent: 'loop' });
  const runs = [
    run({
      workflowId: 'p1',
      runId: 'a',
      workflowType: 'loop',
      close: { kind: 'continued_as_new', nextRunId: 'b' },
      activities: [activity('1', 'echo', 1, 'completed')],
      continuedAs: { nextRunId: 'b', nextWorkflowType: 'loop', nextScopeId: 'p1', nextKind: 'root', eventId: 9, workflowTaskCompletedEventId: 8 },
    }),
    run({ workflowId: 'p1', runId: 'b', workflowType: 'loop', previousRunId: 'a', scope, close: { kind: 'failed' }, activities: [activity('1', 'echo', 1, 'completed')] }),
  ];
  const scopes = [scopeRow({ sessionId: 'p1', scopeId: 'p1', kind: 'root', agent: 'loop', status: 'error', runId: 'b' })];
  const actions = [actionRow({ actionId: 'p1/a1#1', scopeId: 'p1', sessionId: 'p1', kind: 'tool_call', name: 'echo', status: 'success' })];
  const report = reconcileSession('p1', runs, scopes, actions);
  assert.equal(report.expected.scopes, 1);
  // Activity ids restart in the new run, so both runs' first call map to one id: the store keeps only one.
  assert.deepEqual(brief(report.differences), ['missing action p1/a1#1']);
  assert.match(report.differences[0]!.detail, /id collision/);
});

test('worker builds: records must name a build that history says completed their run\'s tasks or started their attempt', () => {
  // The root ran on build v1; the second leaf's echo attempt was started by a worker of build v1 too.
  const runs = delegatingRuns();
  runs[0] = { ...runs[0]!, taskBuildIds: ['v1'] };
  runs[2] = { ...runs[2]!, taskBuildIds: ['v1'], activities: [{ ...activity('1', 'echo', 2, 'failed'), lastAttemptBuildId: 'v1' }] };
  // The first leaf's run names no build (an unversioned worker): its rows have none either.
  const stamp = <T extends ScopeRecord | ActionRecord>(r: T): T => (r.scopeId === `${S}.1` ? r : { ...r, workerDeployment: 'agents', workerBuildId: 'v1' });
  const { scopes, actions } = delegatingStore();
  const good = { scopes: scopes.map(stamp), actions: actions.map(stamp) };
  assert.deepEqual(reconcileSession(S, runs, good.scopes, good.actions).differences, [], 'matching builds, and runs history names no build for');

  const forged = {
    scopes: good.scopes.map((s) => (s.scopeId === S ? { ...s, workerBuildId: 'v2' } : s)),
    actions: good.actions.map((a) =>
      a.actionId === `${S}/w1` ? { ...a, workerBuildId: 'v2' } : a.actionId === `${S}.2/a1#2` ? { ...a, workerBuildId: 'v9' } : a.actionId === `${S}/w3` ? { ...a, workerBuildId: undefined } : a,
    ),
  };
  const diffs = reconcileSession(S, runs, forged.scopes, forged.actions).differences;
  assert.deepEqual(brief(diffs), [`mismatched action ${S}/w1`, `mismatched action ${S}/w3`, `mismatched scope ${S}`, `mismatched action ${S}.2/a1#2`]);
  assert.match(diffs[0]!.detail, /workerBuildId: store "v2", history: the workflow tasks of its run were completed by build "v1"/);
  assert.match(diffs[1]!.detail, /workerBuildId: store null/);
  assert.match(diffs[3]!.detail, /workerBuildId: store "v9", history "v1" \(the worker that started the attempt\)/);
});

test('calls a run left running when it closed must be named in its scope\'s openCalls; more may be named', () => {
  const runs = (close: RunFacts['close']['kind']) => [
    run({
      workflowId: 'lc',
      runId: 'a',
      workflowType: 'w',
      close: { kind: close, resultStatus: close === 'completed' ? 'success' : undefined },
      activities: [
        activity('1', 'slow', 1, 'open'),
        activity('2', 'slow', null, 'open'),
        activity('3', 'fast', 1, 'completed'),
        { ...activity('4', 'lookup', 1, 'open'), local: { firstAttempt: 1, mayNotHaveStarted: true } },
      ],
    }),
  ];
  const status = { completed: 'success', canceled: 'cancelled', terminated: 'error' } as const;
  const rows = (close: keyof typeof status, openCalls?: string[]) => ({
    scopes: [
      scopeRow({
        sessionId: 'lc', scopeId: 'lc', kind: 'root', agent: 'w', status: status[close], runId: 'a',
        ...(openCalls ? { openCalls: { activityIds: openCalls, until: T0 } } : {}),
      }),
    ],
    actions: [
      actionRow({ actionId: 'lc/a1#1', scopeId: 'lc', sessionId: 'lc', kind: 'tool_call', name: 'slow', status: 'running' }),
      actionRow({ actionId: 'lc/a3#1', scopeId: 'lc', sessionId: 'lc', kind: 'tool_call', name: 'fast', status: 'success' }),
    ],
  });
  const diffsOf = (close: keyof typeof status, openCalls?: string[]) => {
    const { scopes, actions } = rows(close, openCalls);
    return reconcileSession('lc', runs(close), scopes, actions).differences.filter((d) => d.record === 'scope');
  };

  // Both open activities named; a cancelled-without-waiting call (3, closed in history) and
  // the local call (4, no marker) may be named too.
  assert.deepEqual(diffsOf('completed', ['1', '2']), []);
  assert.deepEqual(diffsOf('completed', ['3', '2', '1', '4']), []);
  assert.deepEqual(diffsOf('canceled', ['1', '2']), []);

  const absent = diffsOf('completed');
  assert.deepEqual(brief(absent), ['mismatched scope lc']);
  assert.match(absent[0]!.detail, /openCalls: history shows calls "1", "2" still running when run a closed; the store's openCalls is absent/);
  const short = diffsOf('canceled', ['2', '3']);
  assert.match(short[0]!.detail, /openCalls: history shows call "1" still running when run a closed; the store's openCalls leaves it out \(it names 2\)/);

  // A terminated run wrote no end: nothing to compare (its status is reported on its own).
  assert.ok(diffsOf('terminated').every((d) => !d.detail.includes('openCalls')));
});

test('openCalls of a later run of a continued scope are qualified by the run', () => {
  const continuation = { run: 2, startedAt: T0, actionSeq: 0, childSeq: 0, slotSeq: 0, llmTurns: 0, used: { turns: 0, tokens: 0 }, recoveredCalls: false, delegations: [] };
  const cont = ctx({ sessionId: 'cs', scopeId: 'cs', kind: 'root', agent: 'w', continuation });
  const runs = [
    run({
      workflowId: 'cs',
      runId: 'r1',
      workflowType: 'w',
      close: { kind: 'continued_as_new', nextRunId: 'r2' },
      // Left running by a run that continued in the same scope: not the scope's end.
      activities: [activity('1', 'slow', null, 'open')],
      continuedAs: { nextRunId: 'r2', nextWorkflowType: 'w', nextScopeId: 'cs', nextKind: 'root', eventId: 9, workflowTaskCompletedEventId: 8 },
    }),
    run({ workflowId: 'cs', runId: 'r2', workflowType: 'w', previousRunId: 'r1', scope: cont, activities: [activity('1', 'slow', null, 'open')] }),
  ];
  const scope = (openCalls?: string[]) => [
    scopeRow({ sessionId: 'cs', scopeId: 'cs', kind: 'root', agent: 'w', status: 'success', runId: 'r2', ...(openCalls ? { openCalls: { activityIds: openCalls, until: T0 } } : {}) }),
  ];
  assert.deepEqual(reconcileSession('cs', runs, scope(['r2.1']), []).differences, []);
  const wrong = reconcileSession('cs', runs, scope(['1']), []).differences;
  assert.match(wrong[0]?.detail ?? '', /history shows call "r2\.1" still running/);
});

test('worker builds: a tool attempt on another task queue may be started by an unversioned worker, whose row names no build', () => {
  // The second leaf ran on build v1; its echo ran on another queue, whose unversioned worker's
  // ActivityTaskStarted event names the SDK's default build id.
  const runs = delegatingRuns();
  runs[2] = { ...runs[2]!, taskBuildIds: ['v1'], activities: [{ ...activity('1', 'echo', 2, 'failed'), lastAttemptBuildId: '@temporalio/worker@1.24.0', otherTaskQueue: true }] };
  const workflowSide = <T extends ScopeRecord | ActionRecord>(r: T): T => (r.scopeId !== `${S}.2` || r.kind === 'tool_call' ? r : { ...r, workerDeployment: 'agents', workerBuildId: 'v1' });
  const { scopes, actions } = delegatingStore();
  assert.deepEqual(reconcileSession(S, runs, scopes.map(workflowSide), actions.map(workflowSide)).differences, []);
  // A row that names a build is still held to the one that started the attempt.
  const named = actions.map(workflowSide).map((a) => (a.actionId === `${S}.2/a1#2` ? { ...a, workerDeployment: 'tools', workerBuildId: 'v9' } : a));
  const diffs = reconcileSession(S, runs, scopes.map(workflowSide), named).differences;
  assert.deepEqual(brief(diffs), [`mismatched action ${S}.2/a1#2`]);
  assert.match(diffs[0]!.detail, /workerBuildId: store "v9", history "@temporalio\/worker@1.24.0"/);
  // On the run's own queue the attempt was the deployment's: a row naming no build is refuted.
  runs[2] = { ...runs[2]!, activities: [{ ...activity('1', 'echo', 2, 'failed'), lastAttemptBuildId: 'v1' }] };
  assert.deepEqual(brief(reconcileSession(S, runs, scopes.map(workflowSide), actions.map(workflowSide)).differences), [`mismatched action ${S}.2/a1#2`]);
});
