/**
 * llm(): a model call from inside an agent. It runs as the `llm` activity (so it is
 * retried, timed and recorded like a tool, as an `llm_call`), and passes the scope's
 * turn number so a scripted provider answers deterministically.
 */
import { LLM_ACTIVITY } from '../cim/names';
import type { LlmResult } from '../cim/llm-result';
import type { ActivityOptions } from '@temporalio/workflow';
import { requireState } from './scope-state';
import { callModel } from './model-call';

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
  return callModel<LlmResult>(
    st,
    LLM_ACTIVITY,
    (turn) => ({ messages: options.messages, model: options.model, turn }),
    (r) => r.totalTokens ?? (r.inputTokens ?? 0) + (r.outputTokens ?? 0),
    options.activity,
  );
}
