import { naturalCompare } from '../scope-tree';
import type { ActionRecord, ScopeRecord } from '../schemas';
import { ms, isFailedAttempt } from './shared';

// calls and chains

/**
 * One tool or LLM call: every attempt Temporal made of one activity. Refusals
 * (kind `denied`) are included because a refusal is how a tool call ends when the
 * scope may not touch its resources.
 */
export interface ToolCall {
  scopeId: string;
  /** Null for an attempt that cannot be grouped (a refusal recorded without an activity id). */
  activityId: string | null;
  /** Every attempt, by attempt number. */
  attempts: ActionRecord[];
  first: ActionRecord;
  final: ActionRecord;
  /** The final attempt failed: the call as a whole failed. */
  failed: boolean;
  /** Some attempt failed but the final one succeeded: a retry absorbed the failure. */
  recovered: boolean;
}

export const CALL_KINDS: ReadonlySet<ActionRecord['kind']> = new Set(['tool_call', 'llm_call', 'denied']);

/**
 * Groups attempts into calls by (scopeId, activityId). Temporal retries an activity
 * under the same activity id, so that pair is exactly "one call"; the scope is part
 * of the key because activity ids are only unique within a workflow run. An attempt
 * without an activity id (a refusal can be recorded without one) has nothing to
 * group by and is a call of its own. Calls come back in the order they started.
 */
export function groupCalls(actions: readonly ActionRecord[]): ToolCall[] {
  const groups = new Map<string, ActionRecord[]>();
  for (const a of actions) {
    if (!CALL_KINDS.has(a.kind)) continue;
    const key = a.activityId === null ? `action\u0000${a.actionId}` : `call\u0000${a.scopeId}\u0000${a.activityId}`;
    const group = groups.get(key);
    if (group) group.push(a);
    else groups.set(key, [a]);
  }
  const calls: ToolCall[] = [];
  for (const group of groups.values()) {
    const attempts = [...group].sort(
      (x, y) => x.attempt - y.attempt || ms(x.startedAt) - ms(y.startedAt) || naturalCompare(x.actionId, y.actionId),
    );
    const first = attempts[0]!;
    const final = attempts[attempts.length - 1]!;
    calls.push({
      scopeId: first.scopeId,
      activityId: first.activityId,
      attempts,
      first,
      final,
      failed: isFailedAttempt(final),
      recovered: final.status === 'success' && attempts.some(isFailedAttempt),
    });
  }
  return calls.sort(
    (x, y) =>
      ms(x.first.startedAt) - ms(y.first.startedAt) ||
      naturalCompare(x.scopeId, y.scopeId) ||
      naturalCompare(x.first.actionId, y.first.actionId),
  );
}

export type ChainLink = 'delegation' | 'handoff';

export interface ScopeChain {
  /** From the given scope up to the top of the session. */
  chain: ScopeRecord[];
  /** `links[i]` is how `chain[i]` got its mandate from `chain[i + 1]`. */
  links: ChainLink[];
}

/**
 * The line of authority from a scope to the session's root. A delegation points at
 * its delegator (`parentScopeId`). A handoff scope's authority came sideways from the
 * scope it took over from, so the walk continues there and says so — also inside a
 * delegation, where the handoff scope shares that scope's delegator: going through the
 * scope that handed off shows the whole chain, delegation included. When the scope it
 * took over from is missing, the walk goes to its parent. The walk stops at a scope
 * with neither, at a missing row, or on a cycle (corrupt rows must not hang a query).
 */
export function scopeChain(scope: ScopeRecord, scopes: readonly ScopeRecord[]): ScopeChain {
  const byId = new Map(scopes.map((s) => [s.scopeId, s]));
  const chain = [scope];
  const links: ChainLink[] = [];
  const seen = new Set([scope.scopeId]);
  let current = scope;
  for (;;) {
    const from = current.handoffFromScopeId === null ? undefined : byId.get(current.handoffFromScopeId);
    const [next, link]: [ScopeRecord | undefined, ChainLink] =
      from && current.kind === 'handoff'
        ? [from, 'handoff']
        : current.parentScopeId !== null
          ? [byId.get(current.parentScopeId), 'delegation']
          : [undefined, 'delegation'];
    if (!next || seen.has(next.scopeId)) break;
    chain.push(next);
    links.push(link);
    seen.add(next.scopeId);
    current = next;
  }
  return { chain, links };
}

/**
 * Attempts whose success never reached Temporal. Temporal starts another attempt of a call
 * only after the one before failed or timed out, so an attempt recorded a success that has a
 * later attempt did run to the end (its worker recorded the tool's result), but Temporal did
 * not hear of it before the attempt's deadline: the worker died, or the server could not be
 * reached, in between. Temporal timed the attempt out and ran the tool again, so its work was
 * done twice; history keeps only the last attempt, whose result the agent got. Reconcile
 * accepts any end for such an attempt (history does not say how it ended); this names it
 * for people, to whom "success, then retried" reads as a contradiction. Action ids.
 */
export function lostResults(actions: readonly ActionRecord[]): Set<string> {
  const lost = new Set<string>();
  for (const call of groupCalls(actions)) {
    for (const a of call.attempts) if (a !== call.final && a.status === 'success' && a.attempt < call.final.attempt) lost.add(a.actionId);
  }
  return lost;
}

/** What the text for people says of such an attempt. */
export const LOST_RESULT_NOTE = 'its result never reached Temporal, which ran the call again';
