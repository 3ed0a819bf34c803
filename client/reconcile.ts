/**
 * reconcile(session): Temporal history decides what happened. This walks every history
 * of a session (root, children, continue-as-new chains), reads the session's CIM rows,
 * and lists what the store misses, holds in excess, or holds differently. A report
 * without differences is the evidence that the store is complete for the session.
 */
import type { Client } from '@temporalio/client';
import { persisting, settleThenRead } from './second-look';
import { reconcileSession, type ReconcileReport, type RunFacts } from '../cim/reconcile';
import { receiptDifferences } from '../cim/forensics/receipts';
import type { Store } from '../store/types';
import { SessionNotFoundError, collectSessionRuns } from './history';
import { TemporalSealAnchors, anchorSeals } from '../store/seal-anchor';
import { anchoredPrune, type PrunedSession } from './pruned-session';
import { placementDifferences } from '../store/placement-check';

export type { Difference, ReconcileReport } from '../cim/reconcile';
export { SessionNotFoundError } from './history';

export interface ReconcileRunOptions {
  onProgress?: (historiesRead: number) => void;
  /** Complete the store from history where it can (see Difference.repair), then reconcile again. */
  repair?: boolean;
  /** Who writes the repair, as its error text says (default `reconcile --repair`). */
  repairedBy?: string;
}

export async function reconcile(
  client: Client,
  store: Store,
  sessionId: string,
  o: ReconcileRunOptions = {},
): Promise<ReconcileReport & { repaired: number }> {
  const { report: first, runs } = await reconcileOnce(client, store, sessionId, o.onProgress, o.repairedBy);
  const repairs = first.differences.flatMap((d) => (d.repair ? [d.repair.scope] : []));
  if (!o.repair || repairs.length === 0) {
    if (first.differences.length === 0 || !runs.some((r) => r.close.kind === 'open')) return { ...first, repaired: 0 };
    // A session still running (client/second-look.ts): what a second look also finds.
    const second = await settleThenRead(() => reconcileOnce(client, store, sessionId, undefined, o.repairedBy).then((r) => r.report));
    return { ...second, differences: persisting(first.differences, second.differences, (d) => `${d.kind}\u0000${d.record}\u0000${d.id}`), repaired: 0 };
  }
  // Another writer (a worker that found the same scopes) may have closed some first: only this one's count.
  const filled = await store.fillScopeGaps(repairs);
  // A repaired scope has ended: it is sealed, and anchored like any other.
  await store.sealScopes(
    repairs.map((r) => ({ namespace: r.namespace, scopeId: r.scopeId })),
    anchorSeals(new TemporalSealAnchors(client.connection), (err) => {
      throw err;
    }),
  );
  return { ...(await reconcileOnce(client, store, sessionId, o.onProgress, o.repairedBy)).report, repaired: filled };
}

/**
 * The prune that removed the session, when the store recorded one for the month the
 * session started in and Temporal holds its anchor (see client/pruned-session.ts).
 */
export async function prunedSession(client: Client, store: Store, runs: readonly RunFacts[]): Promise<Omit<PrunedSession, 'sessionId'> | undefined> {
  const carried = runs.find((r) => r.scope?.sessionStartedAt)?.scope?.sessionStartedAt;
  const root = runs.find((r) => r.scope === null && r.previousRunId === null)?.startedAt;
  const start = carried ?? root;
  return start ? anchoredPrune(client, store, start) : undefined;
}

/** One reconcile, with the runs it read (touched holds the seals to their anchors by them). */
export async function reconcileOnce(
  client: Client,
  store: Store,
  sessionId: string,
  onProgress?: (historiesRead: number) => void,
  repairedBy?: string,
): Promise<{ report: ReconcileReport; runs: RunFacts[] }> {
  // History first: a row written after the walk could only be explained by history the walk
  // did not see, so the store is read after it.
  const runs = await collectSessionRuns(client, sessionId, onProgress);
  const [scopes, actions, manifests, receipts, filed] = await Promise.all([
    store.scopesOfSession(sessionId),
    store.actionsOfSession(sessionId),
    // The manifests that read: one row that does not is verify's to name, not a reason to stop here.
    store.storedManifests().then((s) => s.manifests.map((m) => m.manifest)),
    store.receipts().ofSession(sessionId),
    // Where each row is filed: rows of the session's ids under another session start are read
    // above with the rest, and would otherwise pass as the runs' own (store/placement-check.ts).
    store.filedRowsOfSession ? store.filedRowsOfSession(sessionId) : Promise.resolve([]),
  ]);
  if (scopes.length === 0 && actions.length === 0) {
    const pruned = await prunedSession(client, store, runs);
    if (pruned) {
      return { report: { sessionId, runs: runs.length, expected: { scopes: 0, actions: 0 }, stored: { scopes: 0, actions: 0, openInHistory: 0 }, differences: [], pruned }, runs };
    }
    // A workflow of the user's own whose id merely looks like a session's: no row of it, and its
    // type is no agent any worker of this store registered. Not a session with every row lost.
    const agents = new Set(manifests.map((m) => m.name));
    if (!runs.some((r) => r.startedByScopetrail !== false || agents.has(r.workflowType))) throw new SessionNotFoundError(sessionId);
  }
  const report = reconcileSession(sessionId, runs, scopes, actions, {
    knownAgents: new Set(manifests.map((m) => m.name)),
    namespace: client.options.namespace,
    ...(repairedBy ? { repairedBy } : {}),
  });
  const first = runs.find((r) => r.workflowId === sessionId && r.previousRunId === null);
  const misplaced = placementDifferences(sessionId, filed, { temporal: first?.startedAt ?? null, rootScope: scopes.find((s) => s.scopeId === sessionId)?.startedAt ?? null });
  // History cannot prove what a server did, so receipts are checked against the caller's rows instead.
  return { report: { ...report, differences: [...report.differences, ...misplaced, ...receiptDifferences(actions, receipts)] }, runs };
}
