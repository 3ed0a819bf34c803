/**
 * The model step activity (`llm.generate`) and the providers behind it. A model-driven
 * agent runs the AI SDK's tool loop in its workflow; each turn of that loop asks this
 * activity for the model's next step: text, or the tools, sub-agents and handoffs it
 * wants. The step is recorded as an `llm_call` with the model, token usage, finish
 * reason and the tool calls the model asked for.
 *
 * The workflow only knows the names of its tools; the worker knows their definitions,
 * so it fills in each scopetrail tool's description and input schema here: from its own
 * tools, else from what the worker serving the tool on another task queue registered.
 */
import type { JSONSchema7, LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3Content, LanguageModelV3FunctionTool, LanguageModelV3Prompt } from '@ai-sdk/provider';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ModelMessage } from 'ai';
import { convertToLanguageModelPrompt, standardizePrompt } from 'ai/internal';
import { invalidField } from '../cim/invalid-field';
import { conversationDigest } from '../store/digest';
import { duringAttempt } from './attempt-signal';

import { APICallError } from '@ai-sdk/provider';
import { z } from 'zod';
import { MODEL_STEP_ACTIVITY, toolCallSummary } from '../cim/model-step';
import { defineRuntimeTool, type ToolDefinition } from './tool';
import { describeTool, type DescribedTool } from './tool-spec';
import { shareWithModel, shareWithServedModel } from './llm';
import { currentToolRun } from './tool-context';
import { httpStatusOf, parseRetryAfter, providerFailure } from './llm-failure';

const SHA256_HEX = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest in hex');

export interface ModelContext {
  agent: string;
  scopeId: string;
  /** The model step's number within its scope, from 0. */
  turn: number;
}

/** Where model steps go: a scripted model for examples and tests, or a real provider. */
export interface ModelProvider {
  /** Appears in resource URIs (`llm:<name>/<model>`) and on each record's `provider` attribute. */
  readonly name: string;
  /** The model used when an agent names none. */
  readonly defaultModel: string;
  languageModel(modelId: string, context: ModelContext): LanguageModelV3;
}

const ModelStepTool = z.object({
  type: z.literal('function'),
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only, at most 64'),
  description: z.string().max(10_000).optional(),
  inputSchema: z.record(z.string(), z.unknown()),
  scopetrailTool: z.string().min(1).optional(),
  /** The task queue the agent calls the tool on, when its toolActivity names one. */
  taskQueue: z.string().min(1).max(1000).optional(),
});

export const ModelStepRequestSchema = z.object({
  model: z.string().min(1).max(200).optional(),
  turn: z.number().int().min(0),
  prompt: z
    .array(z.looseObject({ role: z.enum(['system', 'user', 'assistant', 'tool']), content: z.unknown() }))
    .min(1, 'give at least one message'),
  tools: z.array(ModelStepTool).default([]),
  toolChoice: z.looseObject({ type: z.enum(['auto', 'none', 'required', 'tool']) }).optional(),
  maxOutputTokens: z.number().int().positive().optional(),
  temperature: z.number().optional(),
  topP: z.number().optional(),
  topK: z.number().optional(),
  stopSequences: z.array(z.string()).optional(),
  seed: z.number().int().optional(),
  /** The conversation so far, kept in the store by the handoff of this scope (see KeptConversation). */
  conversation: z.object({ from: z.string().min(1).max(1000), digest: SHA256_HEX.optional() }).optional(),
});
export type ModelStepRequest = z.input<typeof ModelStepRequestSchema>;

const Tokens = z.number().int().min(0).optional();
export const ModelStepResultSchema = z.object({
  content: z.array(z.looseObject({ type: z.enum(['text', 'reasoning', 'tool-call']) })),
  finishReason: z.object({ unified: z.enum(['stop', 'length', 'content-filter', 'tool-calls', 'error', 'other']), raw: z.string().optional() }),
  usage: z.object({
    inputTokens: z.object({ total: Tokens, noCache: Tokens, cacheRead: Tokens, cacheWrite: Tokens }),
    outputTokens: z.object({ total: Tokens, text: Tokens, reasoning: Tokens }),
  }),
  warnings: z.array(z.unknown()).default([]),
  response: z.object({ id: z.string().optional(), modelId: z.string().optional(), timestamp: z.string().optional() }).default({}),
});
export type ModelStepResult = z.output<typeof ModelStepResultSchema>;

