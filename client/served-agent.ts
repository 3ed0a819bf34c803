/**
 * Before a session starts: is its root agent one a worker serves? Temporal accepts a
 * start for any workflow type and waits, without limit, for a worker that has it; a
 * mistyped name would hang the session and every `result()` on it. Workers register
 * their agents' manifests in the store when they start, so a name the store does not
 * know, while it knows others, is refused with the names it does know.
 */
import type { Store } from '../store/types';
import { UnknownAgentError } from './arguments';

export async function requireServedAgent(store: Store, agent: string): Promise<void> {
  let known: string[];
  try {
    known = [...new Set((await store.manifests()).map((m) => m.name))];
  } catch {
    // A store that cannot answer (an outage the workers spool through) cannot refuse: start as before.
    return;
  }
  // No manifest at all: no worker has started yet, and starting before the workers is legitimate.
  if (known.length === 0 || known.includes(agent)) return;
  throw new UnknownAgentError(agent, known.sort());
}
