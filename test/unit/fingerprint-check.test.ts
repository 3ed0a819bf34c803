/**
 * verify's hold of the fingerprint rows: the outputs history holds, fingerprinted again
 * under the reader's key, against the rows as stored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyOutputs, type HistoryOutput } from '../../cim/history-outputs';
import { outputText } from '../../cim/fingerprint';
import type { RunFacts } from '../../cim/reconcile';
import { fingerprintProblems } from '../../client/fingerprint-check';
import { Fingerprinter, parseKey } from '../../store/fingerprint-key';
import type { StoredFingerprint } from '../../store/fingerprint-store';
import { action, scope } from './fixtures';

const KEY = parseKey('a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718', 'the test key');
const OTHER = parseKey('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'another key');
const TEXT = (n: number) => `report ${n}: the quarterly figures rose in every region we looked at, and the board approved the plan without changes`;

const root = scope('s', { agent: 'lead' });
const child = scope('s.1', { agent: 'writer', parentScopeId: 's', path: '/s/s.1/', depth: 1 });
const outputs: HistoryOutput[] = [
  { sourceId: 's', scopeId: 's', kind: 'agent_output', value: { answer: TEXT(1) } },
  { sourceId: 's.1/a1#2', scopeId: 's.1', kind: 'tool_output', value: TEXT(2) },
  { sourceId: 's.1', scopeId: 's.1', kind: 'agent_output', value: TEXT(3) },
];

/** The rows a worker holding `key` writes for these outputs. */
function rowsOf(list: readonly HistoryOutput[], key = KEY): StoredFingerprint[] {
  const agents: Record<string, string> = { s: 'lead', 's.1': 'writer' };
  return list.flatMap((o) =>
    new Fingerprinter(key)
      .records({ namespace: 'default', sessionId: 's', scopeId: o.scopeId, sourceId: o.sourceId, kind: o.kind, agent: agents[o.scopeId]!, producedAt: '2026-01-01T00:00:00Z' }, o.value)
      .map((r) => ({ sourceId: r.sourceId, scopeId: r.scopeId, agent: r.agent, kind: r.kind, fingerprint: r.fingerprint, position: r.position, words: r.words, keyId: r.keyId })),
  );
}
const records = { scopes: [root, child], actions: [action('s.1/a1#2', 's.1', { agent: 'writer' })] };
const found = (rows: StoredFingerprint[], key = KEY, recs = records) => fingerprintProblems(outputs, rows, recs, key);

test('rows made from the outputs in history hold; each is counted', () => {
  const r = found(rowsOf(outputs));
  assert.deepEqual(r.problems, []);
  assert.equal(r.checked, 3);
});

test('a source deleted, a fingerprint rewritten, a row moved to another agent, a source added: each named once', () => {
  const rows = rowsOf(outputs).filter((r) => r.sourceId !== 's.1/a1#2');
  const first = rows.findIndex((r) => r.sourceId === 's');
  rows[first] = { ...rows[first]!, fingerprint: '0000000000000000' };
  const moved = rows.map((r) => (r.sourceId === 's.1' ? { ...r, agent: 'mallory' } : r));
  const forged = rowsOf([{ sourceId: 's/a9#1', scopeId: 's', kind: 'tool_output', value: TEXT(4) }]);
  const r = found([...moved, ...forged]);
  assert.deepEqual(r.problems.map((p) => [p.recordId, p.problem]).sort(), [['s', 'fingerprint_changed'], ['s.1', 'fingerprint_changed'], ['s.1/a1#2', 'fingerprint_changed'], ['s/a9#1', 'fingerprint_changed']]);
  const detail = (id: string) => r.problems.find((p) => p.recordId === id)!.detail;
  assert.match(detail('s.1/a1#2'), /has no fingerprint rows, though history holds it/);
  assert.match(detail('s'), /1 missing, 1 not from it/);
  assert.match(detail('s.1'), /by mallory/);
  assert.match(detail('s/a9#1'), /history does not hold/);
});

test('rows of a call that succeeded after its timeout, or of a scope still running, are not findings', () => {
  const late = rowsOf([{ sourceId: 's.1/a1#1', scopeId: 's.1', kind: 'tool_output', value: TEXT(5) }]);
  const running = scope('s.2', { agent: 'writer', parentScopeId: 's', path: '/s/s.2/', depth: 1, status: 'running', endedAt: null });
  const early = rowsOf([{ sourceId: 's.2', scopeId: 's.2', kind: 'agent_output', value: TEXT(6) }]);
  const recs = { scopes: [root, child, running], actions: [...records.actions, action('s.1/a1#1', 's.1', { agent: 'writer' })] };
  assert.deepEqual(found([...rowsOf(outputs), ...late, ...early], KEY, recs).problems, []);
});

test('without the key, or with rows made under another key only, nothing is held and nothing counted', () => {
  assert.deepEqual(fingerprintProblems(outputs, rowsOf(outputs), records, undefined), { problems: [], checked: 0, otherKey: 0 });
  const r = found(rowsOf(outputs, OTHER));
  assert.deepEqual([r.problems, r.checked, r.otherKey], [[], 0, 3]);
  // Rows under two keys (a key rotated mid-session): an output without rows may be the other key's.
  const mixed = [...rowsOf(outputs.slice(0, 1)), ...rowsOf(outputs.slice(1, 2), OTHER)];
  assert.deepEqual(found(mixed).problems, []);
  assert.deepEqual(found([]), { problems: [], checked: 0, otherKey: 0 }, 'a session recorded without fingerprinting');
});

test('an output holding a Date gives the same text as its JSON in history', () => {
  const value = { at: new Date(Date.UTC(2026, 0, 2)), note: TEXT(7), nested: [{ when: new Date(0) }] };
  assert.equal(outputText(value), outputText(JSON.parse(JSON.stringify(value))));
  assert.match(outputText(value), /2026-01-02T00:00:00.000Z/);
});

test('history outputs are named as the worker names their sources', () => {
  const run = (over: Partial<RunFacts>): RunFacts => ({
    workflowId: 's', runId: 'r1', workflowType: 'lead', scope: null, previousRunId: null, close: { kind: 'open' },
    children: [], activities: [], signals: [], continuedAs: null, ...over,
  });
  const done = { kind: 'completed' as const, resultStatus: 'success' as const, value: 'final' };
  const act = (activityId: string, over: object) => ({ activityId, activityType: 'search', scheduledEventId: 5, lastAttempt: 2, close: 'completed' as const, ...over });
  const first = run({ activities: [act('1', { result: { outputDigest: 'd', resources: null, value: 'found' } }), act('2', { close: 'failed' })], close: { kind: 'continued_as_new' } });
  const second = run({
    runId: 'r2',
    scope: { continuation: { run: 1 } } as unknown as RunFacts['scope'],
    activities: [act('1', { activityType: 'llm', lastAttempt: 1, result: { outputDigest: 'd', resources: null, value: { text: 'hi' } } })],
    close: done,
  });
  const notAgent = run({ workflowId: 'x', close: { kind: 'completed', resultStatus: null } });
  assert.deepEqual(historyOutputs([first, second, notAgent]).map((o) => [o.sourceId, o.kind, o.value]), [
    ['s/a1#2', 'tool_output', 'found'],
    ['s/ar1.1#1', 'llm_output', { text: 'hi' }],
    ['s', 'agent_output', 'final'],
  ]);
});
