/** Status roll-up rules (cim/status.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rollUpStatus, type CallOutcome, type DelegationAttempt, type OwnOutcome } from '../../cim/status';
import type { ScopeStatus } from '../../cim/schemas';

const d = (slot: string, attempt: number, status: ScopeStatus, recovered = false): DelegationAttempt => ({ slot, attempt, status, recovered });
const call = (attempt: number, status: CallOutcome['status']): CallOutcome => ({ attempt, status });
const roll = (own: OwnOutcome, delegations: DelegationAttempt[] = [], calls: CallOutcome[] = []) =>
  rollUpStatus({ own, delegations, calls });

describe('rollUpStatus: the scope\'s own outcome', () => {
  test('a scope with no children and a clean run is success, not recovered', () => {
    assert.deepEqual(roll('success'), { status: 'success', recovered: false });
  });

  test('the agent\'s own failure is error whatever its children did', () => {
    assert.deepEqual(roll('error', [d('a', 1, 'success')]), { status: 'error', recovered: false });
    assert.deepEqual(roll('error', [d('a', 1, 'error'), d('b', 1, 'success')]), { status: 'error', recovered: false });
    assert.deepEqual(roll('error', [d('a', 1, 'degraded')]), { status: 'error', recovered: false });
  });

  test('own failure is not reported as recovered even when a call or child recovered', () => {
    assert.deepEqual(roll('error', [d('a', 1, 'error'), d('a', 2, 'success')], [call(2, 'success')]), { status: 'error', recovered: false });
  });

  test('own cancellation is cancelled whatever its children did', () => {
    assert.deepEqual(roll('cancelled'), { status: 'cancelled', recovered: false });
    assert.deepEqual(roll('cancelled', [d('a', 1, 'error'), d('b', 1, 'success')]), { status: 'cancelled', recovered: false });
    assert.deepEqual(roll('cancelled', [d('a', 1, 'error')]), { status: 'cancelled', recovered: false });
  });

  test('a handoff rolls up like success: clean stays success, a degraded scope that hands off stays degraded', () => {
    assert.deepEqual(roll('handed_off'), { status: 'success', recovered: false });
    assert.equal(roll('handed_off', [d('a', 1, 'error'), d('b', 1, 'success')]).status, 'degraded');
    assert.equal(roll('handed_off', [d('a', 1, 'error')]).status, 'error');
    assert.deepEqual(roll('handed_off', [], [call(2, 'success')]), { status: 'success', recovered: true });
  });
});

describe('rollUpStatus: delegations', () => {
  test('every child succeeded: success', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'success'), d('b', 1, 'success'), d('c', 1, 'success')]), { status: 'success', recovered: false });
  });

  test('some children failed and some succeeded: degraded', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'success'), d('b', 1, 'error')]), { status: 'degraded', recovered: false });
    assert.equal(roll('success', [d('a', 1, 'error'), d('b', 1, 'error'), d('c', 1, 'success')]).status, 'degraded');
  });

  test('every child failed: error, even though the agent\'s code returned', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'error')]), { status: 'error', recovered: false });
    assert.deepEqual(roll('success', [d('a', 1, 'error'), d('b', 1, 'error')]), { status: 'error', recovered: false });
  });

  test('a slot whose first attempt failed and whose retry succeeded is success and recovered, not degraded', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'error'), d('a', 2, 'success')]), { status: 'success', recovered: true });
    assert.deepEqual(roll('success', [d('a', 1, 'error'), d('a', 2, 'error'), d('a', 3, 'success')]), { status: 'success', recovered: true });
    assert.deepEqual(
      roll('success', [d('a', 1, 'error'), d('a', 2, 'success'), d('b', 1, 'success')]),
      { status: 'success', recovered: true },
      'a recovered slot beside a clean one',
    );
  });

  test('a slot whose every attempt failed counts as one failure', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'error'), d('a', 2, 'error'), d('b', 1, 'success')]), { status: 'degraded', recovered: false });
    assert.deepEqual(roll('success', [d('a', 1, 'error'), d('a', 2, 'error')]), { status: 'error', recovered: false });
  });

  test('a slot that succeeded and was then retried into failure counts by its last attempt', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'success'), d('a', 2, 'error')]), { status: 'error', recovered: false });
  });

  test('attempts given out of order are judged by the highest attempt', () => {
    assert.deepEqual(roll('success', [d('a', 2, 'success'), d('a', 1, 'error')]), { status: 'success', recovered: true });
    assert.deepEqual(roll('success', [d('a', 3, 'success'), d('a', 1, 'error'), d('a', 2, 'error')]), { status: 'success', recovered: true });
    assert.deepEqual(roll('success', [d('a', 3, 'success'), d('a', 2, 'error'), d('a', 1, 'success')]), { status: 'success', recovered: true });
    assert.equal(roll('success', [d('a', 2, 'error'), d('a', 1, 'success')]).status, 'error');
    assert.equal(roll('success', [d('a', 3, 'error'), d('b', 1, 'success'), d('a', 1, 'success'), d('a', 2, 'success')]).status, 'degraded');
  });

  test('slots are independent: one slot\'s retries do not count toward another', () => {
    // b's success must not rescue a, and a's failed attempt must not make b a recovery.
    assert.deepEqual(roll('success', [d('a', 1, 'error'), d('b', 2, 'success')]), { status: 'degraded', recovered: false });
  });

  test('a degraded child makes its parent degraded', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'degraded'), d('b', 1, 'success')]), { status: 'degraded', recovered: false });
    assert.deepEqual(roll('success', [d('a', 1, 'degraded')]), { status: 'degraded', recovered: false });
  });

  test('a degraded child counts as a success next to a failed one: degraded, not error', () => {
    assert.equal(roll('success', [d('a', 1, 'degraded'), d('b', 1, 'error')]).status, 'degraded');
  });

  test('cancelled children count neither as failure nor success', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'cancelled')]), { status: 'success', recovered: false });
    assert.deepEqual(roll('success', [d('a', 1, 'cancelled'), d('b', 1, 'cancelled')]), { status: 'success', recovered: false });
    assert.equal(roll('success', [d('a', 1, 'cancelled'), d('b', 1, 'success')]).status, 'success');
    assert.equal(roll('success', [d('a', 1, 'cancelled'), d('b', 1, 'error')]).status, 'error', 'the cancelled slot does not turn a lone failure into degraded');
  });

  test('a child still running is not an outcome yet', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'running')]), { status: 'success', recovered: false });
    assert.equal(roll('success', [d('a', 1, 'running'), d('b', 1, 'success')]).status, 'success');
    assert.equal(roll('success', [d('a', 1, 'running'), d('b', 1, 'error')]).status, 'error');
  });

  test('a slot whose retry is still running has no outcome yet: its earlier failure does not count', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'error'), d('a', 2, 'running'), d('b', 1, 'success')]), { status: 'success', recovered: false });
  });

  test('a recovered child makes its successful parent recovered too', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'success', true)]), { status: 'success', recovered: true });
    assert.deepEqual(roll('success', [d('a', 1, 'degraded', true)]), { status: 'degraded', recovered: true });
  });

  test('a recovered flag on a child that failed or was cancelled is not a recovery of the parent', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'cancelled', true)]), { status: 'success', recovered: false });
    assert.deepEqual(roll('success', [d('a', 1, 'error', true), d('b', 1, 'success')]), { status: 'degraded', recovered: false });
  });

  test('a degraded parent keeps the recovered mark of a recovered slot', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'error'), d('a', 2, 'success'), d('b', 1, 'error')]), { status: 'degraded', recovered: true });
  });
});

describe('rollUpStatus: tool and LLM calls', () => {
  test('a call that succeeded on a later attempt marks the scope recovered', () => {
    assert.deepEqual(roll('success', [], [call(2, 'success')]), { status: 'success', recovered: true });
    assert.deepEqual(roll('success', [], [call(1, 'success'), call(3, 'success')]), { status: 'success', recovered: true });
  });

  test('a call that succeeded on its first attempt is not a recovery', () => {
    assert.deepEqual(roll('success', [], [call(1, 'success'), call(1, 'success')]), { status: 'success', recovered: false });
  });

  test('a failed call the agent coped with does not change the status', () => {
    assert.deepEqual(roll('success', [], [call(1, 'error')]), { status: 'success', recovered: false });
    assert.deepEqual(roll('success', [], [call(3, 'error')]), { status: 'success', recovered: false }, 'a call that failed on every retry recovered nothing');
    assert.deepEqual(roll('success', [], [call(1, 'denied'), call(1, 'cancelled')]), { status: 'success', recovered: false });
  });

  test('calls do not change a status set by the delegations', () => {
    assert.deepEqual(roll('success', [d('a', 1, 'error'), d('b', 1, 'success')], [call(1, 'error')]), { status: 'degraded', recovered: false });
    assert.deepEqual(roll('success', [d('a', 1, 'error'), d('b', 1, 'success')], [call(2, 'success')]), { status: 'degraded', recovered: true });
  });
});

describe('rollUpStatus: invariants over every combination', () => {
  const STATUSES: ScopeStatus[] = ['success', 'degraded', 'error', 'cancelled'];
  const OWNS: OwnOutcome[] = ['success', 'error', 'cancelled', 'handed_off'];
  const isOk = (s: ScopeStatus) => s === 'success' || s === 'degraded';

  interface SlotCase {
    final: ScopeStatus;
    retriedAfterFailure: boolean;
    childRecovered: boolean;
  }
  const slotCases: SlotCase[] = STATUSES.flatMap((final) =>
    [false, true].flatMap((retriedAfterFailure) => [false, true].map((childRecovered) => ({ final, retriedAfterFailure, childRecovered }))),
  );
  const combos = <T>(items: readonly T[], n: number): T[][] => (n === 0 ? [[]] : combos(items, n - 1).flatMap((c) => items.map((s) => [...c, s])));
  const callSets: CallOutcome[][] = [[], [call(1, 'error')], [call(1, 'success'), call(2, 'success')], [call(3, 'denied')]];

  function attemptsOf(slots: SlotCase[], reversed: boolean): DelegationAttempt[] {
    const all = slots.flatMap((s, i) => {
      const last = d(`slot${i}`, s.retriedAfterFailure ? 2 : 1, s.final, s.childRecovered);
      return s.retriedAfterFailure ? [d(`slot${i}`, 1, 'error'), last] : [last];
    });
    return reversed ? all.reverse() : all;
  }

  test('up to three slots of {success, degraded, error, cancelled} with every own outcome: status follows the rules', () => {
    let checked = 0;
    for (let n = 0; n <= 3; n++) {
      for (const combo of combos(STATUSES, n)) {
        for (const own of OWNS) {
          const r = roll(own, combo.map((s, i) => d(`s${i}`, 1, s)));
          const failed = combo.filter((s) => s === 'error').length;
          const ok = combo.filter(isOk).length;
          assert.notEqual(r.status, 'running');
          assert.equal(r.recovered, false, 'nothing retried, nothing recovered');
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

  test('with retries, recovered children, tool calls and any attempt order, every invariant holds', () => {
    let checked = 0;
    for (let n = 0; n <= 3; n++) {
      for (const slots of combos(slotCases, n)) {
        for (const calls of callSets) {
          for (const reversed of [false, true]) {
            const delegations = attemptsOf(slots, reversed);
            const byOwn = new Map(OWNS.map((own) => [own, rollUpStatus({ own, delegations, calls })] as const));
            const failed = slots.filter((s) => s.final === 'error').length;
            const ok = slots.filter((s) => isOk(s.final)).length;
            const expectRecovered =
              calls.some((c) => c.status === 'success' && c.attempt > 1) ||
              slots.some((s) => isOk(s.final) && (s.retriedAfterFailure || s.childRecovered));
            const ctx = JSON.stringify({ slots, calls, reversed });

            for (const [own, r] of byOwn) {
              assert.ok(['success', 'degraded', 'error', 'cancelled'].includes(r.status), `never running: ${ctx}`);
              if (own === 'error') assert.deepEqual(r, { status: 'error', recovered: false }, ctx);
              if (own === 'cancelled') assert.deepEqual(r, { status: 'cancelled', recovered: false }, ctx);
            }
            const r = byOwn.get('success')!;
            assert.deepEqual(byOwn.get('handed_off'), r, `a handoff rolls up like success: ${ctx}`);
            if (failed && ok) assert.equal(r.status, 'degraded', ctx);
            else if (failed) assert.deepEqual(r, { status: 'error', recovered: false }, ctx);
            else if (slots.some((s) => s.final === 'degraded')) assert.equal(r.status, 'degraded', ctx);
            else assert.equal(r.status, 'success', ctx);
            if (r.status !== 'error') assert.equal(r.recovered, expectRecovered, ctx);
            // Input order never matters.
            assert.deepEqual(rollUpStatus({ own: 'success', delegations: [...delegations].reverse(), calls }), r, ctx);
            checked++;
          }
        }
      }
    }
    assert.equal(checked, (1 + 16 + 256 + 4096) * callSets.length * 2);
  });
});
