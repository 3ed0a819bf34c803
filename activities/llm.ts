/**
 * The `llm` activity and its providers. A provider turns messages into text; the
 * activity validates the request, calls the provider, and records model and token
 * usage on the `llm_call` action. The default provider is scripted: deterministic
 * answers per agent, for examples and tests.
 */
import { z } from 'zod';
import { defineTool, reportResource, type ToolDefinition } from './tool';
import { currentToolRun } from './tool-context';

export const LlmRequestSchema = z.object({
  messages: z
    .array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }))
    .min(1, 'give at least one message'),
  model: z.string().min(1).optional(),
  turn: z.number().int().min(0).default(0),
});
export type LlmRequest = z.infer<typeof LlmRequestSchema>;

export const LlmResultSchema = z.object({
  text: z.string(),
  model: z.string(),
  inputTokens: z.number().int().min(0).nullable(),
  outputTokens: z.number().int().min(0).nullable(),
});
export type LlmResult = z.infer<typeof LlmResultSchema>;

export interface LlmProviderRequest extends LlmRequest {
  /** The agent and scope asking, so a provider can route or script by agent. */
  agent: string;
  scopeId: string;
}

export interface LlmProvider {
  readonly name: string;
  /** The model used when a call names none. */
  readonly defaultModel: string;
  complete(request: LlmProviderRequest): Promise<LlmResult>;
}

type ScriptStep = string | ((request: LlmProviderRequest) => string);

/**
 * Answers from a script per agent: the n-th call in a scope gets the n-th entry
 * (the last entry repeats). An agent without a script gets an echo of the last user
 * message. Token counts are whitespace-separated words.
 */
export class ScriptedProvider implements LlmProvider {
  readonly name = 'scripted';
  readonly defaultModel = 'scripted-1';

  constructor(private readonly scripts: Record<string, ScriptStep[]> = {}) {}

  async complete(request: LlmProviderRequest): Promise<LlmResult> {
    const script = this.scripts[request.agent] ?? this.scripts['*'];
    const lastUser = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const step = script?.length ? script[Math.min(request.turn, script.length - 1)]! : undefined;
    const text = step === undefined ? `[${request.agent}] ${lastUser}` : typeof step === 'function' ? step(request) : step;
    return {
      text,
      model: request.model ?? this.defaultModel,
      inputTokens: request.messages.reduce((n, m) => n + words(m.content), 0),
      outputTokens: words(text),
    };
  }
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

export function defineLlm(provider: LlmProvider): ToolDefinition<z.input<typeof LlmRequestSchema>, LlmResult> {
  return defineTool(
    {
      name: 'llm',
      description: `LLM completion through the ${provider.name} provider`,
      input: LlmRequestSchema,
      output: LlmResultSchema,
    },
    async (request) => {
      const run = currentToolRun();
      // Sending a prompt shares the scope's data with the model: checked against the allowance first.
      if (run) reportResource({ uri: `llm:${provider.name}/${request.model ?? provider.defaultModel}`, mode: 'share' });
      const result = await provider.complete({
        ...request,
        agent: run?.scope.agent ?? 'unknown',
        scopeId: run?.scope.scopeId ?? 'unknown',
      });
      if (run) {
        if (result.model !== (request.model ?? provider.defaultModel)) {
          run.resources.push({ uri: `llm:${provider.name}/${result.model}`, mode: 'share' });
        }
        Object.assign(run.attributes, {
          provider: provider.name,
          model: result.model,
          inputTokens: result.inputTokens,
          outputTokens: result.outputTokens,
        });
      }
      return result;
    },
  );
}
