/**
 * Whether a session the store holds nothing of was pruned by retention. The store records
 * each dropped month (`prunes`), but a row there proves nothing on its own (any database
 * writer could insert one): a session counts as pruned only when Temporal says which month
 * it started in and holds the prune anchor of that month (store/prune-anchor.ts).
 */
import type { Client } from '@temporalio/client';
import type { Store } from '../store/types';
import { TemporalPruneAnchors, pruneAnchorId } from '../store/prune-anchor';
import { sessionStartOf } from './history';

export interface PrunedSession {
  sessionId: string;
  /** The month dropped, YYYY-MM. */
  month: string;
  /** When the prune ran (as anchored). */
  prunedAt: string;
  /** The prune's `--before`. */
  before: string;
  /** The id of the anchor workflow that records the prune in Temporal. */
  anchor: string;
}

/** How long the lookup may take: it runs only to explain an id the store does not have. */
const LOOKUP_MS = 5_000;

/** The anchored prune of the month `sessionStartedAt` falls in, if retention dropped it. */
export async function anchoredPrune(temporal: Client, store: Store, sessionStartedAt: string): Promise<Omit<PrunedSession, 'sessionId'> | undefined> {
  const namespace = temporal.options.namespace;
  const retention = store.retention();
  const recorded = await retention.prunedMonthOf(namespace, sessionStartedAt);
  if (!recorded) return undefined;
  const anchored = await new TemporalPruneAnchors(temporal.connection, retention.key).read(namespace, recorded.month);
  if (!anchored) return undefined;
  return { month: recorded.month, prunedAt: anchored.prunedAt, before: anchored.before, anchor: pruneAnchorId(retention.key, recorded.month) };
}

/**
 * The workflow ids `id` may name: itself (a session, a root or a delegation's scope is its
 * workflow's id), and for a handoff's scope (`<workflow id>~<n>`, cim/ids.ts) the workflow
 * it ran in. A session id may itself end so, which is why both are asked, the id first.
 */
export function workflowIdsOf(id: string): string[] {
  const handoff = /^(.+)~\d+$/.exec(id);
  return handoff ? [id, handoff[1]!] : [id];
}

async function firstSessionStart(temporal: Client, workflowIds: readonly string[]): Promise<{ sessionId: string; sessionStartedAt: string } | undefined> {
  for (const workflowId of workflowIds) {
    const start = await sessionStartOf(temporal, workflowId);
    if (start) return start;
  }
  return undefined;
}

/**
 * The prune that removed the session `id` names — a session id, or the scope id of a
 * session's root, a delegation or a handoff — or undefined when it was not
 * pruned or that cannot be told: a store that never pruned is not asked about Temporal at
 * all, and a Temporal that does not answer in time (or no longer has the workflow) leaves
 * the id merely unknown.
 */
export async function prunedSessionOf(temporal: Client, store: Store, id: string): Promise<PrunedSession | undefined> {
  try {
    if (!(await store.retention().anyPruned(temporal.options.namespace))) return undefined;
    return await temporal.connection.withDeadline(Date.now() + LOOKUP_MS, async () => {
      const start = await firstSessionStart(temporal, workflowIdsOf(id));
      if (!start) return undefined;
      const pruned = await anchoredPrune(temporal, store, start.sessionStartedAt);
      return pruned && { sessionId: start.sessionId, ...pruned };
    });
  } catch {
    return undefined;
  }
}
