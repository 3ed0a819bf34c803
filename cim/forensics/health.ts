import { naturalCompare } from '../scope-tree';
import type { ActionRecord, ScopeRecord, ScopeStatus } from '../schemas';
import { buildsOf, usageOf, type AgentUsage } from './usage';
import type { DriftEntry } from './drift';
import type { RoleEntry } from './roles';

// health

export interface AgentHealth {
  agent: string;
  version: string;
  orchestrator: boolean;
  subAgent: boolean;
  /** Scopes this agent version ran, by rolled-up status. */
  scopes: number;
  statuses: Record<ScopeStatus, number>;
  /** Scopes that failed at first and succeeded on retry. */
  recovered: number;
  /** Scopes it ran because control was handed to it (kind `handoff`). */
  handoffScopes: number;
  /** Scopes that ended in `error` over scopes that ended; null while none has ended. */
  errorRate: number | null;
  /** Tool and LLM calls (all attempts of one activity are one call), failed calls, and attempts that failed. */
  calls: number;
  failedCalls: number;
  failedAttempts: number;
  /** One short phrase per way this version departs from its manifest (see drift). */
  driftFlags: string[];
  /** Worker builds that ran this version (during an upgrade, two versions run on two builds side by side). */
  builds: string[];
}

/**
 * How each agent version fares across the sessions in the store. Health is judged
 * per (agent, version) because a new version is the usual cause of a change in
 * error rate, and drift is declared per version too. The error rate counts scopes,
 * not attempts: a retried call that finally succeeded did its job, and its failed
 * attempts are reported apart (`failedAttempts`).
 */
export function agentHealth(
  scopes: readonly ScopeRecord[],
  actions: readonly ActionRecord[],
  drift: readonly DriftEntry[],
  roles: readonly RoleEntry[],
): AgentHealth[] {
  return healthFromUsage(usageOf(scopes, actions), drift, roles);
}

export function healthFromUsage(usage: AgentUsage, drift: readonly DriftEntry[], roles: readonly RoleEntry[]): AgentHealth[] {
  const entries = new Map<string, AgentHealth>();
  const entryOf = (agent: string, version: string): AgentHealth => {
    const key = `${agent}\u0000${version}`;
    let e = entries.get(key);
    if (!e) {
      const role = roles.find((r) => r.agent === agent);
      e = {
        agent,
        version,
        orchestrator: role?.orchestrator ?? false,
        subAgent: role?.subAgent ?? false,
        scopes: 0,
        statuses: { running: 0, success: 0, degraded: 0, error: 0, cancelled: 0 },
        recovered: 0,
        handoffScopes: 0,
        errorRate: null,
        calls: 0,
        failedCalls: 0,
        failedAttempts: 0,
        driftFlags: [],
        builds: buildsOf(usage, agent, version),
      };
      entries.set(key, e);
    }
    return e;
  };

  for (const s of usage.scopes) {
    const e = entryOf(s.agent, s.agentVersion);
    e.scopes += s.count;
    e.statuses[s.status] += s.count;
    if (s.recovered) e.recovered += s.count;
    if (s.kind === 'handoff') e.handoffScopes += s.count;
  }
  // A call is charged to the version of the scope that made it; without the scope row, the version is unknown.
  for (const c of usage.calls) {
    const e = entryOf(c.agent, c.agentVersion);
    e.calls += c.calls;
    e.failedCalls += c.failedCalls;
    e.failedAttempts += c.failedAttempts;
  }
  for (const d of drift) {
    const e = entries.get(`${d.agent}\u0000${d.version}`);
    if (e) e.driftFlags = driftFlags(d);
  }
  for (const e of entries.values()) {
    const ended = e.scopes - e.statuses.running;
    e.errorRate = ended === 0 ? null : e.statuses.error / ended;
  }
  return [...entries.values()].sort((a, b) => a.agent.localeCompare(b.agent) || naturalCompare(a.version, b.version));
}

export function driftFlags(d: DriftEntry): string[] {
  return [
    ...(d.manifest ? [] : ['no manifest for this version']),
    ...d.undeclaredTools.map((t) => `undeclared tool ${t}`),
    ...d.undeclaredSubAgents.map((a) => `undeclared sub-agent ${a}`),
    ...d.undeclaredHandoffs.map((a) => `undeclared handoff to ${a}`),
    ...d.versionMismatches.map((m) => `${m.parent}@${m.parentVersion} expects ${m.expected}, ran ${m.observed}`),
  ];
}
