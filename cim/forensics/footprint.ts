import { naturalCompare } from '../scope-tree';
import type { ActionRecord, ResourceMode, ScopeRecord } from '../schemas';
import { byResource, ms, uniqueSorted, isDenied } from './shared';
import { allowancesOf, scopesOutsideAllowance } from './outside-allowance';

// footprint

export interface FootprintOptions {
  /** Include every scope delegated (directly or further down) from this one. */
  descendants: boolean;
}

/**
 * What a footprint reads of an action: where and when it ran, what it was and what it
 * named. A store may read only these fields of each row (store/footprint-rows.ts).
 */
export type FootprintAction = Pick<ActionRecord, 'actionId' | 'scopeId' | 'sessionId' | 'agent' | 'kind' | 'name' | 'resources' | 'status' | 'startedAt' | 'endedAt'>;

export interface FootprintEntry {
  uri: string;
  mode: ResourceMode;
  /** Action rows (each attempt counts) that touched this resource in this mode. */
  actions: number;
  /** Names of those actions (tool, `llm`, …), sorted. */
  tools: string[];
  scopes: string[];
  agents: string[];
  /** When the first of them started. */
  firstAt: string;
  /** When the last of them ended (its start if it has not ended). */
  lastAt: string;
  /** A scope that touched it was not allowed to (its recorded allowance does not permit it). */
  outsideAllowance: boolean;
  /** Those scopes, sorted; empty when every scope that touched it was allowed to. */
  outsideAllowanceScopes: string[];
}

/**
 * The scopes a footprint covers. Descendants are found by materialized path, the
 * same rule the store's indexed query uses, so the two cannot disagree. A handoff
 * inside a delegation sits under the delegator's path (it finishes the delegated
 * work), while a session-level handoff starts a path of its own (`/s~1/`): it was
 * handed control, not delegated a part of the work. A scope missing from `scopes` still
 * covers its own actions (its id is all that is needed), but has no known path.
 */
/** Where a scope sits in its session (what coverage is decided on), and what it was allowed to touch. */
export type ScopePlace = Pick<ScopeRecord, 'sessionId' | 'scopeId' | 'path' | 'allowance'>;

export function scopesCovered(scopeId: string, scopes: readonly ScopePlace[], options: FootprintOptions): Set<string> {
  const covered = new Set([scopeId]);
  const self = scopes.find((s) => s.scopeId === scopeId);
  if (options.descendants && self) {
    for (const s of scopes) if (s.sessionId === self.sessionId && s.path.startsWith(self.path)) covered.add(s.scopeId);
  }
  return covered;
}

/**
 * The (resource, mode) pairs a scope touched, one entry each. Every attempt counts,
 * failed ones included: an attempt that errored may still have read or written
 * before it failed, and a footprint must not under-report. Refused actions are left
 * out — the allowance check stopped them before the tool ran, so nothing was
 * touched — and are reported by `deniedUnder` instead. An entry a scope touched
 * outside its recorded allowance says so (see outside-allowance.ts). Entries are sorted
 * by uri, then read < write < share.
 */
