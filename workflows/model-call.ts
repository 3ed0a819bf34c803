/**
 * One model call from an agent's scope — `llm()` or a model-driven agent's step: it
 * takes a turn of the scope's budget, runs as an activity (retried, timed and recorded
 * as an `llm_call`), charges the tokens it used, and leaves its outcome for the scope's
 * status roll-up.
 */
import { isCancellation, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import { unwrapToolResult } from '../cim/envelope';
import { chargeTokens, spendTurn } from './budget';
import { recordLostFinalAttempt } from './lost-attempt';
import { takeFailureRelay } from './failure-relay';
import { emitRelay, type ScopeState } from './scope-state';

const DEFAULTS: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '1s' },
};

export async function callModel<R>(
  st: ScopeState,
  activityType: string,
  /** The activity input for this turn (the scope's n-th model call, from 0). */
  input: (turn: number) => unknown,
  tokensOf: (result: R) => number,
  activityOptions: Partial<ActivityOptions> = {},
): Promise<R> {
  spendTurn(st);
  const turn = st.llmTurns;
  st.llmTurns += 1;
  const options: ActivityOptions = { ...DEFAULTS, ...activityOptions };
  const request = input(turn);
  const activity = proxyActivities<Record<string, (input: unknown) => Promise<unknown>>>(options)[activityType]!;
  const calledAtMs = Date.now();
  try {
    let scheduled: Promise<unknown>;
    st.callerUnwraps = true;
    try {
      scheduled = activity(request);
    } finally {
      st.callerUnwraps = undefined;
    }
    const { value, attempt, relay } = unwrapToolResult(await scheduled);
    st.calls.push({ attempt, status: 'success' });
    emitRelay(relay);
    chargeTokens(st, tokensOf(value as R));
    return value as R;
  } catch (err) {
    // Before the gap fills, which never overwrite an attempt's own end.
    emitRelay(takeFailureRelay(st, err));
    st.calls.push({ attempt: 1, status: isCancellation(err) ? 'cancelled' : 'error' });
    recordLostFinalAttempt(st, err, 'llm_call', request, options.retry?.maximumAttempts, calledAtMs);
    throw err;
  }
}
