/**
 * Which LLM provider a worker uses, from the environment:
 *
 *   SCOPETRAIL_LLM_PROVIDER   scripted (default) | openai
 *   OPENAI_API_KEY            required for openai (any non-empty value for a server that checks none)
 *   OPENAI_BASE_URL           an OpenAI-compatible endpoint (default https://api.openai.com/v1)
 *   SCOPETRAIL_LLM_MODEL      the model used when a call names none (default gpt-4o-mini)
 *
 * Checked once, when the worker starts: a bad variable stops it with the variable named,
 * instead of failing every llm() call later.
 */
import { ScopetrailError } from '../cim/errors';
import { z } from 'zod';
import { ScriptedProvider, type LlmProvider } from './llm';
import { DEFAULT_OPENAI_BASE_URL, OpenAiCompatibleProvider } from './openai-provider';
import type { ModelProvider } from './model-step';
import { ScriptedModelProvider } from './scripted-model';
import { OpenAiCompatibleModelProvider } from './openai-model';

export const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';

/** An empty variable (`FOO=`) counts as unset, as most shells and .env files mean it. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema);

const ProviderSchema = z.object({
  SCOPETRAIL_LLM_PROVIDER: unsetIfEmpty(z.enum(['scripted', 'openai'], { error: 'use scripted or openai' }).default('scripted')),
});

// Checked only when the openai provider is chosen: other programs read OPENAI_* too.
const OpenAiEnvSchema = z.object({
  OPENAI_API_KEY: unsetIfEmpty(
    z.string({ error: 'required when SCOPETRAIL_LLM_PROVIDER=openai (any non-empty value for a server that checks none)' }),
  ),
  OPENAI_BASE_URL: unsetIfEmpty(
    z.url({ protocol: /^https?$/, error: 'give an http(s) URL, e.g. http://127.0.0.1:8000/v1' }).default(DEFAULT_OPENAI_BASE_URL),
  ),
  SCOPETRAIL_LLM_MODEL: unsetIfEmpty(
    z.string().max(200, 'at most 200 characters').regex(/^\S+$/, 'must not contain whitespace').default(DEFAULT_OPENAI_MODEL),
  ),
});

export type LlmEnv =
  | { provider: 'scripted' }
  | { provider: 'openai'; apiKey: string; baseURL: string; model: string };

export class LlmConfigError extends ScopetrailError {
  constructor(message: string, field: string | null = null) {
    super(message, field);
    this.name = 'LlmConfigError';
  }
}

/** Reads the LLM settings; the error names the first bad variable (never the key's value). */
export function parseLlmEnv(env: Record<string, string | undefined> = process.env): LlmEnv {
  const { SCOPETRAIL_LLM_PROVIDER: provider } = check(ProviderSchema, env);
  if (provider === 'scripted') return { provider };
  const e = check(OpenAiEnvSchema, env);
  return { provider, apiKey: e.OPENAI_API_KEY, baseURL: e.OPENAI_BASE_URL, model: e.SCOPETRAIL_LLM_MODEL };
}

function check<T extends z.ZodObject>(schema: T, env: Record<string, string | undefined>): z.output<T> {
  const names = Object.keys(schema.shape);
  const parsed = schema.safeParse(Object.fromEntries(names.map((n) => [n, env[n]])));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = String(issue?.path[0] ?? names[0]);
  const shown = name === 'OPENAI_API_KEY' || env[name] === undefined ? '' : `=${JSON.stringify(env[name])}`;
  throw new LlmConfigError(`invalid environment variable ${name}${shown}: ${issue?.message ?? 'invalid'}`, name);
}

export interface LlmFromEnvOptions {
  /** The scripted provider to use when none is configured (default: one with no scripts). */
  scripted?: () => LlmProvider;
  /** The HTTP client of the openai provider (default: the global fetch). */
  fetch?: typeof fetch;
}

export function llmProviderFromEnv(env: Record<string, string | undefined> = process.env, options: LlmFromEnvOptions = {}): LlmProvider {
  const config = parseLlmEnv(env);
  if (config.provider === 'scripted') return options.scripted?.() ?? new ScriptedProvider();
  return new OpenAiCompatibleProvider({ apiKey: config.apiKey, baseURL: config.baseURL, model: config.model, fetch: options.fetch });
}

export interface ModelFromEnvOptions {
  /** The scripted model to use when no provider is configured (default: one with no scripts). */
  scripted?: () => ModelProvider;
  fetch?: typeof fetch;
}

/** The provider of model-driven agents' steps, from the same variables as the `llm` activity's. */
export function modelProviderFromEnv(env: Record<string, string | undefined> = process.env, options: ModelFromEnvOptions = {}): ModelProvider {
  const config = parseLlmEnv(env);
  if (config.provider === 'scripted') return options.scripted?.() ?? new ScriptedModelProvider();
  return new OpenAiCompatibleModelProvider({ apiKey: config.apiKey, baseURL: config.baseURL, model: config.model, fetch: options.fetch });
}

/** One line for a startup banner: which provider and model, and where (never the key). */
export function describeLlmProvider(provider: LlmProvider): string {
  const where = provider instanceof OpenAiCompatibleProvider ? ` at ${provider.baseURL}` : '';
  return `${provider.name} (default model ${provider.defaultModel})${where}`;
}
