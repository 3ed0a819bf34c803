/**
 * A scripted model that speaks the AI SDK's model interface: per agent and turn it
 * answers with text, or asks for tools, sub-agents and handoffs — deterministically, so
 * model-driven examples and tests run offline and replay the same way.
 */
import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3Content, LanguageModelV3GenerateResult, LanguageModelV3Prompt } from '@ai-sdk/provider';
import { DELEGATE_TOOL_PREFIX, HANDOFF_TOOL_PREFIX, modelToolName } from '../cim/model-step';
import { approximateTokens } from './llm';
import type { ModelContext, ModelProvider } from './model-step';

/** A call the script makes: a scopetrail tool by its own name, or a sub-agent or handoff (see below). */
export interface ScriptedCall {
  tool: string;
  input: unknown;
}

export interface ScriptedTurn {
  text?: string;
  calls: ScriptedCall[];
  /** The model the answer says served it, as a provider may name another than the one asked for (default: that one). */
  servedModel?: string;
}

export interface ScriptedModelRequest extends ModelContext {
  prompt: LanguageModelV3Prompt;
  /** The tool names the model was offered. */
  offered: string[];
}

export type ModelScriptStep = string | ScriptedTurn | ((request: ScriptedModelRequest) => string | ScriptedTurn);

export const callTool = (tool: string, input: unknown): ScriptedCall => ({ tool, input });
export const delegateTo = (agent: string, objective: string): ScriptedCall => ({ tool: `${DELEGATE_TOOL_PREFIX}${agent}`, input: { objective } });
export const handoffTo = (agent: string, reason: string): ScriptedCall => ({ tool: `${HANDOFF_TOOL_PREFIX}${agent}`, input: { reason } });

/**
 * Answers from a script per agent (or `*` for any): the n-th model step of a scope gets
 * the n-th entry. Past the end of its script (or without one) the model answers in
 * text: the last user message, and how many tool results it saw.
 */
export class ScriptedModelProvider implements ModelProvider {
  readonly name = 'scripted';
  readonly defaultModel = 'scripted-1';

  constructor(private readonly scripts: Record<string, ModelScriptStep[]> = {}) {}

  languageModel(modelId: string, context: ModelContext): LanguageModelV3 {
    const script = this.scripts[context.agent] ?? this.scripts['*'] ?? [];
    return {
      specificationVersion: 'v3',
      provider: this.name,
      modelId,
      supportedUrls: {},
      doGenerate: async (options) => answer(script[context.turn], { ...context, prompt: options.prompt, offered: offered(options) }, modelId),
      doStream: async () => {
        throw new Error('the scripted model does not stream');
      },
    };
  }
}

function offered(options: LanguageModelV3CallOptions): string[] {
  return (options.tools ?? []).map((t) => t.name);
}

function answer(step: ModelScriptStep | undefined, request: ScriptedModelRequest, modelId: string): LanguageModelV3GenerateResult {
  const turn: ScriptedTurn =
    step === undefined
      ? { text: fallbackText(request), calls: [] }
      : typeof step === 'function'
        ? asTurn(step(request))
        : asTurn(step);
  const content: LanguageModelV3Content[] = [];
  if (turn.text) content.push({ type: 'text', text: turn.text });
  turn.calls.forEach((c, i) =>
    content.push({ type: 'tool-call', toolCallId: `call_${request.turn}_${i}`, toolName: modelToolName(c.tool), input: JSON.stringify(c.input ?? {}) }),
  );
  const inputTokens = approximateTokens(JSON.stringify(request.prompt));
  const outputTokens = approximateTokens(JSON.stringify(content));
  return {
    content,
    finishReason: { unified: turn.calls.length ? 'tool-calls' : 'stop', raw: turn.calls.length ? 'tool_calls' : 'stop' },
    usage: {
      inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: outputTokens, text: outputTokens, reasoning: undefined },
    },
    warnings: [],
    response: { modelId: turn.servedModel ?? modelId },
  };
}

function asTurn(step: string | ScriptedTurn): ScriptedTurn {
  return typeof step === 'string' ? { text: step, calls: [] } : step;
}

function fallbackText(request: ScriptedModelRequest): string {
  const lastUser = [...request.prompt].reverse().find((m) => m.role === 'user');
  const text = lastUser && Array.isArray(lastUser.content) ? lastUser.content.map((p) => (p.type === 'text' ? p.text : '')).join('') : '';
  const results = request.prompt.filter((m) => m.role === 'tool').reduce((n, m) => n + m.content.length, 0);
  return `[${request.agent}] ${text}${results ? ` (from ${results} tool result${results === 1 ? '' : 's'})` : ''}`;
}