/** Reads what the handoff made by a scope kept by reference (Store.handoffPayload). */
export type ConversationLoader = (fromScopeId: string) => Promise<unknown | undefined>;

/** The specs other workers registered for the tools they serve (worker/served-tool-specs.ts). */
export interface ServedToolLookup {
  find(tool: string, where: { taskQueue?: string; preferQueue?: string }): Promise<DescribedTool | undefined>;
}

export interface ModelStepOptions {
  /** Where a tool this worker does not define is described; without it such a tool is offered by name alone. */
  servedTools?: ServedToolLookup;
  /** Where a tool no worker described is said, once per agent and tool. */
  warn?: (message: string) => void;
}

export function defineModelStep(
  provider: ModelProvider,
  tools: readonly ToolDefinition<any, any>[],
  loadConversation?: ConversationLoader,
  stepOptions: ModelStepOptions = {},
): ToolDefinition<ModelStepRequest, ModelStepResult> {
  const described = new Map(tools.map((t) => [t.spec.name, describeTool(t)]));
  const warned = new Set<string>();
  /** Each scopetrail tool's spec: this worker's own, else the one registered by the worker serving it. */
  const describe = async (agent: string, offered: z.output<typeof ModelStepTool>[]): Promise<Map<string, DescribedTool>> => {
    const found = new Map<string, DescribedTool>();
    const missing: string[] = [];
    for (const t of offered) {
      if (!t.scopetrailTool) continue;
      const spec = described.get(t.scopetrailTool) ?? (await stepOptions.servedTools?.find(t.scopetrailTool, { taskQueue: t.taskQueue, preferQueue: ownTaskQueue() }));
      if (spec) found.set(t.name, spec);
      else missing.push(t.scopetrailTool);
    }
    const unsaid = missing.filter((tool) => !warned.has(`${agent}\u0000${tool}`));
    if (unsaid.length && stepOptions.warn) {
      unsaid.forEach((tool) => warned.add(`${agent}\u0000${tool}`));
      stepOptions.warn(
        `model agent ${agent}: no worker describes its tool${unsaid.length === 1 ? '' : 's'} ${unsaid.join(', ')}, so its model is told ${unsaid.length === 1 ? 'its name' : 'their names'} alone ` +
          `(no description, parameters { "type": "object" }) and can only guess the arguments. Give ${unsaid.length === 1 ? 'it' : 'them'} to this worker's plugin (tools: [...]), ` +
          `or run the worker that serves ${unsaid.length === 1 ? 'it' : 'them'} (on the task queue of the agent's toolActivity) with the ScopetrailPlugin on this store and namespace: it registers what it serves as it starts`,
      );
    }
    return found;
  };
  return defineRuntimeTool(
    {
      name: MODEL_STEP_ACTIVITY,
      description: `model step through the ${provider.name} provider`,
      input: ModelStepRequestSchema,
      output: ModelStepResultSchema,
    },
    async (request) => {
      const run = currentToolRun();
      const requestedModel = request.model ?? provider.defaultModel;
      shareWithModel(provider.name, requestedModel);
      const model = provider.languageModel(requestedModel, {
        agent: run?.scope.agent ?? 'unknown',
        scopeId: run?.scope.scopeId ?? 'unknown',
        turn: request.turn,
      });
      let prompt = request.prompt as unknown as LanguageModelV3CallOptions['prompt'];
      if (request.conversation) {
        if (!loadConversation) throw ApplicationFailure.nonRetryable('this worker has no store to read a handed-over conversation from', 'ConversationNotFound');
        prompt = await withConversation(prompt, await keptConversation(loadConversation, request.conversation.from, request.conversation.digest));
      }
      const specs = await describe(run?.scope.agent ?? 'unknown', request.tools);
      const options: LanguageModelV3CallOptions = {
        prompt,
        tools: request.tools.map((t): LanguageModelV3FunctionTool => {
          const known = specs.get(t.name);
          return {
            type: 'function',
            name: t.name,
            description: t.description ?? known?.description,
            inputSchema: (known?.inputSchema ?? t.inputSchema) as JSONSchema7,
          };
        }),
        ...(request.toolChoice ? { toolChoice: request.toolChoice as LanguageModelV3CallOptions['toolChoice'] } : {}),
        ...pick(request, ['maxOutputTokens', 'temperature', 'topP', 'topK', 'stopSequences', 'seed']),
      };
      let generated;
      try {
        // The request stops with the attempt: at its deadline too, which Temporal enforces without
        // telling the activity, so a slow provider is not left answering (and billing) a call no one awaits.
        generated = await duringAttempt((abortSignal) => model.doGenerate({ ...options, abortSignal }));
      } catch (err) {
        const failure = asProviderFailure(provider.name, requestedModel, err);
        const httpStatus = httpStatusOf(failure);
        if (run && httpStatus !== undefined) run.attributes.httpStatus = httpStatus;
        throw failure;
      }
      // Only what the loop needs travels back through history: no raw bodies or headers.
      const content = generated.content.filter((c): c is Extract<LanguageModelV3Content, { type: 'text' | 'reasoning' | 'tool-call' }> =>
        c.type === 'text' || c.type === 'reasoning' || c.type === 'tool-call',
      );
      const calls = content.filter((c) => c.type === 'tool-call');
      const servedModel = generated.response?.modelId ?? requestedModel;
      const inputTokens = generated.usage.inputTokens.total ?? null;
      const outputTokens = generated.usage.outputTokens.total ?? null;
      shareWithServedModel(provider.name, requestedModel, servedModel);
      if (run) {
        Object.assign(run.attributes, {
          model: servedModel,
          inputTokens,
          outputTokens,
          totalTokens: inputTokens !== null && outputTokens !== null ? inputTokens + outputTokens : null,
          // The provider's own word where it gave one (OpenAI's "tool_calls"), as the llm activity records it
          // and OpenTelemetry's gen_ai.response.finish_reasons expects; the AI SDK's otherwise.
          finishReason: generated.finishReason.raw ?? generated.finishReason.unified,
          toolCalls: calls.length ? toolCallSummary(calls, new Map(request.tools.map((t) => [t.name, t.scopetrailTool ?? t.name]))) : null,
          toolCallCount: calls.length,
        });
      }
      const timestamp = generated.response?.timestamp;
      return {
        content: content.map((c) => ({ ...c })),
        finishReason: { unified: generated.finishReason.unified, ...(generated.finishReason.raw ? { raw: generated.finishReason.raw } : {}) },
        usage: { inputTokens: { ...generated.usage.inputTokens }, outputTokens: { ...generated.usage.outputTokens } },
        warnings: [],
        response: {
          ...(generated.response?.id ? { id: generated.response.id } : {}),
          modelId: servedModel,
          ...(timestamp instanceof Date && !Number.isNaN(timestamp.getTime()) ? { timestamp: timestamp.toISOString() } : {}),
        },
      };
    },
  );
}

