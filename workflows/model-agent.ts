/**
 * Model-driven agents: the model decides, at run time, which tool to call, which
 * sub-agent to delegate to and when to hand off. The AI SDK's tool loop (`generateText`
 * with `stopWhen`) runs here, in the workflow; every step it takes is a scopetrail
 * step, so it is bound to the agent's scope like hand-written code:
 *
 * - each model step is the `llm.generate` activity, recorded as an `llm_call`;
 * - each tool the model calls is the scopetrail tool activity (zod-checked, allowance
 *   enforced, recorded per attempt); tool calls of one step run in parallel;
 * - each sub-agent it calls is `delegate()`: a child workflow, a new scope, with the
 *   model's own words as its objective;
 * - a handoff it chooses ends the loop and continues-as-new into the target agent,
 *   carrying the conversation to a model agent, or its reason as `{ prompt }` to a
 *   hand-written one.
 *
 * Temporal's own integration (@temporalio/ai-sdk) works the same way — model steps as
 * activities, the loop in the workflow, polyfills loaded first — but its releases pin
 * @temporalio/* to their own version, and a bundle holding two copies of
 * @temporalio/workflow breaks every workflow. This module does what it does against
 * scopetrail's own activities, which also records every step under its scope.
 */
import './ai-polyfills';
import { generateText, jsonSchema, stepCountIs, tool, type ToolSet } from 'ai';
import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3GenerateResult } from '@ai-sdk/provider';
import { ActivityFailure, ApplicationFailure, isCancellation, patched, type ActivityOptions } from '@temporalio/workflow';
import { z } from 'zod';
import { agentNameSchema } from '../cim/scope-context';
import { toolNameSchema } from '../cim/manifest';
import { budgetSpecSchema } from '../cim/budget';
import { lazySchema } from '../cim/lazy-schema';
import { invalidOption, unknownOption } from '../cim/invalid-field';
import { canonicalJson } from '../cim/canonical-json';
import { sha256HexPure } from '../cim/sha256-pure';
import {
  DELEGATE_TOOL_PREFIX,
  HANDOFF_TOOL_PREFIX,
  routedArgumentsProblem,
  INLINE_CONVERSATION_BYTES,
  MODEL_STEP_ACTIVITY,
  modelToolName,
  type ConversationReference,
  type KeptConversation,
  type ModelStepTool,
} from '../cim/model-step';
import { defineAgentLazily, type AgentWorkflow } from './agent';
import { delegate } from './delegate';
import { handoff } from './handoff';
import { requireState } from './scope-state';
import { callModel } from './model-call';
import { useTools, type ToolTypes, type UseToolsOptions } from './tools';
import { checkActivityOptions } from './activity-option-keys';
import { MODEL_INPUT_PATCH, startingMessages, type ModelAgentInput } from './model-agent-input';

/** Built when first used: in the workflows of a model agent, not in every workflow of the bundle. */
const modelAgentSpecSchema = lazySchema(() =>
  z.object({
    name: agentNameSchema(),
    version: z.string().min(1).max(50),
    description: z.string().max(2000).optional(),
    /** The model to ask for; the worker's provider picks its default when absent. */
    model: z.string().min(1).max(200).optional(),
    instructions: z.string().min(1, 'tell the model what the agent is for').max(100_000),
    tools: z.array(toolNameSchema()).default([]),
    subAgents: z.array(agentNameSchema()).default([]),
    handoffs: z.array(agentNameSchema()).default([]),
    /** Model steps before the loop gives up (each step may call several tools at once). */
    maxTurns: z.number().int().min(1).max(1000).default(10),
    /** A conversation larger than this (UTF-8 bytes of its JSON) is handed off by reference, not through Temporal. */
    inlineConversationBytes: z.number().int().min(0).default(INLINE_CONVERSATION_BYTES),
    resources: z.array(z.string().min(1)).optional(),
    /** Model turns, tokens and wall time its scope (with its delegates) may spend. */
    budget: budgetSpecSchema().optional(),
  }),
);

/** The spec's fields that are activity options, not part of the manifest (the schema does not hold them). */
const ACTIVITY_OPTION_KEYS = ['modelActivity', 'toolActivity'] as const;

export interface ModelAgentSpec extends z.input<ReturnType<typeof modelAgentSpecSchema>> {
  /** Options for the model step activity (timeouts, retries). */
  modelActivity?: Partial<ActivityOptions>;
  /** Options for the tool activities the model calls. */
  toolActivity?: UseToolsOptions;
}

export { INVALID_AGENT_INPUT, type ModelAgentInput } from './model-agent-input';

export interface ModelAgentResult {
  text: string;
  /** Model steps this scope took. */
  turns: number;
}

export const MAX_TURNS_REACHED = 'MaxTurnsReached';

