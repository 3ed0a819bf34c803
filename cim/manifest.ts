/**
 * What an agent declares about itself, and the names it declares. Workflow code checks
 * only the manifest of the agent it runs (see workflows/agent.ts); the worker checks
 * every agent's when it starts (worker/manifests.ts). Built when first used, like the
 * schemas of cim/scope-context.ts; cim/schemas.ts exports them built.
 */
import { z } from 'zod';
import { budgetSpecSchema } from './budget';
import { agentNameSchema } from './scope-context';
import { lazySchema } from './lazy-schema';

/**
 * A tool's name: its Temporal activity type and the `name` of its actions. Dotted,
 * dashed and slashed names (`db.read`, `github/search-issues`) are common for tools
 * that stand for a remote API; a leading letter keeps clear of Temporal's reserved
 * `__` prefixes.
 */
export const TOOL_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.\/:-]{0,199}$/;

export const toolNameSchema = lazySchema(() => z.string().regex(TOOL_NAME_PATTERN, 'a letter, then up to 199 letters, digits or _ . / : -'));

/**
 * An agent's version: what a sub-agent reference pins after its `@`, so it holds no `@`
 * and no white space (a version a delegator could never name is refused where it is declared).
 */
export const VERSION_PATTERN = /^[^@\s]{1,50}$/;

/** A sub-agent reference: an agent name, optionally pinned to one version as name@version (cim/certain-context.ts tests the same). */
export const SUB_AGENT_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,99}(@[^@\s]{1,50})?$/;

export const subAgentRefSchema = lazySchema(() =>
  z.string().max(151).regex(SUB_AGENT_PATTERN, 'sub-agents are agent names, optionally pinned as name@version'),
);
export type SubAgentRef = z.infer<ReturnType<typeof subAgentRefSchema>>;

/** What an agent declares about itself; upserted into the store when a worker starts. */
export const manifestSchema = lazySchema(() =>
  z.object({
    name: agentNameSchema(),
    version: z.string().regex(VERSION_PATTERN, '1 to 50 characters without spaces or @ (a sub-agent reference pins it as name@version)'),
    description: z.string().max(2000).optional(),
    tools: z.array(toolNameSchema()).default([]),
    subAgents: z.array(subAgentRefSchema()).default([]),
    /** Agents it may hand control to (declared by model-driven agents, which offer them to their model). */
    handoffs: z.array(agentNameSchema()).optional(),
    /** Model turns, tokens and wall time the agent's scope (with its delegates) may spend. */
    budget: budgetSpecSchema().optional(),
    /** The model a model-driven agent asks for (the worker's provider decides when absent). */
    model: z.string().min(1).max(200).optional(),
    /**
     * Resource URIs (or prefixes ending in `*`) the agent may touch. Omitted: unrestricted
     * (only narrowed by its delegators); `[]`: may touch nothing.
     */
    resources: z.array(z.string().min(1)).optional(),
  }),
);
export type Manifest = z.infer<ReturnType<typeof manifestSchema>>;

/** The manifest's fields, in the schema's order (a unit test holds them to it): anything else is refused. */
export const MANIFEST_KEYS = ['name', 'version', 'description', 'tools', 'subAgents', 'handoffs', 'budget', 'model', 'resources'] as const;
export type ManifestInput = z.input<ReturnType<typeof manifestSchema>>;

/**
 * What changed between two manifests of the same agent version, one phrase a field
 * (`tools +export −search`, `budget changed`); empty when they declare the same. Lists
 * compare as sets: their order declares nothing.
 */
export function manifestChanges(before: Manifest, after: Manifest): string[] {
  const changes: string[] = [];
  const lists = ['tools', 'subAgents', 'handoffs', 'resources'] as const;
  for (const field of lists) {
    const was = before[field];
    const now = after[field];
    // `resources` absent (unrestricted) and `[]` (nothing) are different allowances.
    if ((was === undefined) !== (now === undefined)) {
      changes.push(`${field} ${was === undefined ? 'declared' : 'no longer declared'}`);
      continue;
    }
    const added = (now ?? []).filter((v) => !(was ?? []).includes(v));
    const removed = (was ?? []).filter((v) => !(now ?? []).includes(v));
    if (added.length || removed.length) changes.push(`${field} ${[...added.map((v) => `+${v}`), ...removed.map((v) => `−${v}`)].join(' ')}`);
  }
  for (const field of ['description', 'model', 'budget'] as const) {
    if (JSON.stringify(before[field] ?? null) !== JSON.stringify(after[field] ?? null)) changes.push(`${field} changed`);
  }
  return changes;
}
