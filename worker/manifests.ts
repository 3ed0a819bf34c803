/**
 * The agents module is also loaded in the worker process (outside the sandbox) to
 * read the manifests. The workflow type Temporal registers is the export name, so an
 * agent exported under another name than its manifest's would be unreachable by name.
 */
import type { Manifest } from '../cim/schemas';
import { ScopetrailConfigError } from '../cim/errors';

export function loadManifests(agentsPath: string): Manifest[] {
  // require() also loads an ES module agents file (Node ≥ 20.19 without top-level await).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(agentsPath) as Record<string, unknown>;
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
  if (manifests.length === 0) {
    throw new ScopetrailConfigError(`agents module ${agentsPath} exports no agent made with defineAgent()`, 'agents');
  }
  return manifests;
}
