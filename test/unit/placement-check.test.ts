/** store/placement-check.ts: which session start a session's rows are held to, and how rows filed elsewhere are named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoMicros, placementProblems, sessionStart, type FiledRows } from '../../store/placement-check';

const T = '2026-12-06T19:03:35.683Z';
const ROOT = '2026-12-06T19:03:35.952Z';
const at = (iso: string, plus = 0n) => isoMicros(iso)! + plus;
const rows = (table: FiledRows['table'], startedAtMicros: bigint, ids: string[], count = ids.length): FiledRows => ({
  table, startedAtMicros, rows: count, sample: ids.map((id) => ({ id, scopeId: id.split('/')[0]! })),
});

test("rows that carry the start of the session's first run in Temporal are where they belong", () => {
  const filed = [rows('scopes', at(T), ['s', 's.1']), rows('actions', at(T), ['s/a1#1'])];
  assert.deepEqual(placementProblems('s', filed, { temporal: T, rootScope: ROOT }), []);
});

test("a session filed under its root scope's start (as stores did before rows carried the session's start) is where it belongs", () => {
  const filed = [rows('scopes', at(ROOT), ['s']), rows('actions', at(ROOT), ['s/a1#1'])];
  assert.equal(sessionStart(filed, { temporal: T, rootScope: ROOT }), at(ROOT));
  assert.deepEqual(placementProblems('s', filed, { temporal: T, rootScope: ROOT }), []);
});

test('rows moved by a microsecond are named, with the microsecond shown', () => {
  const filed = [rows('scopes', at(T), ['s', 's.2']), rows('actions', at(T, 1n), ['s.1/a1#1', 's.1/a2#1'], 7)];
  const problems = placementProblems('s', filed, { temporal: T, rootScope: ROOT });
  assert.deepEqual(problems.map((p) => [p.problem, p.scopeId, p.recordId]), [['misplaced', 's.1', 's.1/a1#1']]);
  assert.match(problems[0]!.detail, /^7 actions row\(s\) of session s \(s\.1\/a1#1, s\.1\/a2#1, …\) are filed under session start 2026-12-06T19:03:35\.683001Z, not 2026-12-06T19:03:35\.683Z \(as the session's first run in Temporal says\)/);
});

test('a session moved whole is held to the start Temporal gives it', () => {
  const filed = [rows('scopes', at(T, 3_600_000_000n), ['s']), rows('actions', at(T, 3_600_000_000n), ['s/a1#1'])];
  assert.equal(placementProblems('s', filed, { temporal: T, rootScope: ROOT }).length, 2);
});

test('without history or a root row, the start most rows carry is the session\'s', () => {
  const filed = [rows('scopes', at(T), ['s.1'], 3), rows('actions', at(T), ['s.1/a1#1'], 10), rows('actions', at(T, 5n), ['s.1/a9#1'], 2)];
  const problems = placementProblems('s', filed, { temporal: null, rootScope: null });
  assert.deepEqual(problems.map((p) => p.recordId), ['s.1/a9#1']);
  assert.match(problems[0]!.detail, /as most of the session's rows say/);
  assert.deepEqual(placementProblems('s', [], {}), []);
});

test("without history, a root row whose start no row carries (rows carry the first run's, a little earlier) names nothing misplaced", () => {
  const filed = [rows('scopes', at(T), ['s', 's.1'], 2), rows('actions', at(T), ['s/a1#1'], 6)];
  assert.deepEqual(placementProblems('s', filed, { temporal: null, rootScope: ROOT }), []);
  assert.equal(sessionStart(filed, { rootScope: ROOT }), at(T));
  // Rows moved off the start the others carry are still named.
  const moved = [...filed, rows('actions', at(T, 7n), ['s/a2#1'])];
  assert.deepEqual(placementProblems('s', moved, { temporal: null, rootScope: ROOT }).map((p) => p.recordId), ['s/a2#1']);
});
