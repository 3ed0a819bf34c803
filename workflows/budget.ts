/**
 * Budget enforcement inside a scope. A model step is the unit a budget counts: before
 * each one the scope checks what it has left, and a scope that has run out records a
 * `budget_exceeded` action and cancels its own work (its delegates and activities, by
 * Temporal cancellation), then ends as `error`. Wall time is watched by a timer.
 */
import { ApplicationFailure, CancellationScope, sleep } from '@temporalio/workflow';
import { BUDGET_EXCEEDED, exhausted, msUntilDeadline, type BudgetKind, type BudgetUsage } from '../cim/budget';
import { actionRecord, emitAction, nextActionId, now, type ScopeState } from './scope-state';

/** Call before a model step: throws (after recording and cancelling) when the budget is spent. */
export function spendTurn(st: ScopeState): void {
  const out = exhausted(st.ctx.budget, st.used, Date.now());
  if (out) throw exceed(st, out.kind, out.message);
  st.used.turns += 1;
}

export function chargeTokens(st: ScopeState, tokens: number | null | undefined): void {
  if (typeof tokens === 'number' && tokens > 0) st.used.tokens += tokens;
}

/** What a delegate reported it used, charged to its delegator. */
export function chargeDelegate(st: ScopeState, used: BudgetUsage | undefined): void {
  if (!used) return;
  st.used.turns += Math.max(0, used.turns | 0);
  st.used.tokens += Math.max(0, used.tokens | 0);
}

/** Records the overrun once, cancels the scope's work, and returns the failure the scope ends with. */
export function exceed(st: ScopeState, kind: BudgetKind, message: string): ApplicationFailure {
  if (!st.budgetExceeded) {
    st.budgetExceeded = { kind, message };
    const limit = kind === 'turns' ? st.ctx.budget?.turns : kind === 'tokens' ? st.ctx.budget?.tokens : st.ctx.budget?.deadline;
    emitAction(
      actionRecord(st, nextActionId(st), {
        kind: 'budget_exceeded',
        name: kind,
        status: 'error',
        error: message,
        endedAt: now(),
        attributes: { limit: limit ?? null, usedTurns: st.used.turns, usedTokens: st.used.tokens },
      }),
    );
    st.cancelWork?.();
  }
  return budgetFailure(st);
}

/**
 * The key under which a failing agent's ApplicationFailure carries what its subtree spent,
 * appended after any details of its own, so a delegator charges it however the delegate
 * failed (running out of budget says it in its own details, as `used`).
 */
const USED_KEY = '$scopetrailUsed';

/**
 * The failure an agent that spent model turns or tokens ends with, carrying them. An
 * ApplicationFailure keeps its message, type, retryability, cause and details, with one
 * detail added; another kind of failure is left as it is (its usage is not charged).
 */
export function carryingUsage(st: ScopeState, failure: ApplicationFailure): ApplicationFailure {
  if ((st.used.turns === 0 && st.used.tokens === 0) || failure.type === BUDGET_EXCEEDED) return failure;
  const carried = ApplicationFailure.create({
    message: failure.message,
    type: failure.type ?? undefined,
    nonRetryable: failure.nonRetryable ?? undefined,
    cause: failure.cause,
    details: [...(failure.details ?? []), { [USED_KEY]: { ...st.used } }],
  });
  carried.stack = failure.stack;
  return carried;
}

/** What a failed delegate's subtree spent, from its failure: an overrun's own details, or what carryingUsage added. */
export function usageInFailure(err: unknown): BudgetUsage | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (!(e instanceof ApplicationFailure)) continue;
    if (e.type === BUDGET_EXCEEDED) return (e.details?.[0] as { used?: BudgetUsage } | undefined)?.used;
    const carried = e.details?.at(-1) as { [USED_KEY]?: BudgetUsage } | undefined;
    if (carried && typeof carried === 'object' && carried[USED_KEY]) return carried[USED_KEY];
    // The delegate's own failure is the first ApplicationFailure under the child failure.
    return undefined;
  }
  return undefined;
}

export function budgetFailure(st: ScopeState): ApplicationFailure {
  return ApplicationFailure.create({
    type: BUDGET_EXCEEDED,
    message: st.budgetExceeded?.message ?? 'budget exceeded',
    nonRetryable: true,
    details: [{ used: { ...st.used } }],
  });
}

/**
 * Runs the agent's work in a scope the budget can cancel, with a timer for its deadline.
 * The timer lives in its own scope so that it is cleared when the work ends.
 */
export async function withinBudget<T>(st: ScopeState, work: () => Promise<T>): Promise<T> {
  const workScope = new CancellationScope();
  st.cancelWork = () => workScope.cancel();
  // Only the scope that set the deadline watches it; its delegates are cancelled with it.
  const ms = st.ctx.budget?.deadlineOwner === st.ctx.scopeId ? msUntilDeadline(st.ctx.budget, Date.now()) : null;
  const timerScope = new CancellationScope();
  if (ms !== null) {
    timerScope
      .run(() => sleep(ms))
      .then(
        () => void exceed(st, 'wall_time', `budget exceeded (wall_time): the deadline ${st.ctx.budget?.deadline} passed`),
        () => undefined,
      );
  }
  try {
    return await workScope.run(work);
  } finally {
    timerScope.cancel();
  }
}
