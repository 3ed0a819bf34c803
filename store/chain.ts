/**
 * The hash chain over a scope's actions. Each action's hash covers the previous hash
 * and the canonical JSON of the record, so changing any field of any action, removing
 * one, or reordering them changes every hash after it; the scope's own hash covers its
 * record and the chain head, so its status cannot be rewritten unnoticed either. The
 * chain is computed by the store when a scope ends (and again if a late record
 * arrives), and recomputed by `verify`.
 */
import { createHash } from 'node:crypto';
import { rowKind } from './rows';
import { sha256Hex } from './sha256';
import { canonicalJson } from '../cim/canonical-json';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import { sealDifference, type Seal } from '../cim/seal';
import type { SessionChains } from './types';
import { awaitsOpenCalls } from './open-calls';

export interface ChainLink {
  actionId: string;
  seq: number;
  prevHash: string;
  hash: string;
}

const sha256 = sha256Hex;

export function chainGenesis(scope: Pick<ScopeRecord, 'namespace' | 'scopeId'>): string {
  return sha256(`scopetrail-chain:${scope.namespace}:${scope.scopeId}`);
}

/** Actions in chain order: by start, then id (both fixed once a record is written). */
export function chainOrder(a: ActionRecord, b: ActionRecord): number {
  return Date.parse(a.startedAt) - Date.parse(b.startedAt) || (a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0);
}

/**
 * What a chain covers: the record without its placement (the partition key says where a
 * row is kept, not what happened), so moving rows between partitions keeps their hashes.
 */
function hashed<T extends { sessionStartedAt?: string }>(record: T): Omit<T, 'sessionStartedAt'> {
  // A record read back has no placement: nothing to leave out, so no copy (canonical JSON
  // drops an undefined member all the same).
  if (record.sessionStartedAt === undefined) return record;
  const { sessionStartedAt: _placement, ...rest } = record;
  return rest;
}

/** Whether two action records are the same to a chain: a chain link over one holds for the other. */
export function sameChained(a: ActionRecord, b: ActionRecord): boolean {
  return canonicalJson(hashed(a)) === canonicalJson(hashed(b));
}

/** Whether two scope records are the same to a seal: the seal's scope hash over one holds for the other. */
export function sameSealedScope(a: ScopeRecord, b: ScopeRecord): boolean {
  return canonicalJson(hashed(a)) === canonicalJson(hashed(b));
}

export function computeChain(scope: Pick<ScopeRecord, 'namespace' | 'scopeId'>, actions: readonly ActionRecord[]): ChainLink[] {
  const links: ChainLink[] = [];
  eachLink(scope, actions, (actionId, prevHash, hash) => links.push({ actionId, seq: links.length + 1, prevHash, hash }));
  return links;
}

/** The chain as the sealer stores it (one `scope_chains` row): action ids and hashes in chain order, each link's previous hash implied. */
export function chainColumns(scope: Pick<ScopeRecord, 'namespace' | 'scopeId'>, actions: readonly ActionRecord[]): { actionIds: string[]; hashes: string[] } {
  const actionIds: string[] = [];
  const hashes: string[] = [];
  eachLink(scope, actions, (actionId, _prev, hash) => {
    actionIds.push(actionId);
    hashes.push(hash);
  });
  return { actionIds, hashes };
}

function eachLink(
  scope: Pick<ScopeRecord, 'namespace' | 'scopeId'>,
  actions: readonly ActionRecord[],
  link: (actionId: string, prevHash: string, hash: string) => void,
): void {
  let prev = chainGenesis(scope);
  // chainOrder with each start time parsed once, not once per comparison.
  const ordered = actions
    .map((action) => ({ action, at: Date.parse(action.startedAt) }))
    .sort((x, y) => x.at - y.at || (x.action.actionId < y.action.actionId ? -1 : x.action.actionId > y.action.actionId ? 1 : 0));
  for (const { action } of ordered) {
    const hash = sha256(`${prev}\n${canonicalJson(hashed(action))}`);
    link(action.actionId, prev, hash);
    prev = hash;
  }
}

