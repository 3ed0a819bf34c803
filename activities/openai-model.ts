/**
 * Model steps against any server that speaks OpenAI's Chat Completions API, with tool
 * calling, through the AI SDK's OpenAI-compatible provider: one request per attempt
 * (Temporal retries the step, never the SDK).
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { ModelProvider } from './model-step';
import { parseOpenAiProviderOptions, type OpenAiProviderOptions } from './openai-provider';

export class OpenAiCompatibleModelProvider implements ModelProvider {
  readonly name: string;
  readonly defaultModel: string;
  readonly baseURL: string;
  private readonly provider: ReturnType<typeof createOpenAICompatible>;

  constructor(options: OpenAiProviderOptions) {
    const parsed = parseOpenAiProviderOptions('OpenAiCompatibleModelProvider', options);
    this.name = parsed.name;
    this.defaultModel = parsed.model;
    this.baseURL = parsed.baseURL.replace(/\/+$/, '');
    this.provider = createOpenAICompatible({
      name: this.name,
      baseURL: this.baseURL,
      apiKey: parsed.apiKey,
      includeUsage: true,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  languageModel(modelId: string): LanguageModelV3 {
    return this.provider.chatModel(modelId);
  }
}
