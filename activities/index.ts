export { defineTool, reportResource, type ToolDefinition, type ToolSpec } from './tool';
export { currentScope } from './tool-context';
export { defineLlm, ScriptedProvider, approximateTokens, type LlmCompletion, type LlmProvider, type LlmProviderRequest, type LlmResult } from './llm';
export { OpenAiCompatibleProvider, type OpenAiProviderOptions } from './openai-provider';
export { LlmConfigError, llmProviderFromEnv, parseLlmEnv } from './llm-env';
