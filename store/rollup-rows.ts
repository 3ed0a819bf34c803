/**
 * The rollup rows of scopes being sealed, computed from the records the sealer has just
 * hashed instead of reading their rows again: those records are exactly what reading the
 * rows back gives (store/seal-source.ts), and the scopes are locked by the sealing
 * transaction. The two facts that live in other rows (a delegation's parent, and whether
 * a `delegate` action points at it) are read with the scopes (seal.ts); when they may
 * still change, usage-pending.ts keeps track of them. Keys and counts
 * are those of `facetsSql` in usage-rollup.ts, which counts the scopes not sealed yet.
 */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import { monthOf } from './partitions';

export interface SealedScope {
  scope: ScopeRecord;
  /** What every action its chain covers adds (tallyActions). */
  tally: ActionTally;
  /** Its row's partition key: the rollup is kept by month of session start. */
  sessionStartedAt: string;
  /** A delegation's parent scope row (same session), if there is one, and whether it is sealed. */
  parent: { agent: string; agentVersion: string; sealed: boolean } | null;
  /** Whether a `delegate` action in the namespace points at this scope. */
  delegated: boolean;
}

/** month (ISO), facet, k1..k7, n1, n2, n3: one row per key, ready for one upsert. */
export type RollupRow = [string, string, string, string, string, string, string, string, string, number, number, number];

const CALL_KINDS = new Set(['tool_call', 'llm_call', 'denied']);
const failed = (status: string) => status === 'error' || status === 'denied';

/** The final attempt of a call as the SQL picks it: highest attempt, then latest start, then highest id. */
function later(a: ActionRecord, b: ActionRecord): boolean {
  if (a.attempt !== b.attempt) return a.attempt > b.attempt;
  const at = Date.parse(a.startedAt) - Date.parse(b.startedAt);
  if (at !== 0) return at > 0;
  return a.actionId > b.actionId;
}

/**
 * What one scope's actions add to the rollup, apart from the scope's own fields (its agent
 * version is a key of the action counts, added by rollupRows). Counted when the actions
 * are hashed, so the sealer keeps these few numbers per scope, not the records, until the
 * seals are confirmed and written.
 */
export interface ActionTally {
  /** Actions by agent, kind, name and worker build. */
  actions: Array<{ agent: string; kind: string; name: string; build: string; count: number }>;
  /** Calls (every attempt of one activity, cim/forensics/calls.ts), those whose final attempt failed, and failed attempts. */
  calls: number;
  failedCalls: number;
  failedAttempts: number;
}

export function tallyActions(actions: readonly ActionRecord[]): ActionTally {
  const byKey = new Map<string, ActionTally['actions'][number]>();
  const calls = new Map<string, { final: ActionRecord; failedAttempts: number }>();
  for (const a of actions) {
    const build = a.workerBuildId ?? '';
    const k = `${a.agent}\u0000${a.kind}\u0000${a.name}\u0000${build}`;
    const counted = byKey.get(k);
    if (counted) counted.count += 1;
    else byKey.set(k, { agent: a.agent, kind: a.kind, name: a.name, build, count: 1 });
    if (!CALL_KINDS.has(a.kind)) continue;
    // One call is every attempt of one activity in one scope (cim/forensics/calls.ts).
    const key = a.activityId === null ? `action:${a.actionId}` : `call:${a.activityId}`;
    const call = calls.get(key);
    if (!call) calls.set(key, { final: a, failedAttempts: failed(a.status) ? 1 : 0 });
    else {
      if (later(a, call.final)) call.final = a;
      if (failed(a.status)) call.failedAttempts += 1;
    }
  }
  let failedCalls = 0;
  let failedAttempts = 0;
  for (const c of calls.values()) {
    if (failed(c.final.status)) failedCalls += 1;
    failedAttempts += c.failedAttempts;
  }
  return { actions: [...byKey.values()], calls: calls.size, failedCalls, failedAttempts };
}

export function rollupRows(sealed: readonly SealedScope[]): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  const add = (month: string, facet: string, keys: readonly string[], n1: number, n2 = 0, n3 = 0) => {
    const k = [month, facet, ...keys].join('\u0000');
    const row = rows.get(k);
    if (row) {
      row[9] += n1;
      row[10] += n2;
      row[11] += n3;
    } else {
      rows.set(k, [month, facet, ...(keys as [string, string, string, string, string, string, string]), n1, n2, n3]);
    }
  };
  for (const { scope: s, tally, sessionStartedAt, parent, delegated } of sealed) {
    const month = new Date(monthOf(sessionStartedAt)).toISOString();
    add(month, 'scopes', [s.agent, s.agentVersion, s.kind, s.delegatedBy ?? '', s.status, String(s.recovered), s.workerBuildId ?? ''], 1);
    if (s.kind === 'delegation' && parent) add(month, 'edges', [parent.agent, parent.agentVersion, s.agent, s.agentVersion, '', '', ''], 1);
    if (s.kind === 'delegation' && s.delegatedBy !== null && !delegated) add(month, 'unmatched', [s.delegatedBy, s.agent, '', '', '', '', ''], 1);
    for (const a of tally.actions) add(month, 'actions', [a.agent, s.agentVersion, a.kind, a.name, a.build, '', ''], a.count);
    if (tally.calls > 0) add(month, 'calls', [s.agent, s.agentVersion, '', '', '', '', ''], tally.calls, tally.failedCalls, tally.failedAttempts);
  }
  // In key order: the sealers of several workers upsert their batches at
  // once, and rows locked in one order by all of them cannot deadlock.
  return [...rows.keys()].sort().map((k) => rows.get(k)!);
}
