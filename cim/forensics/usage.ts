/**
 * What roles, drift and agent health need from a whole namespace, as grouped counts
 * rather than rows. The store computes it with GROUP BY (its size depends on how many
 * agents, versions and tools there are, not on how many actions ran), and `usageOf`
 * computes the same from rows, so the rules are tested on plain records and run on
 * aggregates at any scale.
 */
import type { ActionKind, ActionRecord, ScopeKind, ScopeRecord, ScopeStatus } from '../schemas';
import { CALL_KINDS, groupCalls } from './calls';
import { isFailedAttempt } from './shared';
import { naturalCompare } from '../scope-tree';

export interface ScopeGroup {
  agent: string;
  agentVersion: string;
  kind: ScopeKind;
  delegatedBy: string | null;
  status: ScopeStatus;
  recovered: boolean;
  /** The build of the worker that wrote the scope's row (null: unversioned or not recorded). */
  workerBuildId: string | null;
  count: number;
}

/** Actions by the agent that did them and its scope's version (null when the scope row is missing). */
export interface ActionGroup {
  agent: string;
  agentVersion: string | null;
  kind: ActionKind;
  name: string;
  /** The build of the worker that did it (null: unversioned or not recorded). */
  workerBuildId: string | null;
  count: number;
}

/** Delegation scopes by their own agent and version and their parent scope's. */
export interface EdgeGroup {
  parentAgent: string;
  parentVersion: string;
  childAgent: string;
  childVersion: string;
  count: number;
}

/** Delegation scopes with no `delegate` action pointing at them (the delegator's record is missing). */
export interface UnmatchedDelegation {
  delegatedBy: string;
  agent: string;
  count: number;
}

/** Tool and LLM calls (all attempts of one activity are one call) by the agent and version that made them. */
export interface CallGroup {
  agent: string;
  agentVersion: string;
  calls: number;
  failedCalls: number;
  failedAttempts: number;
}

export interface AgentUsage {
  scopes: ScopeGroup[];
  actions: ActionGroup[];
  edges: EdgeGroup[];
  unmatched: UnmatchedDelegation[];
  calls: CallGroup[];
}

export type UsageFacet = 'scopes' | 'actions' | 'edges' | 'unmatched' | 'calls';

/** One key whose rolled-up counts differ from a recount of its sealed scopes' rows. */
export interface UsageDifference {
  /** The month of session start (ISO), as the rollup files it. */
  month: string;
  facet: UsageFacet;
  /** The facet's key parts in the rollup's order, '' for an empty one (usageKeyText names them). */
  keys: string[];
  /** The counts: scopes, actions, edges and unmatched have one; calls have calls, failed calls and failed attempts. */
  stored: [number, number, number];
  recounted: [number, number, number];
}

/** What a usage key counts, for people: the facet's key parts named as roles and drift name them. */
export function usageKeyText(facet: UsageFacet, keys: readonly string[]): string {
  const [k1 = '', k2 = '', k3 = '', k4 = '', k5 = '', k6 = '', k7 = ''] = keys;
  const build = (id: string) => (id ? ` build ${id}` : '');
  switch (facet) {
    case 'scopes':
      return `${k1}@${k2} ${k3} scopes${k4 ? ` delegated by ${k4}` : ''}, ${k5}${k6 === 'true' ? ' (recovered)' : ''}${build(k7)}`;
    case 'actions':
      return `${k1}@${k2 || '?'} ${k3} ${k4}${build(k5)}`;
    case 'edges':
      return `${k1}@${k2} delegated to ${k3}@${k4}`;
    case 'unmatched':
      return `${k1} delegated to ${k2} without a delegate action`;
    case 'calls':
      return `${k1}@${k2} calls / failed calls / failed attempts`;
  }
}

function countBy<T extends { count: number }>(items: Iterable<Omit<T, 'count'>>): T[] {
  const groups = new Map<string, T>();
  for (const item of items) {
    const key = JSON.stringify(Object.values(item));
    const g = groups.get(key);
    if (g) g.count += 1;
    else groups.set(key, { ...item, count: 1 } as T);
  }
  return [...groups.values()];
}

export function usageOf(scopes: readonly ScopeRecord[], actions: readonly ActionRecord[]): AgentUsage {
  const byId = new Map(scopes.map((s) => [s.scopeId, s]));
  const targets = new Set(actions.filter((a) => a.kind === 'delegate' && a.targetScopeId !== null).map((a) => a.targetScopeId!));
  const calls = new Map<string, CallGroup>();
  for (const call of groupCalls(actions)) {
    const scope = byId.get(call.scopeId);
    if (!scope) continue;
    const key = `${scope.agent}\u0000${scope.agentVersion}`;
    const g = calls.get(key) ?? { agent: scope.agent, agentVersion: scope.agentVersion, calls: 0, failedCalls: 0, failedAttempts: 0 };
    g.calls += 1;
    if (call.failed) g.failedCalls += 1;
    g.failedAttempts += call.attempts.filter(isFailedAttempt).length;
    calls.set(key, g);
  }
  return {
    scopes: countBy<ScopeGroup>(
      scopes.map((s) => ({ agent: s.agent, agentVersion: s.agentVersion, kind: s.kind, delegatedBy: s.delegatedBy, status: s.status, recovered: s.recovered, workerBuildId: s.workerBuildId ?? null })),
    ),
    actions: countBy<ActionGroup>(
      actions.map((a) => ({
        agent: a.agent,
        agentVersion: byId.get(a.scopeId)?.agentVersion ?? null,
        kind: a.kind,
        name: a.name,
        workerBuildId: a.workerBuildId ?? null,
      })),
    ),
    edges: countBy<EdgeGroup>(
      scopes.flatMap((s) => {
        const p = s.kind === 'delegation' && s.parentScopeId !== null ? byId.get(s.parentScopeId) : undefined;
        return p ? [{ parentAgent: p.agent, parentVersion: p.agentVersion, childAgent: s.agent, childVersion: s.agentVersion }] : [];
      }),
    ),
    unmatched: countBy<UnmatchedDelegation>(
      scopes
        .filter((s) => s.kind === 'delegation' && s.delegatedBy !== null && !targets.has(s.scopeId))
        .map((s) => ({ delegatedBy: s.delegatedBy!, agent: s.agent })),
    ),
    calls: [...calls.values()],
  };
}

/**
 * The worker builds that ran one agent version: those that wrote its scopes and those that
 * did its actions (an activity runs on whichever worker polls it), in natural order.
 */
export function buildsOf(usage: Pick<AgentUsage, 'scopes' | 'actions'>, agent: string, version: string): string[] {
  const builds = new Set<string>();
  for (const g of [...usage.scopes, ...usage.actions]) {
    if (g.agent === agent && g.agentVersion === version && g.workerBuildId !== null) builds.add(g.workerBuildId);
  }
  return [...builds].sort(naturalCompare);
}

/** Sums of groups matching `where`. */
export function total<T extends { count: number }>(groups: readonly T[], where: (g: T) => boolean): number {
  return groups.reduce((n, g) => (where(g) ? n + g.count : n), 0);
}

export function isCallKind(kind: ActionKind): boolean {
  return CALL_KINDS.has(kind);
}
