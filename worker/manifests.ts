/**
 * The agents module is also loaded in the worker process (outside the sandbox) to
 * read the manifests. The workflow type Temporal registers is the export name, so an
 * agent exported under another name than its manifest's would be unreachable by name.
 */
import type { Manifest } from '../cim/schemas';
import { ScopetrailConfigError } from '../cim/errors';

/**
 * `required`: false when the path is the worker's own workflows module, given for its
 * workflows rather than as the agents' module: a worker of the user's own workflows, given
 * the plugin to serve tools, runs no agent and registers none.
 */
export function loadManifests(agentsPath: string, options: { required?: boolean } = {}): Manifest[] {
  // require() also loads an ES module agents file (Node ≥ 20.19 without top-level await).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  let mod: Record<string, unknown>;
  try {
    mod = require(agentsPath) as Record<string, unknown>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Node's own message lists the require stack on further lines: the first says what is wrong.
    if (e?.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${agentsPath}'`)) {
      throw new ScopetrailConfigError(`agents module ${agentsPath} not found: give the path of the module that exports your agents (require.resolve('./agents'))`, 'agents');
    }
    throw err;
  }
  const manifests: Manifest[] = [];
  for (const [exportName, value] of Object.entries(mod)) {
    const manifest = (value as { manifest?: Manifest } | undefined)?.manifest;
    if (typeof value !== 'function' || !manifest) continue;
    if (manifest.name !== exportName) {
      throw new ScopetrailConfigError(
        `agents module ${agentsPath}: agent "${manifest.name}" is exported as "${exportName}"; export it under its manifest name`,
        'agents',
      );
    }
    manifests.push(manifest);
  }
  if (manifests.length === 0 && options.required !== false) {
    throw new ScopetrailConfigError(`agents module ${agentsPath} exports no agent made with defineAgent()`, 'agents');
  }
  return manifests;
}

/**
 * Tools the agents declare that this worker does not register. An agent calls its tools on
 * its own task queue unless told otherwise, and an activity no worker of the queue has fails
 * before any interceptor sees it: every attempt, until the call runs out of them, with no
 * record of its own. Said once at start, leaving out the tools a worker of another queue of
 * the store has registered (worker/plugin.ts); one that starts later may serve the rest, so
 * it is a warning, not a refusal.
 */
export function unservedTools(manifests: readonly Manifest[], registered: (tool: string) => boolean): string | undefined {
  const missing = new Map<string, string[]>();
  for (const m of manifests) for (const t of m.tools) if (!registered(t)) missing.set(t, [...(missing.get(t) ?? []), m.name]);
  if (missing.size === 0) return undefined;
  const list = [...missing].map(([tool, agents]) => `${tool} (${agents.join(', ')})`).join(', ');
  return (
    `agents declare tools this worker does not register: ${list}. Their calls on this task queue fail ` +
    '(NotFoundError) until their attempts run out: give them to the worker (tools: [...]), or serve them from a worker of the queue the agent calls them on'
  );
}