/**
 * The model agents of this bundle, by name. A handoff can only continue as an agent of the
 * bundle (workflows/handoff.ts), so a model agent knows whether the one it hands off to takes
 * the conversation (a model agent) or a prompt (a hand-written agent).
 */
const modelAgentNames = new Set<string>();

/** Whether `name` is a model agent defined in this bundle. */
export function isModelAgent(name: string): boolean {
  return modelAgentNames.has(name);
}

export function defineModelAgent(specInput: ModelAgentSpec): AgentWorkflow<ModelAgentInput, ModelAgentResult> {
  // Checked when first needed, like defineAgent's manifest: at worker start, and in the
  // workflows of this agent only.
  const name = String((specInput as Partial<ModelAgentSpec> | undefined)?.name);
  modelAgentNames.add(name);
  return defineAgentLazily(name, () => {
    const schema = modelAgentSpecSchema();
    const unknown = unknownOption('defineModelAgent', specInput, [...Object.keys(schema.shape), ...ACTIVITY_OPTION_KEYS]);
    if (unknown) throw unknown;
    const parsed = schema.safeParse(specInput);
    if (!parsed.success) throw invalidOption('defineModelAgent', parsed.error, 'spec');
    checkActivityOptions('defineModelAgent', specInput.modelActivity, { path: 'modelActivity' });
    checkActivityOptions('defineModelAgent', specInput.toolActivity, { perTool: true, path: 'toolActivity' });
    const spec = parsed.data;
    const offered = offeredTools(spec);
    return {
      manifest: {
        name: spec.name,
        version: spec.version,
        description: spec.description,
        // Its model steps are calls too, declared like `llm` is by hand-written agents that call it.
        tools: [...spec.tools, MODEL_STEP_ACTIVITY],
        subAgents: spec.subAgents,
        handoffs: spec.handoffs,
        model: spec.model,
        resources: spec.resources,
        budget: spec.budget,
      },
      fn: (input: ModelAgentInput) => runLoop(spec, offered, specInput, input),
    };
  });
}

type Spec = z.output<ReturnType<typeof modelAgentSpecSchema>>;

/**
 * Runs made before it took a handoff asked for without a reason (giving it one of its own) and a
 * delegation with arguments besides its objective; replayed, they still do.
 */
export const ROUTED_ARGUMENTS_PATCH = 'scopetrail-routed-arguments';

/**
 * Runs made before it handed off to a hand-written agent with the conversation
 * (`{ messages, from, reason }`, or by reference), which such an agent, taking `{ prompt }`,
 * could not read, and offered that handoff to the model as one that carries the conversation;
 * replayed, they still do. Since, such a handoff gives the target `{ prompt: <reason> }`.
 */
export const HANDOFF_PROMPT_PATCH = 'scopetrail-handoff-prompt';

/** What the model is offered, by the name it sees: each must be unique after `modelToolName`. */
function offeredTools(spec: Spec): Map<string, { kind: 'tool' | 'delegate' | 'handoff'; target: string }> {
  const offered = new Map<string, { kind: 'tool' | 'delegate' | 'handoff'; target: string }>();
  const add = (name: string, entry: { kind: 'tool' | 'delegate' | 'handoff'; target: string }) => {
    const seen = offered.get(name);
    if (seen) {
      throw new TypeError(`defineModelAgent ${spec.name}: "${entry.target}" and "${seen.target}" both reach the model as "${name}"; rename one`);
    }
    offered.set(name, entry);
  };
  for (const t of spec.tools) add(modelToolName(t), { kind: 'tool', target: t });
  for (const a of spec.subAgents) add(`${DELEGATE_TOOL_PREFIX}${a}`, { kind: 'delegate', target: a });
  for (const a of spec.handoffs) add(`${HANDOFF_TOOL_PREFIX}${a}`, { kind: 'handoff', target: a });
  return offered;
}

const OBJECTIVE_SCHEMA = jsonSchema<{ objective: string }>({
  type: 'object',
  properties: { objective: { type: 'string', description: 'what the sub-agent must achieve, in full sentences' } },
  required: ['objective'],
  additionalProperties: false,
});
const REASON_SCHEMA = jsonSchema<{ reason: string }>({
  type: 'object',
  properties: { reason: { type: 'string', description: 'why the other agent should take over' } },
  required: ['reason'],
  additionalProperties: false,
});
// A hand-written agent does not read the conversation: the reason is its prompt.
const PROMPT_REASON_SCHEMA = jsonSchema<{ reason: string }>({
  type: 'object',
  properties: { reason: { type: 'string', description: 'what the other agent must do, in full sentences: it is all it is given of this conversation' } },
  required: ['reason'],
  additionalProperties: false,
});
// The worker replaces this with the tool's own input schema (it holds the definitions).
const ANY_OBJECT = jsonSchema<Record<string, unknown>>({ type: 'object' });

