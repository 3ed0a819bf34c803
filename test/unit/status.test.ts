/** Status roll-up rules (cim/status.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rollUpStatus, type DelegationAttempt, type OwnOutcome } from '../../cim/status';
import type { ScopeStatus } from '../../cim/schemas';

const d = (slot: string, attempt: number, status: ScopeStatus, recovered = false): DelegationAttempt => ({ slot, attempt, status, recovered });

describe('rollUpStatus', () => {
  test('a scope with no children and a clean run is success', () => {
    assert.deepEqual(rollUpStatus({ own: 'success', delegations: [], calls: [] }), { status: 'success', recovered: false });
  });

  test('the agent\'s own failure is error whatever its children did', () => {
    assert.deepEqual(rollUpStatus({ own: 'error', delegations: [d('a', 1, 'success')], calls: [] }), { status: 'error', recovered: false });
  });

  test('own cancellation is cancelled', () => {
    assert.equal(rollUpStatus({ own: 'cancelled', delegations: [], calls: [] }).status, 'cancelled');
  });

  test('a handoff rolls up like success, so a degraded scope that hands off stays degraded', () => {
    assert.equal(rollUpStatus({ own: 'handed_off', delegations: [], calls: [] }).status, 'success');
    assert.equal(rollUpStatus({ own: 'handed_off', delegations: [d('a', 1, 'error'), d('b', 1, 'success')], calls: [] }).status, 'degraded');
  });

  test('some children failed and some succeeded: degraded', () => {
    assert.equal(rollUpStatus({ own: 'success', delegations: [d('a', 1, 'success'), d('b', 1, 'error')], calls: [] }).status, 'degraded');
  });

  test('every child failed: error, even though the agent\'s code returned', () => {
    assert.deepEqual(rollUpStatus({ own: 'success', delegations: [d('a', 1, 'error'), d('b', 1, 'error')], calls: [] }), { status: 'error', recovered: false });
  });

  test('a retried delegation that finally succeeded is a recovery, not a failure', () => {
    const r = rollUpStatus({ own: 'success', delegations: [d('a', 1, 'error'), d('a', 2, 'error'), d('a', 3, 'success')], calls: [] });
    assert.deepEqual(r, { status: 'success', recovered: true });
  });

  test('attempts given out of order are judged by the highest attempt', () => {
    assert.deepEqual(rollUpStatus({ own: 'success', delegations: [d('a', 2, 'success'), d('a', 1, 'error')], calls: [] }), { status: 'success', recovered: true });
    assert.equal(rollUpStatus({ own: 'success', delegations: [d('a', 2, 'error'), d('a', 1, 'success')], calls: [] }).status, 'error');
  });

  test('a degraded child makes its parent degraded', () => {
    assert.equal(rollUpStatus({ own: 'success', delegations: [d('a', 1, 'degraded'), d('b', 1, 'success')], calls: [] }).status, 'degraded');
  });

  test('cancelled children count neither as failure nor success', () => {
    assert.equal(rollUpStatus({ own: 'success', delegations: [d('a', 1, 'cancelled')], calls: [] }).status, 'success');
    assert.equal(rollUpStatus({ own: 'success', delegations: [d('a', 1, 'cancelled'), d('b', 1, 'error')], calls: [] }).status, 'error');
  });

  test('a child still running is not an outcome yet', () => {
    assert.equal(rollUpStatus({ own: 'success', delegations: [d('a', 1, 'running'), d('b', 1, 'success')], calls: [] }).status, 'success');
  });

  test('a tool call that succeeded on a later attempt marks the scope recovered', () => {
    assert.deepEqual(rollUpStatus({ own: 'success', delegations: [], calls: [{ attempt: 3, status: 'success' }] }), { status: 'success', recovered: true });
  });

  test('a failed tool call the agent coped with does not change the status', () => {
    assert.deepEqual(rollUpStatus({ own: 'success', delegations: [], calls: [{ attempt: 1, status: 'error' }] }), { status: 'success', recovered: false });
  });

  test('a recovered child makes its successful parent recovered too', () => {
    assert.deepEqual(rollUpStatus({ own: 'success', delegations: [d('a', 1, 'success', true)], calls: [] }), { status: 'success', recovered: true });
  });

  test('invariants hold over every combination of up to three slots and every own outcome', () => {
    const statuses: ScopeStatus[] = ['success', 'degraded', 'error', 'cancelled'];
    const owns: OwnOutcome[] = ['success', 'error', 'cancelled', 'handed_off'];
    let checked = 0;
    const combos = (n: number): ScopeStatus[][] => (n === 0 ? [[]] : combos(n - 1).flatMap((c) => statuses.map((s) => [...c, s])));
    for (let n = 0; n <= 3; n++) {
      for (const combo of combos(n)) {
        for (const own of owns) {
          const r = rollUpStatus({ own, delegations: combo.map((s, i) => d(`s${i}`, 1, s)), calls: [] });
          const failed = combo.filter((s) => s === 'error').length;
          const ok = combo.filter((s) => s === 'success' || s === 'degraded').length;
          assert.notEqual(r.status, 'running');
          if (own === 'error') assert.equal(r.status, 'error');
          else if (own === 'cancelled') assert.equal(r.status, 'cancelled');
          else if (failed && ok) assert.equal(r.status, 'degraded');
          else if (failed) assert.equal(r.status, 'error');
          else if (combo.includes('degraded')) assert.equal(r.status, 'degraded');
          else assert.equal(r.status, 'success');
          checked++;
        }
      }
    }
    assert.equal(checked, (1 + 4 + 16 + 64) * 4);
  });
});
