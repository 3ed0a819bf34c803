/**
 * One tool per name on a worker: Temporal registers activities by name, so a second tool
 * of a name would silently replace the first. Checked with the other options, so the error
 * names the function the user called (`context`) and the second tool's place.
 */
import type { ToolDefinition } from '../activities/tool';
import { LLM_ACTIVITY_TYPES } from '../cim/names';
import { ScopetrailConfigError } from '../cim/errors';

export function checkToolNames(tools: readonly ToolDefinition<any, any>[], context: string): void {
  const seen = new Map<string, ToolDefinition<any, any>>();
  tools.forEach((t, i) => {
    const name = t.spec.name;
    // The same definition listed twice (a module's tools and its array of them) is one tool.
    const other = seen.get(name);
    if (LLM_ACTIVITY_TYPES.has(name) || (other !== undefined && other !== t)) {
      const taken = LLM_ACTIVITY_TYPES.has(name) ? ', a name the model call activity has on every worker' : '';
      throw new ScopetrailConfigError(`${context}: invalid field "tools.${i}": two tools are named "${name}"${taken}`, `tools.${i}`);
    }
    seen.set(name, t);
  });
}