async function runLoop(
  spec: Spec,
  offered: ReturnType<typeof offeredTools>,
  options: ModelAgentSpec,
  input: ModelAgentInput,
): Promise<ModelAgentResult> {
  const { messages, conversation } = startingMessages(spec.name, input, () => patched(MODEL_INPUT_PATCH));
  const callers = useTools<Record<string, ToolTypes<unknown, unknown>>>(options.toolActivity ?? {});
  let chosen: { to: string; reason: string } | undefined;
  // A hand-written agent it may hand off to gets the reason as its prompt (asked only of an agent that has one).
  const promptHandoffs = spec.handoffs.some((a) => !isModelAgent(a)) && patched(HANDOFF_PROMPT_PATCH);
  const takesPrompt = (target: string) => promptHandoffs && !isModelAgent(target);
  const tools: ToolSet = {};
  for (const [name, entry] of offered) {
    if (entry.kind === 'tool') {
      tools[name] = tool({ inputSchema: ANY_OBJECT, execute: (args: Record<string, unknown>) => callers[entry.target]!(args).catch(failureForModel) });
    } else if (entry.kind === 'delegate') {
      tools[name] = tool({
        description: `Delegate a subtask to the ${entry.target} agent. It works under its own mandate and returns its answer.`,
        inputSchema: OBJECTIVE_SCHEMA,
        execute: async (args: { objective: string }) => {
          const refused = routedArgumentsProblem(name, args);
          if (refused && patched(ROUTED_ARGUMENTS_PATCH)) throw new Error(`${name}: ${refused}`);
          const { objective } = args;
          // Histories made before the patch refused only an objective that is not a non-empty string.
          if (typeof objective !== 'string' || !objective.trim()) throw new Error(`${name}: give the objective as a non-empty string`);
          const out = await delegate<ModelAgentInput, unknown>(entry.target, { objective: objective.slice(0, 10_000), input: { prompt: objective } });
          return isModelResult(out) ? out.text : out;
        },
      });
    } else {
      tools[name] = tool({
        description: takesPrompt(entry.target)
          ? `Hand the work over to the ${entry.target} agent, which continues in your place. It does not see this conversation: your reason is its prompt, so say in it all it needs.`
          : `Hand the conversation over to the ${entry.target} agent, which continues in your place.`,
        inputSchema: takesPrompt(entry.target) ? PROMPT_REASON_SCHEMA : REASON_SCHEMA,
        execute: async (args: { reason: string }) => {
          // A handoff the model asked for wrongly is refused to it, as a delegation is, not made with a reason of our own.
          const refused = routedArgumentsProblem(name, args);
          if (refused && patched(ROUTED_ARGUMENTS_PATCH)) throw new Error(`${name}: ${refused}`);
          const { reason } = args;
          // The handoff itself happens after the loop: continue-as-new cannot run inside a tool call.
          // Only the first one asked for in a step happens; the conversation the next agent
          // inherits says so of any other, rather than claiming a handoff that never came.
          if (chosen) return `not handed off to ${entry.target}: control already goes to ${chosen.to}, asked for first in this step`;
          chosen = { to: entry.target, reason: typeof reason === 'string' && reason.trim() ? reason.slice(0, 2000) : `handoff to ${entry.target}` };
          return `handing off to ${entry.target}`;
        },
      });
    }
  }
  // The step reads a tool's spec from the worker serving it there when its own worker does not define it.
  const toolQueue = (tool: string) => options.toolActivity?.perTool?.[tool]?.taskQueue ?? options.toolActivity?.taskQueue;
  const model = new ScopeModel(spec.model, offered, options.modelActivity, conversation && { from: conversation.from, ...(conversation.digest ? { digest: conversation.digest } : {}) }, toolQueue);
  const result = await generateText({
    model,
    system: spec.instructions,
    messages,
    tools,
    // Temporal retries the model step; the SDK must not retry on top of it.
    maxRetries: 0,
    stopWhen: [stepCountIs(spec.maxTurns), () => chosen !== undefined],
  });
  if (chosen) {
    // A hand-written agent takes `{ prompt }`, as a delegation gives it: the model was told the reason is all it gets.
    if (takesPrompt(chosen.to)) return handoff<ModelAgentInput>(chosen.to, { reason: chosen.reason, input: { prompt: chosen.reason } });
    const said = [...messages, ...result.response.messages];
    const bytes = jsonBytes(said) + (conversation?.bytes ?? 0);
    // Once a conversation went by reference it stays there: the part kept earlier is not in this run.
    if (conversation === undefined && bytes <= spec.inlineConversationBytes) {
      return handoff<ModelAgentInput>(chosen.to, { reason: chosen.reason, input: { messages: said, from: spec.name, reason: chosen.reason } });
    }
    const kept: KeptConversation = {
      ...(conversation ? { base: { from: conversation.from, ...(conversation.digest ? { digest: conversation.digest } : {}) } } : {}),
      messages: said,
    };
    const reference: ConversationReference = {
      from: requireState('a handoff').ctx.scopeId,
      digest: sha256HexPure(canonicalJson(kept)),
      messages: said.length + (conversation?.messages ?? 0),
      bytes,
    };
    return handoff<ModelAgentInput>(chosen.to, {
      reason: chosen.reason,
      input: { conversation: reference, from: spec.name, reason: chosen.reason },
      byReference: kept,
    });
  }
  if (result.finishReason === 'tool-calls') {
    // Tools by their own names, as the step's record and the tools' rows give them.
    const asked = result.toolCalls.map((c) => (offered.get(c.toolName)?.kind === 'tool' ? offered.get(c.toolName)!.target : c.toolName)).join(', ');
    throw ApplicationFailure.nonRetryable(
      `${spec.name} stopped after maxTurns (${spec.maxTurns}) model steps before its model finished; the last step asked for ${asked}`,
      MAX_TURNS_REACHED,
    );
  }
  return { text: result.text, turns: result.steps.length };
}

