import { naturalCompare } from '../scope-tree';
import type { SignatureState } from '../keyed-signature';
import type { ActionRecord, Manifest, ScopeRecord } from '../schemas';
import { uniqueSorted, uniqueInOrder, plural } from './shared';
import { buildsOf, total, usageOf, type AgentUsage } from './usage';
import { UNKNOWN_AGENT_VERSION } from '../names';

// manifests: sub-agent references

export interface ParsedSubAgentRef {
  name: string;
  /** The version the declaring agent expects, or null when any version will do. */
  version: string | null;
}

/**
 * A manifest's sub-agent entry: `name` or `name@version`. Agent names cannot contain
 * `@`, so the first `@` separates the pin.
 */
export function parseSubAgentRef(ref: string): ParsedSubAgentRef {
  const at = ref.indexOf('@');
  if (at < 0) return { name: ref, version: null };
  const version = ref.slice(at + 1);
  return { name: ref.slice(0, at), version: version === '' ? null : version };
}

export function manifestsOf(manifests: readonly Manifest[], agent: string): Manifest[] {
  return manifests.filter((m) => m.name === agent).sort((a, b) => naturalCompare(a.version, b.version));
}

// roles

export interface RoleEntry {
  agent: string;
  /** Versions known from manifests and from scopes that ran, sorted. */
  versions: string[];
  orchestrator: boolean;
  subAgent: boolean;
  /** Sub-agents named by any of its manifests (version pins removed), in declaration order. */
  declaredSubAgents: string[];
  /** Agents it delegated to, sorted. */
  observedSubAgents: string[];
  /** Agents that delegated to it, sorted. */
  delegatedBy: string[];
  /** Peers its manifests name as handoff targets, in declaration order. */
  declaredHandoffs: string[];
  /** Agents it handed control to (its `handoff` actions, failed ones included), sorted. */
  handsOffTo: string[];
  /** Agents that handed control to it, sorted. A handoff passes control sideways: neither is the other's orchestrator. */
  takesOverFrom: string[];
  /** Each version side by side: the builds that ran it, its scopes, the delegations it made. */
  byVersion: VersionRole[];
  evidence: string[];
}

export interface VersionRole {
  version: string;
  /** A manifest for exactly this version is registered. */
  manifest: boolean;
  /**
   * Whether the registering worker's signature vouches for that manifest (the client sets
   * it; absent when no manifest or no check was asked for). The declared sub-agents and
   * handoffs above come from manifests, so a forged one can make an orchestrator.
   */
  manifestSignature?: SignatureState;
  builds: string[];
  scopes: number;
  /** `delegate` actions its scopes made. */
  delegations: number;
  /** Agents it delegated to, sorted. */
  subAgents: string[];
}

/**
 * Who orchestrates and who is orchestrated. Roles come from two independent sources
 * — what manifests declare and what the rows show happened — and either is enough,
 * because a declared-but-unused sub-agent is still part of the design, and an
 * undeclared delegation still happened. An agent can be both (a researcher that
 * delegates verification). A manifest listing its own agent (recursive
 * decomposition) makes that agent a sub-agent too.
 *
 * Delegations are counted from `delegate` actions; a delegation scope with no
 * matching `delegate` row (lost, or written by an older recorder) still counts,
 * so the answer survives a gap in either table.
 */
export function roles(
  manifests: readonly Manifest[],
  scopes: readonly ScopeRecord[],
  actions: readonly ActionRecord[],
): RoleEntry[] {
  return rolesFromUsage(manifests, usageOf(scopes, actions));
}