export function scopeHash(scope: ScopeRecord, head: string, length: number): string {
  return sha256(`${head}\n${length}\n${canonicalJson(hashed(scope))}`);
}

export interface ChainProblem {
  scopeId: string;
  /** The record the problem is found at (an action id, or the scope id for the scope's own record). */
  recordId: string;
  problem:
    | 'unsealed'
    | 'changed'
    | 'removed'
    | 'inserted'
    | 'scope_changed'
    /**
     * The hashes stored with a sealed chain (its `scope_chains` rows, the scope's seal) were
     * edited, while the rows still hash to the seal anchored in Temporal: the record is intact,
     * the store's own copy of its proof is not.
     */
    | 'chain_changed'
    /** A model agent's conversation handed over by reference that is not the body its digest in history names, or is gone. */
    | 'conversation_changed'
    /** A recorded tool or LLM input or output whose body does not hash to the digest its sealed action holds. */
    | 'payload_changed'
    /** Fingerprint rows that do not match the output history holds: deleted, rewritten or added. */
    | 'fingerprint_changed'
    /** A row that does not parse as its record. */
    | 'invalid_row'
    /** Sealed in the store, but Temporal holds no seal of it. */
    | 'unanchored'
    /** The rows no longer hash to the seal anchored in Temporal when the scope ended. */
    | 'anchor_mismatch'
    /** A difference from Temporal history (see reconcile). */
    | 'history'
    /** An MCP receipt that does not match the server's signature over it. */
    | 'receipt_forged'
    /** An MCP receipt with no signature: it vouches for nothing. */
    | 'receipt_unsigned'
    /** An MCP receipt the reader cannot check: it holds no delegation key, or not the one it was signed under. */
    | 'receipt_unchecked'
    /** The manifest of an agent version that ran does not match its registering worker's signature. */
    | 'manifest_forged'
    /** The manifest of an agent version that ran has no signature. */
    | 'manifest_unsigned'
    /** The manifest of an agent version that ran cannot be checked: the reader holds no deployment key, or another. */
    | 'manifest_unchecked'
    /** An agent version ran in the session and the store holds no manifest of it. */
    | 'manifest_missing'
    /** A row of the session filed under another session start than the session's own (its partition key): reads by scope skip it. */
    | 'misplaced';
  detail: string;
}

/** What Temporal holds for a scope's seal. */
export type AnchorLookup =
  | { state: 'anchored'; seal: Seal }
  /** Temporal holds two different chains for the scope: it was sealed again after its rows changed. */
  | { state: 'conflicting'; seals: Seal[] }
  | { state: 'unreadable' }
  | { state: 'absent' };

export interface VerifyReport {
  sessionId: string;
  scopes: number;
  actions: number;
  /** Scopes whose seal was looked up in Temporal. */
  anchorsChecked: number;
  /** MCP receipts of the session held to their servers' signatures (absent where history could not be read). */
  receiptsChecked?: number;
  /** Manifests of the agent versions that ran in the session, held to their workers' signatures (absent likewise). */
  manifestsChecked?: number;
  /** Conversations handed over by reference, held to their digests in history (absent likewise). */
  conversationsChecked?: number;
  /** Outputs whose fingerprint rows were held to the outputs in history (absent likewise, or without a fingerprint key). */
  fingerprintsChecked?: number;
  problems: ChainProblem[];
}

/**
 * Recomputes every chain of a session from the rows as they are now and compares it
 * with what was sealed: a changed record breaks its own hash; a removed one breaks
 * the link of the record after it (or the length and head when it was last); a row
 * slipped in has no place in the sealed chain. The hashes in the store are only as good
 * as the store, so each chain is also recomputed from the rows and compared with the
 * seal anchored in Temporal (`anchors`, by scope id; a scope not in it is not checked).
 */
