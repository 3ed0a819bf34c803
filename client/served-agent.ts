/**
 * Before a session starts: is its root agent one a worker serves? Temporal accepts a
 * start for any workflow type and waits, without limit, for a worker that has it; a
 * mistyped name would hang the session and every `result()` on it. Workers register
 * their agents' manifests in the store when they start, so a name the store does not
 * know, while it knows others, is refused with the names it does know.
 */
import type { Store } from '../store/types';
import { UnknownAgentError } from './arguments';

/**
 * `served`: names found served before, by this client. A worker that registered an agent
 * once has it for good (manifests are never removed), so a name found once is not read
 * again: a client starting many sessions reads the manifests once per agent, not per start.
 */
export async function requireServedAgent(store: Store, agent: string, served?: Set<string>): Promise<void> {
  if (served?.has(agent)) return;
  let known: string[];
  try {
    known = [...new Set((await store.storedManifests()).manifests.map((m) => m.manifest.name))];
  } catch {
    // A store that cannot answer (an outage the workers spool through) cannot refuse: start as before.
    return;
  }
  // No manifest at all: no worker has started yet, and starting before the workers is legitimate.
  if (known.length === 0) return;
  if (known.includes(agent)) {
    served?.add(agent);
    return;
  }
  throw new UnknownAgentError(agent, known.sort());
}