export function footprint(
  scopeId: string,
  scopes: readonly ScopePlace[],
  actions: readonly FootprintAction[],
  options: FootprintOptions,
): FootprintEntry[] {
  const covered = scopesCovered(scopeId, scopes, options);
  // A wide scope has thousands of actions, most touching one resource once: entries are
  // found by uri then mode (no key built per action), the times are compared as numbers
  // parsed once per action, an action's resources are deduplicated only when it lists more
  // than one, and a set of names is made only when a second name comes.
  interface Acc {
    uri: string;
    mode: ResourceMode;
    actions: number;
    tools: Names;
    scopes: Names;
    agents: Names;
    firstAt: string;
    firstMs: number;
    lastAt: string;
    lastMs: number;
  }
  const byUri = new Map<string, Partial<Record<ResourceMode, Acc>>>();
  const entries: Acc[] = [];
  for (const a of actions) {
    if (!covered.has(a.scopeId) || isDenied(a)) continue;
    if (a.resources.length === 0) continue;
    const end = a.endedAt ?? a.startedAt;
    const startMs = ms(a.startedAt);
    const endMs = end === a.startedAt ? startMs : ms(end);
    // An action listing a resource twice touched it once.
    const touched = a.resources.length === 1 ? a.resources : new Map(a.resources.map((r) => [`${r.mode}\u0000${r.uri}`, r])).values();
    for (const r of touched) {
      let modes = byUri.get(r.uri);
      if (!modes) byUri.set(r.uri, (modes = {}));
      const e = modes[r.mode];
      if (!e) {
        const entry: Acc = {
          uri: r.uri,
          mode: r.mode,
          actions: 1,
          tools: a.name,
          scopes: a.scopeId,
          agents: a.agent,
          firstAt: a.startedAt,
          firstMs: startMs,
          lastAt: end,
          lastMs: endMs,
        };
        modes[r.mode] = entry;
        entries.push(entry);
        continue;
      }
      e.actions += 1;
      e.tools = withName(e.tools, a.name);
      e.scopes = withName(e.scopes, a.scopeId);
      e.agents = withName(e.agents, a.agent);
      // As `earlier` and `later` decide: on a tie (or an unreadable time) the first seen stays.
      if (startMs < e.firstMs) {
        e.firstAt = a.startedAt;
        e.firstMs = startMs;
      }
      if (endMs > e.lastMs) {
        e.lastAt = end;
        e.lastMs = endMs;
      }
    }
  }
  const allowances = allowancesOf(scopes);
  return entries
    .map((e) => {
      const touchers = sortedNames(e.scopes);
      const outside = scopesOutsideAllowance(e.uri, touchers, allowances);
      return {
        uri: e.uri,
        mode: e.mode,
        actions: e.actions,
        tools: sortedNames(e.tools),
        scopes: touchers,
        agents: sortedNames(e.agents),
        firstAt: e.firstAt,
        lastAt: e.lastAt,
        outsideAllowance: outside.length > 0,
        outsideAllowanceScopes: outside,
      };
    })
    .sort(byResource);
}

/** Distinct names: one name alone until a second comes. */
type Names = string | Set<string>;

function withName(names: Names, name: string): Names {
  if (typeof names !== 'string') return names.add(name);
  return names === name ? names : new Set([names, name]);
}

/** `uniqueSorted` of the names. */
function sortedNames(names: Names): string[] {
  return typeof names === 'string' ? [names] : uniqueSorted(names);
}

/**
 * The refusals under a scope (same coverage rule as `footprint`): what its agents
 * tried to touch and were not allowed to. Kept apart from the footprint because an
 * attempt is evidence of intent, not of access. Sorted by start time, then id.
 */
export function deniedUnder(
  scopeId: string,
  scopes: readonly ScopePlace[],
  actions: readonly ActionRecord[],
  options: FootprintOptions,
): ActionRecord[] {
  const covered = scopesCovered(scopeId, scopes, options);
  return actions
    .filter((a) => covered.has(a.scopeId) && isDenied(a))
    .sort((x, y) => ms(x.startedAt) - ms(y.startedAt) || naturalCompare(x.actionId, y.actionId));
}

// resource matching

/**
 * Does a resource pattern match a uri? `*` matches any run of characters, none included,
 * wherever it stands: `db:notes` only itself, `db:notes*` every uri under that prefix (the
 * allowance's language), `db:*notes` by suffix, `db:*:notes:*` by parts. Every other
 * character, `?` and `[` too, is literal: uris hold query strings and brackets. Recorded
 * uris are concrete and taken literally.
 */
export function matchesResource(pattern: string, uri: string): boolean {
  if (!pattern.includes('*')) return pattern === uri;
  const parts = pattern.split('*');
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (uri.length < first.length + last.length || !uri.startsWith(first) || !uri.endsWith(last)) return false;
  // Each middle part at its earliest place: the leftmost match leaves the most room for the rest.
  let at = first.length;
  const end = uri.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const found = uri.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

export interface TouchesOptions {
  /** Also return refused actions that named a matching resource. Default false: a refusal touched nothing. */
  includeDenied?: boolean;
}

/**
 * The actions that touched a resource (or any resource under a `*` prefix), in the
 * order given. Refusals are left out unless asked for, for the same reason as in
 * `footprint`: "was R touched?" must not answer yes because someone was stopped.
 */
export function touches(actions: readonly ActionRecord[], resource: string, options: TouchesOptions = {}): ActionRecord[] {
  return actions.filter(
    (a) => (options.includeDenied || !isDenied(a)) && a.resources.some((r) => matchesResource(resource, r.uri)),
  );
}