export function verifyChains(
  sessionId: string,
  { chains: stored, invalid }: SessionChains,
  anchors?: ReadonlyMap<string, AnchorLookup>,
  now = Date.now(),
): VerifyReport {
  const problems: ChainProblem[] = invalid.map((row) => ({
    scopeId: row.scopeId,
    recordId: row.id,
    problem: 'invalid_row' as const,
    detail: `${rowKind(row.table)} ${row.id} has an invalid field "${row.field}": ${row.message}`,
  }));
  let actions = invalid.filter((r) => r.table === 'actions').length;
  let anchorsChecked = 0;
  for (const s of stored) {
    actions += s.actions.length;
    const id = s.scope.scopeId;
    const anchor = anchors?.get(id);
    let rowsMatchAnchor = false;
    if (anchor) {
      // Absent is no seal compared: right for a scope not sealed yet, a finding (unanchored) for a sealed one.
      if (anchor.state !== 'absent') anchorsChecked += 1;
      const found = anchorProblems(s, anchor);
      problems.push(...found);
      rowsMatchAnchor = anchor.state === 'anchored' && found.length === 0;
    }
    if (s.scope.status === 'running') continue; // sealed when it ends
    const own = storedChainProblems(s, now);
    if (!rowsMatchAnchor || !own.length) problems.push(...own);
    else if (own[0]!.problem === 'unsealed') {
      // Anchoring comes first in a sealing transaction: one that did not commit leaves this too, until the sweep seals again.
      const ago = endedSecondsAgo(s.scope, now);
      const detail =
        ago !== undefined && ago < RECENT_END_S
          ? `scope ${id} ended ${ago} s ago and its sealing is under way: its seal is anchored in Temporal and its rows match it; the store's copy of the seal is not committed yet`
          : `scope ${id} is sealed in Temporal and its rows match that seal, but the store holds no seal of it (cleared, or its sealing did not commit)`;
      problems.push({ ...own[0]!, detail });
    } else {
      // The rows hash to the anchored seal, so no record changed: what disagrees is the store's copy of the proof.
      const gone = s.actions.length > 0 && s.actions.every((a) => a.hash === null);
      problems.push({
        scopeId: id,
        recordId: id,
        problem: 'chain_changed',
        detail: gone
          ? `the hashes stored with scope ${id}'s sealed chain were deleted, but its rows still match the seal anchored in Temporal: no record changed`
          : `the hashes stored with scope ${id}'s sealed chain were edited (at ${[...new Set(own.map((p) => p.recordId))].join(', ')}), but its rows still match the seal anchored in Temporal: no record changed`,
      });
    }
  }
  return { sessionId, scopes: stored.length + invalid.filter((r) => r.table === 'scopes').length, actions, anchorsChecked, problems };
}

/** How recent an end reads as sealing still to come rather than sealing that never happened. */
const RECENT_END_S = 60;

function endedSecondsAgo(scope: { endedAt: string | null }, now: number): number | undefined {
  const ended = scope.endedAt === null ? NaN : Date.parse(scope.endedAt);
  return Number.isFinite(ended) ? Math.max(0, Math.round((now - ended) / 100) / 10) : undefined;
}