/**
 * What the model is told when a tool fails: the AI SDK hands it the error's message, and a
 * tool's failure reaches the workflow wrapped in Temporal's ActivityFailure, whose message is
 * only "Activity task failed". The model needs the tool's own words (the field its arguments
 * got wrong, the upstream's refusal) to correct itself. A cancellation passes as it is.
 */
function failureForModel(err: unknown): never {
  if (err instanceof ActivityFailure && !isCancellation(err) && err.cause instanceof Error && err.cause.message) {
    const told = new Error(err.cause.message, { cause: err });
    told.name = err.cause.name;
    throw told;
  }
  throw err;
}

function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

function isModelResult(v: unknown): v is ModelAgentResult {
  return !!v && typeof v === 'object' && typeof (v as ModelAgentResult).text === 'string' && typeof (v as ModelAgentResult).turns === 'number';
}

/** The AI SDK's view of the model: each generation is one `llm.generate` activity in this scope. */
class ScopeModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider = 'scopetrail';
  readonly supportedUrls = {};
  readonly modelId: string;

  constructor(
    private readonly requested: string | undefined,
    private readonly offered: ReturnType<typeof offeredTools>,
    private readonly activityOptions: Partial<ActivityOptions> = {},
    /** The scope whose handoff kept the conversation so far in the store, and the digest its handoff gave it. */
    private readonly conversationFrom?: { from: string; digest?: string },
    /** The task queue a tool is called on, when the agent's toolActivity names one. */
    private readonly toolQueue: (tool: string) => string | undefined = () => undefined,
  ) {
    this.modelId = requested ?? 'default';
  }

  async doGenerate(call: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const st = requireState('a model step');
    const tools: ModelStepTool[] = (call.tools ?? []).flatMap((t) =>
      t.type === 'function'
        ? [{
            type: 'function' as const,
            name: t.name,
            ...(t.description ? { description: t.description } : {}),
            inputSchema: t.inputSchema as Record<string, unknown>,
            ...this.scopetrailTool(t.name),
          }]
        : [],
    );
    const result = await callModel<LanguageModelV3GenerateResult & { response?: { timestamp?: unknown } }>(
      st,
      MODEL_STEP_ACTIVITY,
      (turn) => ({
        ...(this.requested ? { model: this.requested } : {}),
        turn,
        ...(this.conversationFrom ? { conversation: this.conversationFrom } : {}),
        prompt: call.prompt,
        tools,
        ...(call.toolChoice ? { toolChoice: call.toolChoice } : {}),
        ...definedOnly({ maxOutputTokens: call.maxOutputTokens, temperature: call.temperature, topP: call.topP, topK: call.topK, stopSequences: call.stopSequences, seed: call.seed }),
      }),
      (r) => (r.usage?.inputTokens?.total ?? 0) + (r.usage?.outputTokens?.total ?? 0),
      this.activityOptions,
    );
    // Dates do not survive the payload converter.
    const timestamp = typeof result.response?.timestamp === 'string' ? new Date(result.response.timestamp) : undefined;
    return { ...result, response: { ...result.response, timestamp } };
  }

  /** The scopetrail tool the model knows as `name`, and the queue it is called on when not the agent's own. */
  private scopetrailTool(name: string): { scopetrailTool?: string; taskQueue?: string } {
    const entry = this.offered.get(name);
    if (entry?.kind !== 'tool') return {};
    const taskQueue = this.toolQueue(entry.target);
    return { scopetrailTool: entry.target, ...(taskQueue ? { taskQueue } : {}) };
  }

  async doStream(): Promise<never> {
    throw ApplicationFailure.nonRetryable('model-driven agents generate step by step (generateText); streaming is not supported in a workflow');
  }
}

function definedOnly<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
