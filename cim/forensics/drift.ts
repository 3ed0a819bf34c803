import { naturalCompare } from '../scope-tree';
import type { ActionRecord, Manifest, ScopeRecord } from '../schemas';
import { uniqueSorted, uniqueInOrder } from './shared';
import { CALL_KINDS } from './calls';
import { parseSubAgentRef } from './roles';
import { buildsOf, usageOf, type AgentUsage } from './usage';
import type { SignatureState } from '../keyed-signature';
import { UNKNOWN_AGENT_VERSION } from '../names';

// drift

export interface VersionMismatch {
  /** The delegating agent, whose manifest pins the version. */
  parent: string;
  parentVersion: string;
  /** The version the parent's manifest pins. */
  expected: string;
  /** The version that actually ran. */
  observed: string;
}

export interface DriftEntry {
  agent: string;
  version: string;
  /** A manifest for exactly this version exists. */
  manifest: boolean;
  /**
   * How that manifest stands against its registering worker's signature, where the reader
   * checked it (cim/manifest-signature.ts): a verdict resting on one not `valid` may be wrong.
   */
  manifestSignature?: SignatureState;
  undeclaredTools: string[];
  undeclaredSubAgents: string[];
  /** Agents it handed control to (or tried to) that its manifest's `handoffs` does not list. */
  undeclaredHandoffs: string[];
  /** Declared but never observed — informational: a run may simply not have needed them. */
  unusedTools: string[];
  unusedSubAgents: string[];
  unusedHandoffs: string[];
  versionMismatches: VersionMismatch[];
  /**
   * Worker builds (Worker Deployment Version build ids) that ran this version. One
   * version on several builds, or several versions on one build, is visible here.
   */
  builds: string[];
  drifted: boolean;
}

/**
 * Does each agent version that ran behave as its manifest says? Judged per
 * (agent, version) actually seen in scopes, because a manifest describes one
 * version and only observed behaviour can contradict it.
 *
 * - Observed tools are the names of its tool and LLM calls (an LLM call is `llm`),
 *   refusals included: a refused call shows the code *tried* that tool, which is
 *   the behaviour a manifest must declare, whether or not the allowance let it run.
 * - Observed sub-agents are its `delegate` targets and the agents of scopes it
 *   delegated (either row suffices).
 * - Observed handoffs are the targets of its `handoff` actions, failed ones included
 *   (the code tried to pass control there), whether it chose them or honoured a request.
 * - With no manifest for the exact version, nothing is declared: everything
 *   observed is undeclared and the version counts as drifted — an unregistered
 *   build ran.
 * - A parent's manifest may pin a sub-agent (`name@version`); a scope delegated by
 *   that parent version which ran another version is a mismatch. The parent's
 *   version is read from its scope row, so a missing parent row yields no verdict.
 * - Unused tools and sub-agents do not make a version drifted: one session need not
 *   exercise everything.
 *
 * `agent` restricts the result to one agent. Sorted by agent, then version.
 */
export function drift(
  manifests: readonly Manifest[],
  scopes: readonly ScopeRecord[],
  actions: readonly ActionRecord[],
  agent?: string,
): DriftEntry[] {
  return driftFromUsage(manifests, usageOf(scopes, actions), agent);
}

export function driftFromUsage(manifests: readonly Manifest[], usage: AgentUsage, agent?: string): DriftEntry[] {
  const pairs = new Map<string, { agent: string; version: string }>();
  for (const s of usage.scopes) {
    if (agent !== undefined && s.agent !== agent) continue;
    pairs.set(`${s.agent}\u0000${s.agentVersion}`, { agent: s.agent, version: s.agentVersion });
  }

  const entries: DriftEntry[] = [];
  for (const pair of pairs.values()) {
    const mine = usage.actions.filter((a) => a.agent === pair.agent && a.agentVersion === pair.version);
    // Scopes Temporal closed before any of their code ran (cim/reconcile.ts) name no version and did nothing.
    if (pair.version === UNKNOWN_AGENT_VERSION && mine.length === 0 && !usage.edges.some((e) => e.parentAgent === pair.agent && e.parentVersion === pair.version)) continue;
    const usedTools = uniqueSorted(mine.filter((a) => CALL_KINDS.has(a.kind)).map((a) => a.name));
    const usedSubAgents = uniqueSorted([
      ...mine.filter((a) => a.kind === 'delegate').map((a) => a.name),
      ...usage.edges.filter((e) => e.parentAgent === pair.agent && e.parentVersion === pair.version).map((e) => e.childAgent),
    ]);
    const usedHandoffs = uniqueSorted(mine.filter((a) => a.kind === 'handoff').map((a) => a.name));
    const manifest = manifests.find((m) => m.name === pair.agent && m.version === pair.version);
    const declaredTools = new Set(manifest?.tools ?? []);
    const declaredHandoffs = new Set(manifest?.handoffs ?? []);
    const declaredSubAgents = new Set((manifest?.subAgents ?? []).map((r) => parseSubAgentRef(r).name));

    const mismatches = new Map<string, VersionMismatch>();
    for (const e of usage.edges) {
      if (e.childAgent !== pair.agent || e.childVersion !== pair.version) continue;
      const parentManifest = manifests.find((m) => m.name === e.parentAgent && m.version === e.parentVersion);
      const pins = uniqueInOrder(
        (parentManifest?.subAgents ?? [])
          .map(parseSubAgentRef)
          .filter((r) => r.name === pair.agent && r.version !== null)
          .map((r) => r.version!),
      );
      if (pins.length === 0 || pins.includes(pair.version)) continue;
      for (const expected of pins) {
        const m = { parent: e.parentAgent, parentVersion: e.parentVersion, expected, observed: pair.version };
        mismatches.set(`${m.parent}\u0000${m.parentVersion}\u0000${m.expected}`, m);
      }
    }
    const versionMismatches = [...mismatches.values()].sort(
      (a, b) =>
        (a.parent < b.parent ? -1 : a.parent > b.parent ? 1 : 0) ||
        naturalCompare(a.parentVersion, b.parentVersion) ||
        naturalCompare(a.expected, b.expected),
    );

    const undeclaredTools = usedTools.filter((t) => !declaredTools.has(t));
    const undeclaredSubAgents = usedSubAgents.filter((t) => !declaredSubAgents.has(t));
    const undeclaredHandoffs = usedHandoffs.filter((t) => !declaredHandoffs.has(t));
    const used = { tools: new Set(usedTools), subAgents: new Set(usedSubAgents) };
    entries.push({
      agent: pair.agent,
      version: pair.version,
      manifest: manifest !== undefined,
      undeclaredTools,
      undeclaredSubAgents,
      undeclaredHandoffs,
      unusedTools: uniqueSorted([...declaredTools].filter((t) => !used.tools.has(t))),
      unusedSubAgents: uniqueSorted([...declaredSubAgents].filter((t) => !used.subAgents.has(t))),
      unusedHandoffs: uniqueSorted([...declaredHandoffs].filter((t) => !usedHandoffs.includes(t))),
      versionMismatches,
      builds: buildsOf(usage, pair.agent, pair.version),
      drifted: !manifest || undeclaredTools.length > 0 || undeclaredSubAgents.length > 0 || undeclaredHandoffs.length > 0 || versionMismatches.length > 0,
    });
  }
  return entries.sort(
    (a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0) || naturalCompare(a.version, b.version),
  );
}