/** One scope's rows checked against the hashes stored with them, the store's own copy of its seal. */
function storedChainProblems(s: SessionChains['chains'][number], now: number): ChainProblem[] {
  const id = s.scope.scopeId;
  const problems: ChainProblem[] = [];
  if (s.chainLength === null || s.scopeHash === null) {
    // One waiting for the calls its run left running is sealed after their ends (store/open-calls.ts).
    if (!awaitsOpenCalls(s.scope, now)) {
      const ago = endedSecondsAgo(s.scope, now);
      const detail = ago !== undefined && ago < RECENT_END_S
        ? `scope ${id} ended ${ago} s ago and is not sealed yet (a worker seals a scope once Temporal has closed its run)`
        : `scope ${id} ended but its chain was never sealed`;
      problems.push({ scopeId: id, recordId: id, problem: 'unsealed', detail });
    }
    return problems;
  }
  let prev = chainGenesis(s.scope);
  const sealed = s.actions.filter((a) => a.seq !== null).sort((a, b) => a.seq! - b.seq!);
  for (const a of s.actions.filter((x) => x.seq === null)) {
    problems.push({ scopeId: id, recordId: a.record.actionId, problem: 'inserted', detail: `action ${a.record.actionId} is not part of the sealed chain` });
  }
  for (const [i, a] of sealed.entries()) {
    if (a.prevHash !== prev) {
      const before = i === 0 ? 'the start of the chain' : sealed[i - 1]!.record.actionId;
      problems.push({
        scopeId: id,
        recordId: a.record.actionId,
        problem: 'removed',
        detail: `the chain is broken between ${before} and ${a.record.actionId} (seq ${a.seq}): a record was removed or reordered`,
      });
    }
    const recomputed = createHash('sha256').update(`${a.prevHash}\n${canonicalJson(hashed(a.record))}`).digest('hex');
    if (recomputed !== a.hash) {
      problems.push({ scopeId: id, recordId: a.record.actionId, problem: 'changed', detail: `action ${a.record.actionId} was changed after it was sealed` });
    }
    prev = a.hash ?? '';
  }
  if (sealed.length !== s.chainLength) {
    // More than were sealed: rows were added (or moved here from another scope), not removed.
    const more = s.chainLength !== null && sealed.length > s.chainLength;
    problems.push({
      scopeId: id,
      recordId: id,
      problem: more ? 'inserted' : 'removed',
      detail: `scope ${id} sealed ${s.chainLength} actions, ${sealed.length} ${more ? 'are there now' : 'remain'}`,
    });
  } else if ((sealed.at(-1)?.hash ?? null) !== s.chainHead) {
    problems.push({ scopeId: id, recordId: id, problem: 'removed', detail: `scope ${id}: the last sealed action is gone or changed` });
  }
  if (scopeHash(s.scope, s.chainHead ?? '', s.chainLength) !== s.scopeHash) {
    problems.push({ scopeId: id, recordId: id, problem: 'scope_changed', detail: `scope ${id}'s own record was changed after it was sealed` });
  }
  return problems;
}

function anchorProblems(s: SessionChains['chains'][number], anchor: AnchorLookup): ChainProblem[] {
  const id = s.scope.scopeId;
  const at = { scopeId: id, recordId: id };
  if (anchor.state === 'absent') {
    // An ended scope not yet sealed has no anchor yet either; `unsealed` already says so.
    return s.chainLength === null || s.scope.status === 'running'
      ? []
      : [{ ...at, problem: 'unanchored', detail: `scope ${id} is sealed in the store, but Temporal holds no seal of it` }];
  }
  if (anchor.state === 'unreadable') {
    return [{ ...at, problem: 'anchor_mismatch', detail: `the seal of scope ${id} in Temporal is unreadable` }];
  }
  if (anchor.state === 'conflicting') {
    return [
      {
        ...at,
        problem: 'anchor_mismatch',
        detail: `scope ${id} was sealed ${anchor.seals.length} times in Temporal with different chains (${anchor.seals.map((x) => `${x.length} actions, head ${(x.head ?? 'none').slice(0, 12)}`).join('; ')}): its rows changed after it was first sealed`,
      },
    ];
  }
  if (s.scope.status === 'running') {
    return [{ ...at, problem: 'scope_changed', detail: `scope ${id} was sealed when it ended, yet the store says it is running` }];
  }
  const chain = computeChain(s.scope, s.actions.map((a) => a.record));
  const head = chain.at(-1)?.hash ?? null;
  const now = { length: chain.length, head, scopeHash: scopeHash(s.scope, head ?? '', chain.length) };
  const differs = sealDifference(anchor.seal, now);
  return differs
    ? [{ ...at, problem: 'anchor_mismatch', detail: `scope ${id} no longer matches the seal anchored in Temporal when it ended: ${differs}` }]
    : [];
}
