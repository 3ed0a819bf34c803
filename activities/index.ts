export { defineTool, reportResource, type ToolDefinition, type ToolSpec } from './tool';
export { currentScope } from './tool-context';
