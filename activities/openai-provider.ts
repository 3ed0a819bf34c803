/**
 * An LLM provider for any server that speaks OpenAI's Chat Completions API (OpenAI itself,
 * Azure-style gateways, vLLM, Ollama, llama.cpp, LiteLLM…), through the official `openai`
 * client: one request per attempt. The client's own retries are off: Temporal's retry
 * policy retries, so every attempt is its own `llm_call` record.
 */
import { duringAttempt } from './attempt-signal';
import OpenAI, { APIConnectionError, APIError } from 'openai';
import { z } from 'zod';
import type { LlmCompletion, LlmProvider, LlmProviderRequest } from './llm';
import { parseRetryAfter, providerFailure } from './llm-failure';
import { invalidOption, unknownOption } from '../cim/invalid-field';

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

export const OpenAiProviderOptionsSchema = z.object({
  apiKey: z.string().min(1, 'give an API key'),
  baseURL: z.url({ protocol: /^https?$/ }).default(DEFAULT_OPENAI_BASE_URL),
  /** The model used when a call names none. */
  model: z.string().min(1).max(200),
  /** Appears in resource URIs (`llm:<name>/<model>`) and on each record's `provider` attribute. */
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and -').default('openai'),
});

export interface OpenAiProviderOptions extends z.input<typeof OpenAiProviderOptionsSchema> {
  /** The HTTP client (default: the global fetch). */
  fetch?: typeof fetch;
}

/**
 * The options checked, naming the field (an InvalidOptionError, a TypeError). A mistyped key
 * is refused, not dropped: `baseUrl` for `baseURL` would send the prompts, and the key, to
 * OpenAI's own server.
 */
export function parseOpenAiProviderOptions(context: string, options: OpenAiProviderOptions): z.output<typeof OpenAiProviderOptionsSchema> {
  const unknown = unknownOption(context, options, [...Object.keys(OpenAiProviderOptionsSchema.shape), 'fetch']);
  if (unknown) throw unknown;
  const parsed = OpenAiProviderOptionsSchema.safeParse(options);
  if (!parsed.success) throw invalidOption(context, parsed.error, 'options');
  return parsed.data;
}

const ChatCompletionSchema = z.object({
  model: z.string().min(1),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullable().optional(),
          refusal: z.string().nullable().optional(),
        }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1, 'expected at least one choice'),
  usage: z
    .object({
      prompt_tokens: z.number().int().min(0),
      completion_tokens: z.number().int().min(0),
      total_tokens: z.number().int().min(0).optional(),
    })
    .nullable()
    .optional(),
});

const ErrorBodySchema = z.object({ error: z.object({ message: z.string() }) });

export class OpenAiCompatibleProvider implements LlmProvider {
  readonly name: string;
  readonly defaultModel: string;
  readonly baseURL: string;
  private readonly client: OpenAI;

  constructor(options: OpenAiProviderOptions) {
    const parsed = parseOpenAiProviderOptions('OpenAiCompatibleProvider', options);
    this.name = parsed.name;
    this.defaultModel = parsed.model;
    this.baseURL = parsed.baseURL.replace(/\/+$/, '');
    this.client = new OpenAI({
      apiKey: parsed.apiKey,
      baseURL: this.baseURL,
      maxRetries: 0,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  async complete(request: LlmProviderRequest): Promise<LlmCompletion> {
    const model = request.model ?? this.defaultModel;
    const url = `${this.baseURL}/chat/completions`;
    const target = `POST ${url} (model ${model})`;
    let completion: unknown;
    try {
      // Aborted with the attempt, at its deadline too (see activities/attempt-signal.ts).
      completion = await duringAttempt((signal) => this.client.chat.completions.create({ model, messages: request.messages }, { signal }));
    } catch (err) {
      if (err instanceof APIError && !(err instanceof APIConnectionError) && err.status !== undefined) {
        throw providerFailure({
          provider: this.name,
          target,
          httpStatus: err.status,
          reason: errorReason(err),
          retryAfterMs: parseRetryAfter(err.headers?.get('retry-after') ?? null),
        });
      }
      if (err instanceof SyntaxError) {
        // The client could not parse a 200: a wrong base URL or an incompatible server.
        throw providerFailure({ provider: this.name, target, httpStatus: 200, reason: `the answer is not JSON (${err.message})`, retryable: false });
      }
      // Unreachable, reset or cancelled: nothing was answered, so another attempt may succeed.
      const cause = err instanceof APIConnectionError && err.cause ? err.cause : err;
      throw providerFailure({ provider: this.name, target, reason: networkReason(cause), retryable: true });
    }
    return parseCompletion(completion, (reason) =>
      // A 200 that is not a chat completion means a wrong base URL or an incompatible server.
      providerFailure({ provider: this.name, target, httpStatus: 200, reason, retryable: false }),
    );
  }
}

function parseCompletion(json: unknown, fail: (reason: string) => Error): LlmCompletion {
  if (typeof json === 'string') throw fail(`the answer is not JSON: ${JSON.stringify(json.slice(0, 80))}`);
  const parsed = ChatCompletionSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`the answer is not a chat completion: field "${issue?.path.join('.') || '(root)'}": ${issue?.message}`);
  }
  const c = parsed.data;
  const choice = c.choices[0]!;
  const usage = c.usage ?? null;
  return {
    // A refusal is an answer too: the agent sees it as the text.
    text: choice.message.content ?? choice.message.refusal ?? '',
    model: c.model,
    inputTokens: usage?.prompt_tokens ?? null,
    outputTokens: usage?.completion_tokens ?? null,
    totalTokens: usage ? (usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens) : null,
    finishReason: choice.finish_reason ?? null,
  };
}

function errorReason(err: APIError): string {
  // The client keeps the body's `error` object; servers that answer with plain text leave only the message.
  const parsed = ErrorBodySchema.shape.error.safeParse(err.error);
  if (parsed.success) return parsed.data.message;
  return err.message.replace(/^\d{3}\s*/, '') || `HTTP ${err.status}`;
}

function networkReason(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message} (${cause})` : e.message;
}

