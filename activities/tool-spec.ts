/**
 * What a model is told about a scopetrail tool: its description and its input as JSON
 * Schema. The model step computes it for the tools of its own worker; a worker that serves
 * tools registers the same in the store, for model steps on workers that do not define them.
 */
import { z } from 'zod';
import type { ToolDefinition } from './tool';

export interface DescribedTool {
  description?: string;
  inputSchema: Record<string, unknown>;
}

export function describeTool(tool: ToolDefinition<any, any>): DescribedTool {
  let inputSchema: Record<string, unknown> = { type: 'object' };
  if (tool.spec.input) {
    try {
      inputSchema = z.toJSONSchema(tool.spec.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    } catch {
      // A schema JSON Schema cannot express is still checked by the tool itself when called.
    }
  }
  return { ...(tool.spec.description !== undefined ? { description: tool.spec.description } : {}), inputSchema };
}
