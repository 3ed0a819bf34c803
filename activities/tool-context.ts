/** The attempt a tool is running in, visible to the tool's own code through AsyncLocalStorage. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ApplicationFailure } from '@temporalio/common';
import type { ResourceRef, ScopeContext } from '../cim/schemas';

export interface ToolRun {
  scope: ScopeContext;
  attempt: number;
  resources: ResourceRef[];
  /** Facts the activity reports about itself (an LLM call's model and token usage). */
  attributes: Record<string, string | number | boolean | null>;
  /** Resources refused because they lie outside the scope's allowance. */
  refused: ResourceRef[];
}

export const SCOPE_DENIED = 'ScopeDenied';

/** Refusal is final for this scope: retrying cannot widen an allowance, so it is non-retryable. */
export function scopeDenied(scope: ScopeContext, refused: readonly ResourceRef[]): ApplicationFailure {
  const what = refused.map((r) => `${r.mode} ${r.uri}`).join(', ');
  const allowance = scope.allowance === null ? 'unrestricted' : scope.allowance.length ? scope.allowance.join(', ') : 'nothing';
  return ApplicationFailure.create({
    type: SCOPE_DENIED,
    nonRetryable: true,
    message: `${scope.agent} in scope ${scope.scopeId} may not ${what} (its allowance: ${allowance})`,
    details: [{ scopeId: scope.scopeId, refused }],
  });
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
