/**
 * Long-running agents: a scope whose history grows too long continues-as-new *inside
 * itself*. The next run is the same scope (same id, same place in the tree); its
 * counters travel in the scope header, so action and child ids stay unique across runs,
 * its budget keeps counting, and its status roll-up still sees what earlier runs did.
 */
import { makeContinueAsNewFunc, workflowInfo } from '@temporalio/workflow';
import type { ScopeContext } from '../cim/schemas';
import { OBJECTIVE_MEMO } from '../cim/names';
import { requireState, type ScopeState } from './scope-state';
import { recordUnhandledSignals } from './unhandled-signals';
import { UNSENDABLE_CONTINUATION_INPUT, unsendableInput } from './sendable-result';

/** Continues the scope in a new run of its workflow, which starts the agent again with `input`. */
export async function continueInScope<I>(input: I): Promise<never> {
  const st = requireState('continueInScope()');
  prepareContinuation(st, input);
  return makeContinueAsNewFunc<(input: I) => Promise<unknown>>({ workflowType: workflowInfo().workflowType, memo: memoWithObjective(st.objective) })(input);
}

/**
 * Readies the scope to go on in the next run of its workflow: the context that run starts
 * with (its counters, budget and roll-up) is taken now, and the scope's end is not recorded.
 * Also taken here for a continue-as-new the agent asked of Temporal directly
 * (workflows/interceptors.ts), whose next run is otherwise the same.
 */
export function prepareContinuation(st: ScopeState, input: unknown): void {
  // The SDK converts the input only as the run continues, after what is recorded here has gone out.
  const unsent = unsendableInput('continue as new', input, UNSENDABLE_CONTINUATION_INPUT);
  if (unsent) throw unsent;
  // Before the next run's counters are taken: the records take ids of this run.
  recordUnhandledSignals(st);
  st.pendingContinuation = nextRun(st);
}

/** A memo (this run's unless given) with the next run's objective; its other entries go with it. */
export function memoWithObjective(objective: string | null, memo: Record<string, unknown> = workflowInfo().memo ?? {}): Record<string, unknown> {
  const { [OBJECTIVE_MEMO]: _previous, ...rest } = memo;
  return objective === null ? rest : { ...rest, [OBJECTIVE_MEMO]: objective };
}

function nextRun(st: ScopeState): ScopeContext {
  // Only the last attempt of each delegation slot counts for the roll-up.
  const bySlot = new Map<string, ScopeState['delegations'][number]>();
  for (const d of st.delegations) {
    const seen = bySlot.get(d.slot);
    if (!seen || seen.attempt <= d.attempt) bySlot.set(d.slot, d);
  }
  return {
    ...st.ctx,
    continuation: {
      run: (st.ctx.continuation?.run ?? 0) + 1,
      startedAt: st.startedAt,
      actionSeq: st.actionSeq,
      childSeq: st.childSeq,
      slotSeq: st.slotSeq,
      llmTurns: st.llmTurns,
      used: { ...st.used },
      recoveredCalls: (st.ctx.continuation?.recoveredCalls ?? false) || st.calls.some((c) => c.status === 'success' && c.attempt > 1),
      delegations: [...bySlot.values()].map((d) => ({ ...d })),
    },
  };
}

/** Whether Temporal suggests a new run (the history's length or size is near its limits). */
export function continueAsNewSuggested(): boolean {
  return workflowInfo().continueAsNewSuggested;
}
