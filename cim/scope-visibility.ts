/**
 * What a scope publishes to Temporal's visibility: three Keyword search attributes (ids
 * only, since search attributes bypass the payload codec) and the `scopetrail.scope`
 * memo (encoded by it). Whoever starts a scope's run sets both in the start itself (the
 * client for a root, the delegator for a child, the handing-off run for a handoff), so
 * the run needs no upsert of its own: two commands, two history events and two
 * visibility updates fewer per scope. A run started any other way (a raw Temporal start,
 * a workflow type that differs from the agent's name) still finds them missing or stale
 * and upserts them. Pure: used in workflow code and in the client.
 */
import { SearchAttributeType, defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import type { ScopeContext } from './scope-context';

export const SESSION_KEY = defineSearchAttributeKey('ScopetrailSession', SearchAttributeType.KEYWORD);
export const SCOPE_KEY = defineSearchAttributeKey('ScopetrailScope', SearchAttributeType.KEYWORD);
export const AGENT_KEY = defineSearchAttributeKey('ScopetrailAgent', SearchAttributeType.KEYWORD);

/** The scope fields the memo shows: all known to whoever starts the run. */
export type ScopeMemoFields = Pick<ScopeContext, 'sessionId' | 'scopeId' | 'kind' | 'parentScopeId' | 'handoffFromScopeId' | 'agent' | 'delegatedBy'>;

export interface ScopeMemo extends ScopeMemoFields {
  objective: string | null;
}

export function scopeMemo(scope: ScopeMemoFields, objective: string | null): ScopeMemo {
  return {
    sessionId: scope.sessionId,
    scopeId: scope.scopeId,
    kind: scope.kind,
    parentScopeId: scope.parentScopeId,
    handoffFromScopeId: scope.handoffFromScopeId,
    agent: scope.agent,
    delegatedBy: scope.delegatedBy,
    objective,
  };
}

export function scopeSearchAttributes(scope: Pick<ScopeContext, 'sessionId' | 'scopeId' | 'agent'>): SearchAttributePair[] {
  return [
    { key: SESSION_KEY, value: scope.sessionId },
    { key: SCOPE_KEY, value: scope.scopeId },
    { key: AGENT_KEY, value: scope.agent },
  ];
}

/** Whether a run's memo entry already is this memo (as decoded from the run's start). */
export function sameScopeMemo(found: unknown, want: ScopeMemo): boolean {
  if (typeof found !== 'object' || found === null) return false;
  const f = found as Record<string, unknown>;
  const keys = Object.keys(want) as Array<keyof ScopeMemo>;
  return Object.keys(f).length === keys.length && keys.every((k) => f[k] === want[k]);
}
