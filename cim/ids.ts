/**
 * Deterministic identifiers. Scope and action ids are derived from values that are
 * identical on every replay of a workflow (scope id, per-scope counters, activity id,
 * attempt), so a replay that re-emits a record upserts the same row instead of adding one.
 */

/** The scope of a session's first run is the session itself. */
export function rootScopeId(sessionId: string): string {
  return sessionId;
}

/** The n-th child started by a scope (1-based); also the child workflow's id. */
export function childScopeId(parentScopeId: string, n: number): string {
  return `${parentScopeId}.${n}`;
}

/**
 * A handoff keeps the workflow id and starts a new run; its scope id adds the
 * position in that continue-as-new chain so each lateral scope stays distinct.
 */
export function handoffScopeId(workflowId: string, handoffIndex: number): string {
  return `${workflowId}~${handoffIndex}`;
}

export function rootPath(scopeId: string): string {
  return `/${scopeId}/`;
}

export function childPath(parentPath: string, scopeId: string): string {
  return `${parentPath}${scopeId}/`;
}

/**
 * The path of a scope that takes over from `from` by handoff. Inside a delegation the
 * new scope still works for the delegator (its result is what the delegation returns),
 * so it sits beside `from` under the same delegator; at the top of a session there is
 * no delegator and the new scope starts a path of its own.
 */
export function handoffPath(from: { scopeId: string; parentScopeId: string | null; path: string }, scopeId: string): string {
  if (from.parentScopeId === null) return rootPath(scopeId);
  const own = `${from.scopeId}/`;
  const parentPath = from.path.endsWith(own) ? from.path.slice(0, -own.length) : `/${from.parentScopeId}/`;
  return childPath(parentPath, scopeId);
}

/** Workflow-side actions (delegate, handoff, signal) are numbered per scope. */
export function workflowActionId(scopeId: string, seq: number): string {
  return `${scopeId}/w${seq}`;
}

/**
 * An activity's id within its scope. Temporal's activity ids restart in every workflow
 * run, so a scope that continued-as-new into a later run (`run` > 0, see
 * ScopeContext.continuation) qualifies them with the run's number: attempts of one call
 * still group together, and calls of different runs never do.
 */
export function scopedActivityId(activityId: string, run = 0): string {
  return run > 0 ? `r${run}.${activityId}` : activityId;
}

/** One row per attempt of an activity (its id as scopedActivityId gives it). */
export function activityActionId(scopeId: string, activityId: string, attempt: number): string {
  return `${scopeId}/a${activityId}#${attempt}`;
}
