/**
 * Budgets per scope subtree: model turns, tokens and wall time. A budget is declared on
 * an agent or asked for on `delegate()`, and narrowed on the way down: a delegate never
 * gets more than its delegator has left. What a delegate used is charged to its
 * delegator when it returns, so a subtree as a whole stays within its budget. Pure.
 */
import { z } from 'zod';
import { lazySchema } from './lazy-schema';

/** What an agent declaration or a delegation asks for. */
export const budgetSpecSchema = lazySchema(() =>
  // Strict: a mistyped `token` would leave the scope with no token budget at all.
  z.strictObject({
    /** Model steps (`llm()` calls and a model-driven agent's steps). */
    turns: z.number().int().min(0).optional(),
    /** Tokens the model steps consume, input and output together. */
    tokens: z.number().int().min(0).optional(),
    /** Milliseconds from the scope's start. */
    wallTimeMs: z.number().int().min(1).optional(),
  }),
);
export type BudgetSpec = z.infer<ReturnType<typeof budgetSpecSchema>>;

/** What a scope has left, as carried in its context: null fields are unlimited. */
export const budgetSchema = lazySchema(() =>
  z.object({
    turns: z.number().int().min(0).nullable(),
    tokens: z.number().int().min(0).nullable(),
    deadline: z.string().datetime({ offset: true }).nullable(),
    /**
     * The scope whose timer enforces the deadline: the one that set it. Its delegates share
     * the deadline and are cancelled with it rather than each recording the same overrun.
     */
    deadlineOwner: z.string().min(1).optional(),
    /**
     * Spent by the scopes this one took over from by handoff, in the same delegation: the
     * delegator is charged for the whole chain when its result comes back.
     */
    carried: z.object({ turns: z.number().int().min(0), tokens: z.number().int().min(0) }).optional(),
  }),
);
export type Budget = z.infer<ReturnType<typeof budgetSchema>>;

export interface BudgetUsage {
  turns: number;
  tokens: number;
}

export type BudgetKind = 'turns' | 'tokens' | 'wall_time';

export const BUDGET_EXCEEDED = 'BudgetExceeded';

const minOf = (a: number | null, b: number | null | undefined): number | null =>
  a === null ? (b ?? null) : b === undefined || b === null ? a : Math.min(a, b);

/**
 * The budget a scope starts with: what it was given, narrowed by what it asks for itself.
 * `scopeId` becomes the deadline's owner when its own wall time ends first.
 */
export function narrowBudget(given: Budget | null, own: BudgetSpec | undefined, nowMs: number, scopeId: string): Budget | null {
  if (!given && !own) return null;
  const ownDeadline = own?.wallTimeMs === undefined ? null : nowMs + own.wallTimeMs;
  const givenDeadline = given?.deadline ? Date.parse(given.deadline) : null;
  const deadline = minOf(givenDeadline, ownDeadline);
  const owner = deadline === null ? undefined : ownDeadline !== null && (givenDeadline === null || ownDeadline < givenDeadline) ? scopeId : given?.deadlineOwner;
  return {
    turns: minOf(given?.turns ?? null, own?.turns),
    tokens: minOf(given?.tokens ?? null, own?.tokens),
    deadline: deadline === null ? null : new Date(deadline).toISOString(),
    ...(owner ? { deadlineOwner: owner } : {}),
    ...(given?.carried ? { carried: given.carried } : {}),
  };
}

/**
 * The budget a handoff target inherits: what is left, with what was spent carried along.
 * A deadline the scope that handed off enforced is enforced by its successor (its run, and
 * its timer, end with the handoff).
 */
export function handedOverBudget(budget: Budget | null, used: BudgetUsage, from: string, to: string): Budget | null {
  const left = remainingBudget(budget, used);
  if (!left) return null;
  const before = budget?.carried ?? { turns: 0, tokens: 0 };
  const owner = budget?.deadlineOwner === from ? to : budget?.deadlineOwner;
  return { ...left, ...(owner ? { deadlineOwner: owner } : {}), carried: { turns: before.turns + used.turns, tokens: before.tokens + used.tokens } };
}

/** What is left of a budget after `used`. */
export function remainingBudget(budget: Budget | null, used: BudgetUsage): Budget | null {
  if (!budget) return null;
  return {
    turns: budget.turns === null ? null : Math.max(0, budget.turns - used.turns),
    tokens: budget.tokens === null ? null : Math.max(0, budget.tokens - used.tokens),
    deadline: budget.deadline,
    ...(budget.deadlineOwner ? { deadlineOwner: budget.deadlineOwner } : {}),
  };
}

/** What a scope reports to its delegator as spent: its own usage and what its predecessors carried. */
export function reportedUsage(budget: Budget | null, used: BudgetUsage): BudgetUsage {
  const before = budget?.carried ?? { turns: 0, tokens: 0 };
  return { turns: before.turns + used.turns, tokens: before.tokens + used.tokens };
}

/** The first budget a scope has run out of before taking another model step, if any. */
export function exhausted(budget: Budget | null, used: BudgetUsage, nowMs: number): { kind: BudgetKind; message: string } | null {
  if (!budget) return null;
  if (budget.turns !== null && used.turns >= budget.turns) {
    return { kind: 'turns', message: `budget exceeded (turns): ${used.turns} of ${budget.turns} model turns used` };
  }
  if (budget.tokens !== null && used.tokens >= budget.tokens) {
    return { kind: 'tokens', message: `budget exceeded (tokens): ${used.tokens} of ${budget.tokens} tokens used` };
  }
  if (budget.deadline !== null && nowMs >= Date.parse(budget.deadline)) {
    return { kind: 'wall_time', message: `budget exceeded (wall_time): the deadline ${budget.deadline} passed` };
  }
  return null;
}

/** Milliseconds until the deadline (null: none). */
export function msUntilDeadline(budget: Budget | null, nowMs: number): number | null {
  return budget?.deadline ? Math.max(0, Date.parse(budget.deadline) - nowMs) : null;
}

/** Which budget a scope's failure message says ran out (see `exhausted`). */
export function budgetKindOf(message: string | undefined): BudgetKind | null {
  const m = /^budget exceeded \((turns|tokens|wall_time)\)/.exec(message ?? '');
  return m ? (m[1] as BudgetKind) : null;
}
