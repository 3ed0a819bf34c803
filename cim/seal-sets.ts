/**
 * Seals of several sessions anchored together. A session's own anchors (seal-batches.ts)
 * still cost one anchor per session and sealer batch, and a short session has one scope:
 * a workflow start and a timeout in Temporal per session, 5-7 ms of server CPU against
 * about 30 for the rest of a two-tool session. Where the namespace has the KeywordList
 * search attribute SEALED_SESSIONS_ATTRIBUTE, one anchor holds the seals of every session
 * a sealer batch sealed; the attribute lists those sessions, so a query for one session
 * (`ScopetrailSealedSessions = '<session>'`) finds every anchor holding its seals, and
 * the anchor's start input says which seal is whose (not its memo: every visibility
 * listing carries the memo, and Temporal warns about one over 2 KB, about five seals).
 * Found by Temporal alone, as before: a database writer cannot hide an anchor by editing
 * rows. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical-json';
import { Seal } from './seal';
import { MAX_SEALS_PER_ANCHOR, quotableSession } from './seal-batches';
import { SEALED_SESSIONS_ATTRIBUTE } from './names';

export { SEALED_SESSIONS_ATTRIBUTE };

/** The start of every such anchor's id (not under seal-batches' per-session prefix). */
export const SEAL_SET_PREFIX = 'scopetrail-sealset/';

/**
 * Bytes of the session list an anchor's search attribute may take, as JSON. Temporal
 * refuses a search attribute value over 2 KB by default (`limit.searchAttributesSizeOfValueBytes`);
 * this leaves room for its encoding. Session ids are ASCII (SESSION_ID_PATTERN).
 */
export const MAX_SESSION_LIST_BYTES = 1_600;

const SetEntry = Seal.pick({ sessionId: true, scopeId: true, runId: true, length: true, head: true, scopeHash: true });

/** Parsed leniently: each entry on its own (see sealsOfSetInput). */
const SetEnvelope = z.object({
  namespace: z.string().min(1),
  seals: z.array(z.unknown()).min(1).max(MAX_SEALS_PER_ANCHOR),
});
export type SealSetInput = { namespace: string; seals: Array<z.infer<typeof SetEntry>> };

export function sealSetInput(seals: readonly Seal[]): SealSetInput {
  return {
    namespace: seals[0]!.namespace,
    seals: seals.map((s) => ({ sessionId: s.sessionId, scopeId: s.scopeId, runId: s.runId, length: s.length, head: s.head, scopeHash: s.scopeHash })),
  };
}

/**
 * The seals an anchor's input holds. An entry that does not parse names no scope it could
 * be held against, so it is dropped (the scope then looks unanchored, which verify reports).
 */
export function sealsOfSetInput(input: unknown): Seal[] {
  const parsed = SetEnvelope.safeParse(input);
  if (!parsed.success) return [];
  const { namespace } = parsed.data;
  return parsed.data.seals.flatMap((entry) => {
    const seal = SetEntry.safeParse(entry);
    return seal.success ? [{ namespace, ...seal.data }] : [];
  });
}

/** The sessions an anchor's search attribute lists: those its seals belong to, sorted. */
export function sealSetSessions(seals: readonly Seal[]): string[] {
  return [...new Set(seals.map((s) => s.sessionId))].sort();
}

/** Bytes of the session list as the search attribute's JSON. */
function listBytes(sessions: readonly string[]): number {
  return Buffer.byteLength(JSON.stringify(sessions));
}


const bySessionThenScope = (a: Seal, b: Seal): number =>
  a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : a.scopeId < b.scopeId ? -1 : a.scopeId > b.scopeId ? 1 : a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0;

/**
 * The anchors to write for `seals`, whose sessions must be quotable: grouped by namespace,
 * in session and scope order (the same seals always make the same anchors, and the same
 * ids), each with at most MAX_SEALS_PER_ANCHOR seals and MAX_SESSION_LIST_BYTES of
 * session list.
 */
export function sealSets(seals: readonly Seal[]): Seal[][] {
  for (const s of seals) {
    if (!quotableSession(s.sessionId)) throw new TypeError(`sealSets: session id ${JSON.stringify(s.sessionId)} cannot be listed in a search attribute`);
  }
  const byNamespace = new Map<string, Seal[]>();
  for (const seal of seals) {
    const group = byNamespace.get(seal.namespace);
    if (group) group.push(seal);
    else byNamespace.set(seal.namespace, [seal]);
  }
  const sets: Seal[][] = [];
  for (const group of byNamespace.values()) {
    group.sort(bySessionThenScope);
    let current: Seal[] = [];
    let sessions: string[] = [];
    for (const seal of group) {
      const newSession = sessions.at(-1) !== seal.sessionId;
      const full =
        current.length > 0 &&
        (current.length >= MAX_SEALS_PER_ANCHOR || (newSession && listBytes([...sessions, seal.sessionId]) > MAX_SESSION_LIST_BYTES));
      if (full) {
        sets.push(current);
        current = [];
        sessions = [];
      }
      current.push(seal);
      if (sessions.at(-1) !== seal.sessionId) sessions.push(seal.sessionId);
    }
    if (current.length) sets.push(current);
  }
  return sets;
}

/**
 * An anchor's workflow id: a digest of exactly what it holds. A sealer retrying the same
 * batch (its store write was lost) meets its own anchor and Temporal's duplicate check
 * instead of writing a second copy.
 */
export function sealSetAnchorId(seals: readonly Seal[]): string {
  const digest = createHash('sha256').update(canonicalJson(sealSetInput(seals))).digest('hex').slice(0, 32);
  return `${SEAL_SET_PREFIX}${digest}`;
}

/** The visibility query for the anchors holding seals of any of `sessionIds` (all quotable). */
export function sealSetQuery(anchorType: string, sessionIds: readonly string[]): string {
  for (const id of sessionIds) {
    if (!quotableSession(id)) throw new TypeError(`sealSetQuery: session id ${JSON.stringify(id)} cannot be quoted into a query`);
  }
  return `WorkflowType = '${anchorType}' AND ${SEALED_SESSIONS_ATTRIBUTE} IN (${sessionIds.map((id) => `'${id}'`).join(', ')})`;
}