const KeptConversationSchema = z.object({
  base: z.object({ from: z.string().min(1), digest: SHA256_HEX.optional() }).optional(),
  messages: z.array(z.looseObject({ role: z.enum(['system', 'user', 'assistant', 'tool']) })),
});

/** The whole conversation behind a reference, following earlier handoffs' references back to the start. */
async function keptConversation(load: ConversationLoader, from: string, digest: string | undefined): Promise<ModelMessage[]> {
  const parts: ModelMessage[][] = [];
  const seen = new Set<string>();
  // Each body is held to the digest that came to it from history: the first from this step's
  // request, each earlier one from the body after it (itself held to its digest).
  let expected = digest;
  for (let ref: string | undefined = from; ref !== undefined; ) {
    if (seen.has(ref)) throw ApplicationFailure.nonRetryable(`the conversation kept by ${ref} refers back to itself`, 'ConversationNotFound');
    seen.add(ref);
    const body = await load(ref);
    // Kept before the handoff's workflow task completed; absent only while its records wait in the spool.
    if (body === undefined) throw ApplicationFailure.retryable(`the conversation handed over by ${ref} is not in the store (yet)`, 'ConversationNotFound');
    if (expected !== undefined && conversationDigest(body) !== expected) {
      throw ApplicationFailure.nonRetryable(
        `the conversation handed over by ${ref} is not the one its handoff kept (its digest in history is ${expected.slice(0, 12)}…): its row in the store was changed; the agent does not act on it`,
        CONVERSATION_CHANGED,
      );
    }
    const parsed = KeptConversationSchema.safeParse(body);
    if (!parsed.success) throw ApplicationFailure.nonRetryable(invalidField(`the conversation kept by ${ref}`, parsed.error, 'conversation'), 'ConversationNotFound');
    parts.unshift(parsed.data.messages as unknown as ModelMessage[]);
    ref = parsed.data.base?.from;
    expected = parsed.data.base?.digest;
  }
  return parts.flat();
}

