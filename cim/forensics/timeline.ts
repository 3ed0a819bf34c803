import { naturalCompare } from '../scope-tree';
import type { ActionRecord, ScopeRecord } from '../schemas';
import { ms } from './shared';

// timeline

export type TimelineEventType = 'scope_started' | 'scope_ended' | 'action';

export interface TimelineEvent {
  at: string;
  type: TimelineEventType;
  scopeId: string;
  agent: string;
  /** The action this event is about; null for scope events. */
  actionId: string | null;
  text: string;
}

interface Pending {
  event: TimelineEvent;
  rank: number;
  scope?: ScopeRecord;
  action?: ActionRecord;
}

const RANK: Record<TimelineEventType, number> = { scope_started: 0, action: 1, scope_ended: 2 };

/**
 * A session as a story, in time order. Ties are the rule, not the exception: a
 * workflow stamps everything it does in one workflow task with that task's time, so
 * a scope's start, its delegations and its end can share one instant. Within an
 * instant the order is causal, then stable:
 * - a scope starts before its actions, and its actions come before its end;
 * - the action that created a scope (delegate, handoff) comes before that scope's start;
 * - a parent starts before, and ends after, its children at the same instant;
 * - a handed-off scope ends before the scope it handed to starts;
 * - otherwise starts, then actions (by action id), then ends; scopes by depth and id.
 * Each action appears once, at its start; its outcome is in its text.
 */
export function timeline(scopes: readonly ScopeRecord[], actions: readonly ActionRecord[]): TimelineEvent[] {
  const pending: Pending[] = [];
  for (const s of scopes) {
    pending.push({
      rank: RANK.scope_started,
      scope: s,
      event: { at: s.startedAt, type: 'scope_started', scopeId: s.scopeId, agent: s.agent, actionId: null, text: startedText(s) },
    });
    if (s.endedAt !== null) {
      pending.push({
        rank: RANK.scope_ended,
        scope: s,
        event: { at: s.endedAt, type: 'scope_ended', scopeId: s.scopeId, agent: s.agent, actionId: null, text: endedText(s) },
      });
    }
  }
  for (const a of actions) {
    pending.push({
      rank: RANK.action,
      action: a,
      event: { at: a.startedAt, type: 'action', scopeId: a.scopeId, agent: a.agent, actionId: a.actionId, text: actionText(a) },
    });
  }
  pending.sort((x, y) => ms(x.event.at) - ms(y.event.at) || baseOrder(x, y));

  const out: TimelineEvent[] = [];
  for (let i = 0; i < pending.length; ) {
    let j = i + 1;
    while (j < pending.length && ms(pending[j]!.event.at) === ms(pending[i]!.event.at)) j++;
    for (const p of causalOrder(pending.slice(i, j))) out.push(p.event);
    i = j;
  }
  return out;
}

function baseOrder(x: Pending, y: Pending): number {
  if (x.rank !== y.rank) return x.rank - y.rank;
  if (x.action && y.action) return naturalCompare(x.action.actionId, y.action.actionId);
  const a = x.scope!;
  const b = y.scope!;
  // Outer scopes open first and close last.
  const depth = x.rank === RANK.scope_started ? a.depth - b.depth : b.depth - a.depth;
  return depth || naturalCompare(a.scopeId, b.scopeId);
}

/**
 * Orders events of one instant so each comes after the events it depends on,
 * picking the earliest in base order whenever several are free (a stable
 * topological sort). Inconsistent rows could form a cycle; then the earliest
 * remaining event is taken anyway, so the result is always complete.
 */
