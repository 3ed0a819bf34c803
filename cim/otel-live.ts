/**
 * Which GenAI spans a committed batch of records makes, for the worker's live export.
 * The spans come from sessionToGenAiSpans itself, one record at a time, so a live span
 * and the post-hoc export's span of the same record are the same span: same ids, same
 * attributes, same times.
 *
 * A finished tool or LLM attempt is complete on its own and becomes a span at once. A
 * scope's span also carries its delegate/handoff/signal events, which may have been
 * recorded by other workers, so it is built from the store once the scope has ended.
 */
import type { ActionRecord, ScopeRecord } from './schemas';
import { EVENT_ACTION_KINDS, sessionToGenAiSpans, type GenAiMappingOptions, type GenAiSpan } from './otel-genai';

export interface CommittedRecords {
  scopes?: readonly ScopeRecord[];
  actions?: readonly ActionRecord[];
  gaps?: readonly ActionRecord[];
}

export interface ScopeRef {
  namespace: string;
  scopeId: string;
}

export interface LiveSpanWork {
  /** Finished attempts whose committed record is what the store now holds: spans right away. */
  actions: ActionRecord[];
  /** Scopes that ended: their span is built from the stored scope and its event actions. */
  endedScopes: ScopeRef[];
  /**
   * Attempts closed by a gap record. The store merges a gap into the running row (and
   * ignores it for a finished one), so the span is built from the stored row.
   */
  gapActions: Array<ScopeRef & { actionIds: string[] }>;
}

export const isFinished = (r: { status: string }) => r.status !== 'running';

/** An action that is a span of its own (a tool, LLM or refused call), not an event on its scope's span. */
export const isSpanAction = (a: ActionRecord) => !EVENT_ACTION_KINDS.has(a.kind);

export function liveSpanWork(batch: CommittedRecords): LiveSpanWork {
  const gapIds = new Set((batch.gaps ?? []).map((g) => `${g.namespace}\u0000${g.actionId}`));
  const actions = new Map<string, ActionRecord>();
  for (const a of batch.actions ?? []) {
    const key = `${a.namespace}\u0000${a.actionId}`;
    // A gap in the same batch is written after the actions and may merge into this row.
    if (!isFinished(a) || !isSpanAction(a) || gapIds.has(key)) continue;
    // Within a batch the store keeps the last finished copy; so does this.
    actions.set(key, a);
  }
  const endedScopes = new Map<string, ScopeRef>();
  for (const s of batch.scopes ?? []) {
    if (isFinished(s)) endedScopes.set(`${s.namespace}\u0000${s.scopeId}`, { namespace: s.namespace, scopeId: s.scopeId });
  }
  const gapActions = new Map<string, ScopeRef & { actionIds: string[] }>();
  for (const g of batch.gaps ?? []) {
    if (!isFinished(g) || !isSpanAction(g)) continue;
    const key = `${g.namespace}\u0000${g.scopeId}`;
    const entry = gapActions.get(key) ?? { namespace: g.namespace, scopeId: g.scopeId, actionIds: [] };
    if (!entry.actionIds.includes(g.actionId)) entry.actionIds.push(g.actionId);
    gapActions.set(key, entry);
  }
  return { actions: [...actions.values()], endedScopes: [...endedScopes.values()], gapActions: [...gapActions.values()] };
}

/** The span of one finished tool, LLM or refused call, exactly as the post-hoc export maps it. */
export function actionSpan(action: ActionRecord, options: GenAiMappingOptions): GenAiSpan {
  if (!isFinished(action) || !isSpanAction(action)) {
    throw new Error(`action ${action.actionId} (${action.kind}, ${action.status}) is not a finished call; it has no span of its own yet`);
  }
  return sessionToGenAiSpans(action.sessionId, [], [action], options).spans[0]!;
}

/**
 * The span of an ended scope, from the stored scope and the scope's own actions (the
 * event kinds among them become its events, as in the post-hoc export).
 */
export function scopeSpan(scope: ScopeRecord, ownActions: readonly ActionRecord[], options: GenAiMappingOptions): GenAiSpan {
  if (!isFinished(scope)) throw new Error(`scope ${scope.scopeId} is still running; its span is made when it ends`);
  const events = ownActions.filter((a) => a.scopeId === scope.scopeId && !isSpanAction(a));
  return sessionToGenAiSpans(scope.sessionId, [scope], events, options).spans[0]!;
}