/** The failure type of a step whose handed-over conversation does not match its digest. */
export const CONVERSATION_CHANGED = 'ConversationChanged';

/** The kept conversation goes after the agent's own instructions and before what it has said since. */
async function withConversation(prompt: LanguageModelV3Prompt, kept: ModelMessage[]): Promise<LanguageModelV3Prompt> {
  const converted = await convertToLanguageModelPrompt({ prompt: await standardizePrompt({ messages: kept }), supportedUrls: {}, download: undefined });
  const system = prompt.filter((m) => m.role === 'system');
  return [...system, ...converted.filter((m) => m.role !== 'system'), ...prompt.filter((m) => m.role !== 'system')];
}

/** The task queue this model step runs on: the agent's own unless its modelActivity names another. */
function ownTaskQueue(): string | undefined {
  try {
    return Context.current().info.taskQueue;
  } catch {
    return undefined; // called outside an activity (tests of the step itself)
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function asProviderFailure(provider: string, model: string, err: unknown): Error {
  if (APICallError.isInstance(err)) {
    return providerFailure({
      provider,
      target: `POST ${err.url} (model ${model})`,
      httpStatus: err.statusCode,
      reason: `${err.message}${firstIssue(err)}`,
      ...(err.statusCode === undefined ? { retryable: err.isRetryable } : {}),
      retryAfterMs: parseRetryAfter(err.responseHeaders?.['retry-after'] ?? null),
    });
  }
  // The provider answered, but not with a completion (a body that is not JSON, a JSON body of
  // another shape, no choices): the AI SDK's own errors. The same request gets the same answer.
  if (err instanceof Error && err.name.startsWith('AI_')) {
    return providerFailure({ provider, target: `the model ${model}`, reason: `${err.message}${firstIssue(err)}`, retryable: false });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The field an answer of the wrong shape got wrong, when the SDK's validation says. */
function firstIssue(err: Error): string {
  let issue: { path?: unknown[]; message?: string } | undefined;
  // The validation's issues sit a cause or two down (the call's error, the SDK's validation error, zod's).
  for (let e: unknown = err, depth = 0; e && !issue && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const issues = (e as { issues?: unknown }).issues;
    if (Array.isArray(issues) && issues.length) issue = issues[0] as typeof issue;
  }
  if (!issue) return '';
  const path = Array.isArray(issue.path) && issue.path.length ? issue.path.map(String).join('.') : '(the answer)';
  return ` (field "${path}": ${issue.message ?? 'invalid'})`;
}