export function rolesFromUsage(manifests: readonly Manifest[], usage: AgentUsage): RoleEntry[] {
  const agents = uniqueSorted([...manifests.map((m) => m.name), ...usage.scopes.map((s) => s.agent)], (a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const delegates = usage.actions.filter((a) => a.kind === 'delegate');
  const handoffs = usage.actions.filter((a) => a.kind === 'handoff');

  return agents.map((agent) => {
    const own = manifestsOf(manifests, agent);
    // A scope whose run Temporal closed before any of its code ran (cim/reconcile.ts) names no
    // version and did not run: it counts toward nothing below, unless a manifest claims that name.
    const unrun = (v: string) => v === UNKNOWN_AGENT_VERSION && !own.some((m) => m.version === v);
    const scopesOfAgent = usage.scopes.filter((s) => s.agent === agent && !unrun(s.agentVersion));
    const declaredSubAgents = uniqueInOrder(own.flatMap((m) => m.subAgents.map((r) => parseSubAgentRef(r).name)));

    const made = delegates.filter((a) => a.agent === agent);
    const madeWithoutRow = usage.unmatched.filter((s) => s.delegatedBy === agent);
    const delegations = total(made, () => true) + total(madeWithoutRow, () => true);
    const observedSubAgents = uniqueSorted([...made.map((a) => a.name), ...madeWithoutRow.map((s) => s.agent)]);

    const asDelegate = total(scopesOfAgent, (s) => s.kind === 'delegation');
    const delegatedBy = uniqueSorted([
      ...scopesOfAgent.map((s) => s.delegatedBy).filter((d): d is string => d !== null),
      ...delegates.filter((a) => a.name === agent).map((a) => a.agent),
    ]);
    const listedBy = uniqueSorted(
      manifests.filter((m) => m.subAgents.some((r) => parseSubAgentRef(r).name === agent)).map((m) => m.name),
    );

    const declaredHandoffs = uniqueInOrder(own.flatMap((m) => m.handoffs ?? []));
    const handedOff = handoffs.filter((a) => a.agent === agent);
    const handsOffTo = uniqueSorted(handedOff.map((a) => a.name));
    const takesOverFrom = uniqueSorted(handoffs.filter((a) => a.name === agent).map((a) => a.agent));
    const tookOver = total(scopesOfAgent, (s) => s.kind === 'handoff');

    const evidence: string[] = [];
    if (declaredSubAgents.length) evidence.push(`manifest declares sub-agents ${declaredSubAgents.join(', ')}`);
    if (declaredHandoffs.length) evidence.push(`manifest declares handoffs to ${declaredHandoffs.join(', ')}`);
    if (delegations) evidence.push(`delegated ${plural(delegations, 'time')} (to ${observedSubAgents.join(', ')})`);
    if (listedBy.length) evidence.push(`declared as a sub-agent by ${listedBy.join(', ')}`);
    if (asDelegate) {
      const by = delegatedBy.length ? ` (by ${delegatedBy.join(', ')})` : '';
      evidence.push(`ran as a delegate ${plural(asDelegate, 'time')}${by}`);
    }
    const handed = total(handedOff, () => true);
    if (handed) evidence.push(`handed off ${plural(handed, 'time')} (to ${handsOffTo.join(', ')})`);
    if (tookOver) {
      const from = takesOverFrom.length ? ` (from ${takesOverFrom.join(', ')})` : '';
      evidence.push(`took over by handoff ${plural(tookOver, 'time')}${from}`);
    }

    const versions = uniqueSorted([...own.map((m) => m.version), ...scopesOfAgent.map((s) => s.agentVersion)]);
    const byVersion = versions.map((version): VersionRole => {
      const madeByVersion = made.filter((a) => a.agentVersion === version);
      return {
        version,
        manifest: own.some((m) => m.version === version),
        builds: buildsOf(usage, agent, version),
        scopes: total(scopesOfAgent, (s) => s.agentVersion === version),
        delegations: total(madeByVersion, () => true),
        subAgents: uniqueSorted(madeByVersion.map((a) => a.name)),
      };
    });
    return {
      agent,
      versions,
      byVersion,
      orchestrator: declaredSubAgents.length > 0 || delegations > 0,
      subAgent: asDelegate > 0 || listedBy.length > 0,
      declaredSubAgents,
      observedSubAgents,
      delegatedBy,
      declaredHandoffs,
      handsOffTo,
      takesOverFrom,
      evidence,
    };
  });
}
