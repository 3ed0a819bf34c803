/** The sandbox-safe API agents are written with. Nothing here performs I/O. */
export { defineAgent, type AgentWorkflow, type AgentInput, type AgentOutput } from './agent';
export { delegate, DelegationError, type DelegateOptions } from './delegate';
export { useTools, useLocalTools, type ToolCallers, type UseToolsOptions, type UseLocalToolsOptions, type ToolTypes } from './tools';
export { handoff, checkpoint, requestedHandoff, type HandoffOptions } from './handoff';
export { llm, type LlmMessage, type LlmCallOptions } from './llm';
export { continueInScope, continueAsNewSuggested } from './continuation';
