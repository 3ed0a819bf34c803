/**
 * llm(): a model call from inside an agent. It runs as the `llm` activity (so it is
 * retried, timed and recorded like a tool, as an `llm_call`), and passes the scope's
 * turn number so a scripted provider answers deterministically.
 */
import { LLM_ACTIVITY, type LlmResult } from '../cim/names';
import { proxyActivities, isCancellation, type ActivityOptions } from '@temporalio/workflow';
import { unwrapToolResult } from '../cim/envelope';
import { requireState } from './scope-state';
import { recordLostFinalAttempt } from './lost-attempt';
import { chargeTokens, spendTurn } from './budget';

export interface LlmMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface LlmCallOptions {
  messages: LlmMessage[];
  model?: string;
  activity?: Partial<ActivityOptions>;
}

export { LLM_ACTIVITY, type LlmResult };

export async function llm(options: LlmCallOptions): Promise<LlmResult> {
  const st = requireState('llm()');
  spendTurn(st);
  const turn = st.llmTurns;
  st.llmTurns += 1;
  const activityOptions: ActivityOptions = {
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 3, initialInterval: '1s' },
    ...options.activity,
  };
  const activity = proxyActivities<Record<string, (input: unknown) => Promise<unknown>>>(activityOptions)[LLM_ACTIVITY]!;
  const input = { messages: options.messages, model: options.model, turn };
  try {
    const { value, attempt } = unwrapToolResult(await activity(input));
    st.calls.push({ attempt, status: 'success' });
    const result = value as LlmResult;
    chargeTokens(st, result.totalTokens ?? (result.inputTokens ?? 0) + (result.outputTokens ?? 0));
    return result;
  } catch (err) {
    st.calls.push({ attempt: 1, status: isCancellation(err) ? 'cancelled' : 'error' });
    recordLostFinalAttempt(st, err, 'llm_call', input, activityOptions.retry?.maximumAttempts);
    throw err;
  }
}
