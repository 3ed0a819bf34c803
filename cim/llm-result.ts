/**
 * What the `llm` activity returns (see LLM_ACTIVITY). Apart from cim/names.ts so that
 * workflow code, which only names the activity and reads its result's type, does not
 * build the schema in every workflow.
 */
import { z } from 'zod';

const TokenCount = z.number().int().min(0).nullable();

/** What the `llm` activity returns, checked on the worker and typed in the workflow. */
export const LlmResultSchema = z.object({
  text: z.string(),
  /** The model that answered, as the provider reports it (it may differ from the one asked for). */
  model: z.string(),
  inputTokens: TokenCount,
  outputTokens: TokenCount,
  totalTokens: TokenCount.default(null),
  /** Why generation stopped (`stop`, `length`, …), when the provider says. */
  finishReason: z.string().nullable().default(null),
});
export type LlmResult = z.infer<typeof LlmResultSchema>;
