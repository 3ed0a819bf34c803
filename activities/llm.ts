/**
 * The `llm` activity and its providers. A provider turns messages into text; the
 * activity validates the request, calls the provider, and records model and token
 * usage on the `llm_call` action. The default provider is scripted: deterministic
 * answers per agent, for examples and tests.
 */
import { Context } from '@temporalio/activity';
import { allowed } from '../cim/allowance';
import { LLM_ACTIVITY } from '../cim/names';
import { LlmResultSchema, type LlmResult } from '../cim/llm-result';
import { z } from 'zod';
import { defineRuntimeTool, reportResource, type ToolDefinition } from './tool';
import { currentToolRun } from './tool-context';
import { httpStatusOf } from './llm-failure';

export const LlmRequestSchema = z.object({
  messages: z
    .array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }))
    .min(1, 'give at least one message'),
  model: z.string().min(1).optional(),
  turn: z.number().int().min(0).default(0),
});
export type LlmRequest = z.infer<typeof LlmRequestSchema>;

export { LlmResultSchema, type LlmResult };
/** What a provider returns: total tokens and finish reason may be left out. */
export type LlmCompletion = z.input<typeof LlmResultSchema>;

export interface LlmProviderRequest extends LlmRequest {
  /** The agent and scope asking, so a provider can route or script by agent. */
  agent: string;
  scopeId: string;
}

export interface LlmProvider {
  readonly name: string;
  /** The model used when a call names none. */
  readonly defaultModel: string;
  /**
   * Throws an ApplicationFailure for a provider error, non-retryable when another attempt
   * cannot succeed; `details[0].httpStatus` carries the HTTP status when there was one.
   */
  complete(request: LlmProviderRequest): Promise<LlmCompletion>;
}

type ScriptStep = string | ((request: LlmProviderRequest) => string);

/**
 * Answers from a script per agent: the n-th call in a scope gets the n-th entry
 * (the last entry repeats). An agent without a script gets an echo of the last user
 * message. Token counts are approximate (see approximateTokens) but deterministic.
 */
export class ScriptedProvider implements LlmProvider {
  readonly name = 'scripted';
  readonly defaultModel = 'scripted-1';

  constructor(private readonly scripts: Record<string, ScriptStep[]> = {}) {}

  async complete(request: LlmProviderRequest): Promise<LlmCompletion> {
    const script = this.scripts[request.agent] ?? this.scripts['*'];
    const lastUser = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const step = script?.length ? script[Math.min(request.turn, script.length - 1)]! : undefined;
    const text = step === undefined ? `[${request.agent}] ${lastUser}` : typeof step === 'function' ? step(request) : step;
    const inputTokens = request.messages.reduce((n, m) => n + approximateTokens(m.content), 0);
    const outputTokens = approximateTokens(text);
    return {
      text,
      model: request.model ?? this.defaultModel,
      inputTokens,
      outputTokens,
      totalTokens: inputTokens + outputTokens,
      finishReason: 'stop',
    };
  }
}

/** About four characters per token, the usual rule of thumb for English text with BPE tokenizers. */
export function approximateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Sending a prompt shares the scope's data with the model: the resource is checked
 * against the allowance before the call, and provider and model are set before it, so a
 * failed attempt's record still says what it asked.
 */
export function shareWithModel(provider: string, requestedModel: string): void {
  const run = currentToolRun();
  if (!run) return;
  reportResource({ uri: `llm:${provider}/${requestedModel}`, mode: 'share' });
  Object.assign(run.attributes, { provider, requestedModel });
}

/** The attribute that names a served model's resource the scope's allowance does not permit. */
export const OUTSIDE_ALLOWANCE_ATTRIBUTE = 'outsideAllowance';

/**
 * The model the provider says it served, when it is not the one asked for. Its resource is
 * recorded whatever the allowance says: the prompt has been shared with it already, and a
 * record that left it out would hide exactly what happened. One the allowance does not
 * permit is marked on the record and logged, but the call does not fail: its answer is
 * paid for, the agent may act on it, and a retry would share the prompt again.
 */
export function shareWithServedModel(provider: string, requestedModel: string, servedModel: string): void {
  const run = currentToolRun();
  if (!run || servedModel === requestedModel) return;
  const uri = `llm:${provider}/${servedModel}`;
  run.resources.push({ uri, mode: 'share' });
  if (allowed(run.scope.allowance, uri)) return;
  // Attributes hold scalars; a call has one served model, so one resource.
  run.attributes[OUTSIDE_ALLOWANCE_ATTRIBUTE] = uri;
  const allowance = run.scope.allowance?.length ? run.scope.allowance.join(', ') : 'nothing';
  warn(
    `scopetrail: ${run.scope.agent} in scope ${run.scope.scopeId} asked ${provider} for ${requestedModel} and was served ${servedModel}, ` +
      `outside its allowance (${allowance}); the call is recorded with ${OUTSIDE_ALLOWANCE_ATTRIBUTE}: ${uri}`,
  );
}

/** Through the worker's logger when running in an activity; a provider called directly has none. */
function warn(message: string): void {
  let log: Context['log'] | undefined;
  try {
    log = Context.current().log;
  } catch {
    log = undefined;
  }
  if (log) log.warn(message);
  else console.error(message);
}

export function defineLlm(provider: LlmProvider): ToolDefinition<z.input<typeof LlmRequestSchema>, LlmResult> {
  return defineRuntimeTool(
    {
      name: LLM_ACTIVITY,
      description: `LLM completion through the ${provider.name} provider`,
      input: LlmRequestSchema,
      output: LlmResultSchema,
    },
    async (request) => {
      const run = currentToolRun();
      const requestedModel = request.model ?? provider.defaultModel;
      shareWithModel(provider.name, requestedModel);
      let completion: LlmCompletion;
      try {
        completion = await provider.complete({
          ...request,
          agent: run?.scope.agent ?? 'unknown',
          scopeId: run?.scope.scopeId ?? 'unknown',
        });
      } catch (err) {
        const httpStatus = httpStatusOf(err);
        if (run && httpStatus !== undefined) run.attributes.httpStatus = httpStatus;
        throw err;
      }
      const parsed = LlmResultSchema.safeParse(completion);
      // A malformed completion is returned as is: defineTool's output check names the bad field.
      if (!parsed.success) return completion;
      const result = parsed.data;
      shareWithServedModel(provider.name, requestedModel, result.model);
      if (run) {
        Object.assign(run.attributes, {
          model: result.model,
          inputTokens: result.inputTokens,
          outputTokens: result.outputTokens,
          totalTokens: result.totalTokens,
          finishReason: result.finishReason,
        });
      }
      return result;
    },
  );
}
