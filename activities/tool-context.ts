/** The attempt a tool is running in, visible to the tool's own code through AsyncLocalStorage. */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ResourceRef, ScopeContext } from '../cim/schemas';

export interface ToolRun {
  scope: ScopeContext;
  attempt: number;
  resources: ResourceRef[];
  /** Facts the activity reports about itself (an LLM call's model and token usage). */
  attributes: Record<string, string | number | boolean | null>;
}

const storage = new AsyncLocalStorage<ToolRun>();

export function runWithToolRun<T>(run: ToolRun, fn: () => Promise<T>): Promise<T> {
  return storage.run(run, fn);
}

export function currentToolRun(): ToolRun | undefined {
  return storage.getStore();
}

/** The delegation scope the current tool call runs under (for tools that log or route by scope). */
export function currentScope(): ScopeContext | undefined {
  return storage.getStore()?.scope;
}
