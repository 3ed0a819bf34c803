/**
 * verify(session): the hash chains of the store, checked against what the store cannot
 * rewrite. Each chain is recomputed from the rows and compared with the seal anchored in
 * Temporal when its scope ended, and the rows are reconciled with the session's
 * histories, so a deleted scope, a forged one, or an edit inside a scope still running
 * (none of which any stored hash covers) is named too.
 */
import type { Client } from '@temporalio/client';
import { reconcileSession, runScopeId, type RunFacts } from '../cim/reconcile';
import { verifyChains, type AnchorLookup, type ChainProblem, type VerifyReport } from '../store/chain';
import type { SessionChains, Store } from '../store/types';
import type { SealAnchors } from '../store/seal-anchor';
import type { TextCodec } from '../store/text-codec';
import { decodeAction, decodeScope } from '../store/encoded-records';
import { collectSessionRuns, SessionNotFoundError } from './history';

/** Anchors read at once. */
const CONCURRENCY = 8;

export async function verifySession(
  temporal: Client,
  store: Store,
  anchors: SealAnchors,
  sessionId: string,
  stored: SessionChains,
  text?: TextCodec,
): Promise<VerifyReport> {
  let runs: RunFacts[];
  try {
    runs = await collectSessionRuns(temporal, sessionId);
  } catch (err) {
    if (!(err instanceof SessionNotFoundError)) throw err;
    // Without history there is nothing outside the database to check against.
    const report = verifyChains(sessionId, stored);
    report.problems.push({
      scopeId: sessionId,
      recordId: sessionId,
      problem: 'history',
      detail: `session ${sessionId} is not in Temporal (past its retention?): its seals and history cannot be checked`,
    });
    return report;
  }
  const lookups = await readAnchors(anchors, temporal.options.namespace, runs, stored);
  const report = verifyChains(sessionId, stored, lookups);
  // Chains are hashed over the rows as stored; history is compared with what they decode to.
  const scopes = await Promise.all(stored.chains.map((c) => (text ? decodeScope(text, c.scope) : c.scope)));
  const actions = await Promise.all(stored.chains.flatMap((c) => c.actions.map((a) => (text ? decodeAction(text, a.record) : a.record))));
  const manifests = await store.manifests();
  const history = reconcileSession(sessionId, runs, scopes, actions, { knownAgents: new Set(manifests.map((m) => m.name)) });
  report.problems.push(
    ...history.differences.map(
      (d): ChainProblem => ({ scopeId: d.scopeId, recordId: d.id, problem: 'history', detail: `${d.kind} ${d.record}: ${d.detail}` }),
    ),
  );
  return report;
}

/**
 * The anchor of every scope history knows. Anchors are looked up by the run ids
 * history gives (the stored one first when history confirms it), never by the stored
 * run id alone, which a database writer could point elsewhere.
 */
async function readAnchors(
  anchors: SealAnchors,
  namespace: string,
  runs: readonly RunFacts[],
  stored: SessionChains,
): Promise<Map<string, AnchorLookup>> {
  const runIds = new Map<string, string[]>();
  for (const run of runs) {
    const id = runScopeId(run);
    runIds.set(id, [...(runIds.get(id) ?? []), run.runId]);
  }
  const storedRun = new Map(stored.chains.map((c) => [c.scope.scopeId, c.scope.runId]));
  const result = new Map<string, AnchorLookup>();
  const queue = [...runIds.entries()];
  const work = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [scopeId, ids] = next;
      const preferred = storedRun.get(scopeId);
      const order = preferred && ids.includes(preferred) ? [preferred, ...ids.filter((r) => r !== preferred)] : ids;
      let lookup: AnchorLookup = { state: 'absent' };
      for (const runId of order) {
        const found = await anchors.read(namespace, scopeId, runId);
        if (!found.found) continue;
        lookup = found.seal ? { state: 'anchored', seal: found.seal } : { state: 'unreadable' };
        break;
      }
      result.set(scopeId, lookup);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, work));
  return result;
}
