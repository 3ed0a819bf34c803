/** Budget rules (cim/budget.ts): narrowed on the way down, charged on the way up, carried across handoffs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetKindOf, exhausted, handedOverBudget, narrowBudget, remainingBudget, reportedUsage } from '../../cim/budget';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

test('no budget anywhere is no budget; a declaration alone sets one, its deadline owned by the scope', () => {
  assert.equal(narrowBudget(null, undefined, T0, 's'), null);
  assert.deepEqual(narrowBudget(null, { turns: 5, wallTimeMs: 1000 }, T0, 's'), {
    turns: 5, tokens: null, deadline: '2026-01-01T00:00:01.000Z', deadlineOwner: 's',
  });
});

test('a delegate never gets more than its delegator has left, and owns the deadline only when its own ends first', () => {
  const parent = narrowBudget(null, { turns: 10, tokens: 1000, wallTimeMs: 5000 }, T0, 's')!;
  const left = remainingBudget(parent, { turns: 7, tokens: 400 });
  const child = narrowBudget(left, { turns: 50, tokens: 100, wallTimeMs: 60_000 }, T0 + 1000, 's.1')!;
  assert.deepEqual(child, { turns: 3, tokens: 100, deadline: '2026-01-01T00:00:05.000Z', deadlineOwner: 's' });
  const tighter = narrowBudget(left, { wallTimeMs: 1000 }, T0 + 1000, 's.2')!;
  assert.equal(tighter.deadlineOwner, 's.2');
  assert.equal(tighter.deadline, '2026-01-01T00:00:02.000Z');
  assert.deepEqual(remainingBudget(parent, { turns: 99, tokens: 5000 })?.turns, 0, 'never negative');
});

test('exhausted names the first budget run out, before the next model step', () => {
  const b = { turns: 2, tokens: 100, deadline: '2026-01-01T00:00:05.000Z' };
  assert.equal(exhausted(b, { turns: 1, tokens: 99 }, T0), null);
  assert.deepEqual(exhausted(b, { turns: 2, tokens: 0 }, T0)?.kind, 'turns');
  assert.deepEqual(exhausted(b, { turns: 0, tokens: 100 }, T0)?.kind, 'tokens');
  assert.deepEqual(exhausted(b, { turns: 0, tokens: 0 }, T0 + 5000)?.kind, 'wall_time');
  for (const used of [{ turns: 2, tokens: 0 }, { turns: 0, tokens: 100 }]) {
    const out = exhausted(b, used, T0)!;
    assert.equal(budgetKindOf(out.message), out.kind, 'history can tell which budget from the failure message');
  }
  assert.equal(budgetKindOf('budget exceeded'), null);
});

test('a handoff carries what was spent, and hands the deadline watch to its successor', () => {
  const b = narrowBudget(null, { turns: 10, wallTimeMs: 1000 }, T0, 's.1')!;
  const next = handedOverBudget(b, { turns: 4, tokens: 50 }, 's.1', 's.1~1')!;
  assert.deepEqual(next, { turns: 6, tokens: null, deadline: b.deadline, deadlineOwner: 's.1~1', carried: { turns: 4, tokens: 50 } });
  const after = handedOverBudget(next, { turns: 1, tokens: 5 }, 's.1~1', 's.1~2')!;
  assert.deepEqual(after.carried, { turns: 5, tokens: 55 });
  assert.deepEqual(reportedUsage(after, { turns: 2, tokens: 1 }), { turns: 7, tokens: 56 }, 'the delegator is charged for the whole chain');
  const inherited = handedOverBudget({ ...b, deadlineOwner: 's' }, { turns: 0, tokens: 0 }, 's.1', 's.1~1')!;
  assert.equal(inherited.deadlineOwner, 's', 'a deadline someone above set stays theirs');
});
