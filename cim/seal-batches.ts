/**
 * Seals anchored together. One anchor per scope cost a workflow start and a terminate
 * each (several milliseconds of Temporal server CPU, and two round trips from the
 * worker), so the sealer anchors the seals of one session's scopes sealed in the same
 * batch as one closed workflow: its memo lists them, and its id begins with the
 * session's (`scopetrail-seals/<session>/`), so one visibility query by id prefix finds
 * every seal of a session. The anchors carry no search attribute: a query for a
 * session's runs by `ScopetrailSession` lists its scopes, not its seals.
 *
 * A per-scope workflow id let Temporal itself refuse a second seal of a scope. Here the
 * sealer reads the session's anchors before sealing a scope that may have been sealed
 * before (one the sweep found) and refuses a seal that differs from one anchored; a
 * second, different seal that is written all the same (within the visibility lag, or by
 * another writer) stays in Temporal next to the first, and verify names a scope
 * anchored with two different chains. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical-json';
import { Seal, sameSeal } from './seal';
import { SESSION_ID_PATTERN } from './scope-context';

/** Memo key of a batch anchor. */
export const SEALS_MEMO = 'scopetrailSeals';

/** Seals one anchor holds at most: its memo stays far below Temporal's payload limits (about 250 bytes a seal). */
export const MAX_SEALS_PER_ANCHOR = 200;

/**
 * Session ids a visibility query may quote, and whose anchor id prefix names no other
 * session (no `/`): those scopetrail itself accepts. A seal is computed from a stored
 * row, which a database writer could have given any session id; such a seal is anchored
 * on its own (per scope), never spliced into a query.
 */
export function quotableSession(sessionId: string): boolean {
  return SESSION_ID_PATTERN.test(sessionId);
}

const SealEntry = Seal.pick({ scopeId: true, runId: true, length: true, head: true, scopeHash: true });

/** Parsed leniently: each entry on its own (see sealsOfMemo). */
const MemoEnvelope = z.object({
  namespace: z.string().min(1),
  sessionId: z.string().min(1),
  seals: z.array(z.unknown()).min(1).max(MAX_SEALS_PER_ANCHOR),
});
export type SealBatchMemo = { namespace: string; sessionId: string; seals: Array<z.infer<typeof SealEntry>> };

export function batchMemo(seals: readonly Seal[]): SealBatchMemo {
  const first = seals[0]!;
  return {
    namespace: first.namespace,
    sessionId: first.sessionId,
    seals: seals.map((s) => ({ scopeId: s.scopeId, runId: s.runId, length: s.length, head: s.head, scopeHash: s.scopeHash })),
  };
}

/**
 * The seals a batch anchor's memo holds. An entry that does not parse names no scope it
 * could be held against, so it is dropped; a scope whose only seal it was then looks
 * unanchored, which verify reports.
 */
export function sealsOfMemo(memo: unknown): Seal[] {
  const parsed = MemoEnvelope.safeParse(memo);
  if (!parsed.success) return [];
  const { namespace, sessionId } = parsed.data;
  return parsed.data.seals.flatMap((entry) => {
    const seal = SealEntry.safeParse(entry);
    return seal.success ? [{ namespace, sessionId, ...seal.data }] : [];
  });
}

/**
 * The anchors to write for `seals`: grouped by namespace and session, at most
 * MAX_SEALS_PER_ANCHOR each, scopes in id order so the same seals always make the same
 * anchors (and the same ids).
 */
export function sealBatches(seals: readonly Seal[]): Seal[][] {
  const groups = new Map<string, Seal[]>();
  for (const seal of seals) {
    const key = `${seal.namespace}\u0000${seal.sessionId}`;
    const group = groups.get(key);
    if (group) group.push(seal);
    else groups.set(key, [seal]);
  }
  const batches: Seal[][] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => (a.scopeId < b.scopeId ? -1 : a.scopeId > b.scopeId ? 1 : a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
    for (let i = 0; i < group.length; i += MAX_SEALS_PER_ANCHOR) batches.push(group.slice(i, i + MAX_SEALS_PER_ANCHOR));
  }
  return batches;
}

/** The start of every batch anchor's id. */
export const SEAL_BATCH_PREFIX = 'scopetrail-seals/';

/** The start of the ids of a session's batch anchors (a quotable session id ends at the `/`). */
export function sealBatchPrefix(sessionId: string): string {
  return `${SEAL_BATCH_PREFIX}${sessionId}/`;
}

/**
 * A batch anchor's workflow id: the session and a digest of exactly what it holds. A
 * sealer retrying the same batch (its store write was lost) meets its own anchor and
 * Temporal's duplicate check, instead of writing a second copy.
 */
export function sealBatchAnchorId(seals: readonly Seal[]): string {
  const memo = batchMemo(seals);
  const digest = createHash('sha256').update(canonicalJson(memo)).digest('hex').slice(0, 32);
  return `${sealBatchPrefix(memo.sessionId)}${digest}`;
}

/** Key of a scope's run among anchored seals. */
export function sealKey(scopeId: string, runId: string): string {
  return `${scopeId}\u0000${runId}`;
}

/** Anchored seals by scope run. */
export function sealsByRun(seals: Iterable<Seal>): Map<string, Seal[]> {
  const byRun = new Map<string, Seal[]>();
  for (const seal of seals) {
    const key = sealKey(seal.scopeId, seal.runId);
    const found = byRun.get(key);
    if (!found) byRun.set(key, [seal]);
    else if (!found.some((s) => sameSeal(s, seal))) found.push(seal);
  }
  return byRun;
}

export type PriorAnchor =
  /** Temporal holds no seal of this scope run. */
  | { state: 'none' }
  /** Temporal holds this very seal (a seal whose store write was lost, or a second sealer). */
  | { state: 'same' }
  /** Temporal holds another chain for it: the rows changed since it was sealed. */
  | { state: 'conflict'; anchored: Seal };

/** What Temporal already holds for a seal about to be anchored. */
export function priorAnchor(seal: Seal, anchored: readonly Seal[] | undefined): PriorAnchor {
  if (!anchored || anchored.length === 0) return { state: 'none' };
  const other = anchored.find((s) => !sameSeal(s, seal));
  return other ? { state: 'conflict', anchored: other } : { state: 'same' };
}

/** What verify holds a scope against: the seal of the first of its runs that Temporal has one for. */
export type AnchoredSeal =
  | { state: 'anchored'; seal: Seal }
  /** Two different chains anchored for one run: someone sealed it again. */
  | { state: 'conflicting'; seals: Seal[] }
  | { state: 'absent' };

/** `runIds` in order of preference (the stored run first when history confirms it). */
export function anchoredSealOf(scopeId: string, runIds: readonly string[], byRun: ReadonlyMap<string, readonly Seal[]>): AnchoredSeal {
  for (const runId of runIds) {
    const seals = byRun.get(sealKey(scopeId, runId));
    if (!seals || seals.length === 0) continue;
    return seals.length === 1 ? { state: 'anchored', seal: seals[0]! } : { state: 'conflicting', seals: [...seals] };
  }
  return { state: 'absent' };
}
