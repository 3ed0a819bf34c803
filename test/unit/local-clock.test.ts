/** The scope's clock after a local call: never before the call's recorded end, never far ahead of Temporal's. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noteLocalEnd, type ScopeState } from '../../workflows/scope-state';

const fresh = () => ({}) as ScopeState;

test('a local call\'s end moves the floor forward only', () => {
  const st = fresh();
  const base = Date.now();
  noteLocalEnd(st, new Date(base + 300).toISOString());
  assert.equal(st.clockFloorMs, base + 300);
  noteLocalEnd(st, new Date(base + 100).toISOString());
  assert.equal(st.clockFloorMs, base + 300, 'an earlier end does not move it back');
  noteLocalEnd(st, undefined);
  noteLocalEnd(st, 'not a time');
  assert.equal(st.clockFloorMs, base + 300);
});

test('a worker clock far ahead moves the floor at most 5 s past the workflow\'s clock', () => {
  const st = fresh();
  const before = Date.now();
  noteLocalEnd(st, new Date(before + 3_600_000).toISOString());
  assert.ok(st.clockFloorMs! >= before + 5_000 && st.clockFloorMs! <= Date.now() + 5_000);
});