function causalOrder(group: Pending[]): Pending[] {
  if (group.length < 2) return group;
  const started = new Map<string, number>();
  const ended = new Map<string, number>();
  group.forEach((p, i) => {
    if (p.event.type === 'scope_started') started.set(p.scope!.scopeId, i);
    if (p.event.type === 'scope_ended') ended.set(p.scope!.scopeId, i);
  });
  const after: Array<Set<number>> = group.map(() => new Set());
  /** Event `i` must come after event `dep` (either may be absent from this instant). */
  const need = (i: number | undefined, dep: number | undefined) => {
    if (i !== undefined && dep !== undefined && dep !== i) after[i]!.add(dep);
  };
  group.forEach((p, i) => {
    if (p.action) {
      need(i, started.get(p.action.scopeId));
      need(ended.get(p.action.scopeId), i);
      if (p.action.targetScopeId !== null) need(started.get(p.action.targetScopeId), i);
      return;
    }
    const s = p.scope!;
    if (p.event.type === 'scope_started') {
      need(i, s.parentScopeId === null ? undefined : started.get(s.parentScopeId));
      need(i, s.handoffFromScopeId === null ? undefined : ended.get(s.handoffFromScopeId));
    } else {
      need(i, started.get(s.scopeId));
      if (s.parentScopeId !== null) need(ended.get(s.parentScopeId), i);
    }
  });
  const done = new Set<number>();
  const out: Pending[] = [];
  while (out.length < group.length) {
    const remaining = group.map((_, i) => i).filter((i) => !done.has(i));
    const chosen = remaining.find((i) => [...after[i]!].every((d) => done.has(d))) ?? remaining[0]!;
    done.add(chosen);
    out.push(group[chosen]!);
  }
  return out;
}

function startedText(s: ScopeRecord): string {
  const how =
    s.kind === 'delegation'
      ? `delegated by ${s.delegatedBy ?? 'an unknown agent'}`
      : s.kind === 'handoff'
        ? `handed off from ${s.handoffFromScopeId ?? 'an unknown scope'}`
        : 'root';
  return `${s.agent}@${s.agentVersion} started (${how})${s.objective ? `: ${s.objective}` : ''}`;
}

function endedText(s: ScopeRecord): string {
  return `${s.agent} ended ${s.status}${s.recovered ? ' (recovered)' : ''}${s.error ? `: ${s.error}` : ''}`;
}

function actionText(a: ActionRecord): string {
  const outcome = `${a.status}${a.error ? `: ${a.error}` : ''}`;
  switch (a.kind) {
    case 'delegate':
      return `delegated to ${a.name}${a.targetScopeId ? ` (${a.targetScopeId})` : ''} → ${outcome}`;
    case 'handoff':
      // A handoff that went ahead needs no outcome; one that did not must not read as if it did.
      return `handed off to ${a.name}${a.targetScopeId ? ` (${a.targetScopeId})` : ''}${a.status === 'success' ? '' : ` → ${outcome}`}`;
    case 'budget_exceeded':
      return `exceeded budget ${a.name}${budgetFigures(a) ?? (a.error ? `: ${a.error}` : '')}`;
    case 'signal':
      return `received signal ${a.name} → ${outcome}`;
    case 'denied':
      return `refused ${a.name}: ${a.error ?? 'outside the allowance'}`;
    default: {
      const attempt = a.attempt > 1 ? ` (attempt ${a.attempt})` : '';
      const touched = a.resources.length ? ` [${a.resources.map((r) => `${r.mode} ${r.uri}`).join(', ')}]` : '';
      return `${a.kind === 'llm_call' ? 'LLM call' : 'called'} ${a.name}${attempt}${touched} → ${outcome}`;
    }
  }
}

/**
 * The limit and what was used, from the attributes the overrun was recorded with
 * (workflows/budget.ts): a wall-time limit is a deadline. Undefined when the row does not
 * hold them; its error then says what ran out.
 */
function budgetFigures(a: ActionRecord): string | undefined {
  const { limit, usedTurns, usedTokens } = a.attributes;
  if (a.name === 'wall_time') return typeof limit === 'string' ? ` (deadline ${limit} passed)` : undefined;
  const used = a.name === 'turns' ? usedTurns : a.name === 'tokens' ? usedTokens : undefined;
  if (typeof limit !== 'number' || typeof used !== 'number') return undefined;
  return ` (limit ${limit}, used ${used})`;
}
