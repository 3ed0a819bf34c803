export { defineTool, reportResource, type ToolDefinition, type ToolSpec } from './tool';
export { currentScope } from './tool-context';
export { defineLlm, ScriptedProvider, type LlmProvider, type LlmProviderRequest, type LlmResult } from './llm';
