/**
 * The action records this worker committed, kept by scope until the scope is sealed,
 * so the sealer can hash them without reading them back (store/seal-source.ts decides
 * whether the store proves them current). Bounded: past `maxRecords` the oldest scopes
 * are forgotten, and a forgotten scope is simply read back when it is sealed.
 *
 * An ended scope whose records are hashed ahead of its sealing keeps only what sealing
 * needs of them: the chain, how many records it covers and the transactions that wrote
 * them (a scope of one or two actions, which that would not shrink, keeps its records
 * beside the chain). That is about a tenth of the records' memory, so a burst of writes
 * can end many more scopes before the cache is full, and hashing them (on this thread,
 * beside the writes) costs less than sealing them there (hashing plus a transaction's
 * statements).
 */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { CommittedActions, ScopeKey } from '../store/types';
import type { Hashed } from '../store/seal-source';
import { yielder } from '../store/yielding';

/** What a batch's writes give the cache: its records (and, once committed, its transaction). */
export interface CommittedBatch {
  actions?: readonly ActionRecord[];
  gaps?: readonly ActionRecord[];
  scopes?: readonly ScopeRecord[];
}

/** Chains of scopes hashed from one batch while it was being written (see `hashWhileWriting`), by cache key. */
export type BatchChains = ReadonlyMap<string, { hashed: Hashed; count: number }>;

/** Hashing of a batch's scopes under way; `stop` ends it and gives the chains hashed so far. */
export interface BatchHashing {
  stop(): BatchChains;
  /** Ends it when the write failed: nothing it hashed is used. */
  cancel(): void;
  /** Settles when every scope it could take is hashed, or it was stopped. */
  finished: Promise<void>;
}

interface Held {
  /** Empty once the scope is compacted. */
  actions: Map<string, { record: ActionRecord; xid: string }>;
  /** Written by a gap fill, which merges with the stored row: only the store knows the result. */
  tainted: boolean;
  ended: boolean;
  /** The chain of the records as they are now, hashed ahead of sealing; dropped when one is added. */
  hashed?: Hashed;
  /** Set when the records were dropped after hashing: what proving them current needs of them. */
  compact?: { count: number; xids: string[] };
}

const key = (namespace: string, scopeId: string) => `${namespace}\u0000${scopeId}`;

/**
 * What a compacted scope counts for against the bound, in records: one for the scope and
 * one per ten of its actions. Measured on the benchmark's records: about 1 KB per record
 * held, against about 0.4 KB per scope and 90 bytes per action of its chain's text.
 */
export function compactWeight(count: number): number {
  return 1 + Math.ceil(count / 10);
}

const weightOf = (held: Held): number => (held.compact ? compactWeight(held.compact.count) : held.actions.size);

export class CommittedActionCache implements CommittedActions {
  private readonly scopes = new Map<string, Held>();
  /** What the cache holds, in records (a compacted scope by `compactWeight`). */
  private records = 0;
  /** Of `records`, those of ended scopes: what sealing will take (see `awaitingSeal`). */
  private endedRecords = 0;
  /** Records of ended scopes not hashed ahead: what hashing ahead could compact. */
  private endedFull = 0;

  constructor(private readonly maxRecords = 100_000) {}

  /** How many records it keeps at most. */
  get capacity(): number {
    return this.maxRecords;
  }

  /** Whether holding the batch's records would pass the bound, so that some would be forgotten. */
  wouldOverflow(batch: CommittedBatch): boolean {
    return this.records + (batch.actions?.length ?? 0) > this.maxRecords;
  }

  /**
   * Hashes, while the batch is being written, the scopes that end in it with every record
   * in it (none running, no gap fill, nothing held for them from before, more than two
   * actions, so that their chains take less room than their records), in slices that give
   * the event loop a turn every millisecond. `committed` then keeps only their chains. For
   * a batch larger than the cache's room: its records would otherwise be forgotten at once
   * and read back at sealing, and the thread has nothing else to do while Postgres writes
   * them. What is not hashed when the write ends is held, or forgotten, as before.
   */
  hashWhileWriting(
    batch: CommittedBatch,
    hash: (namespace: string, scopeId: string, records: readonly ActionRecord[]) => Hashed | undefined,
  ): BatchHashing {
    const chains = new Map<string, { hashed: Hashed; count: number }>();
    let stopped = false;
    const finished = (async () => {
      // The write's statement is sent first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const pause = yielder(1);
      for (const [id, { scope, records }] of endedWhole(batch)) {
        if (this.scopes.has(id)) continue;
        const turn = pause();
        if (turn) await turn;
        if (stopped) return;
        let hashed: Hashed | undefined;
        try {
          hashed = hash(scope.namespace, scope.scopeId, records);
        } catch {
          // Its records are held as any others, and their row read back if they cannot be hashed then either.
          hashed = undefined;
        }
        if (hashed) chains.set(id, { hashed, count: records.length });
      }
    })();
    return {
      stop: () => {
        stopped = true;
        return chains;
      },
      cancel: () => {
        stopped = true;
        chains.clear();
      },
      finished,
    };
  }

  /**
   * Mirrors the store's upsert rules for a batch committed in transaction `xid`. Scopes in
   * `chains` (hashed from this batch while it was written) keep only their chain, unless
   * something of theirs is held already (another commit got there first): then their
   * records are held like any others.
   */
  committed(batch: CommittedBatch, xid: string, chains?: BatchChains): void {
    const compacted = new Set<string>();
    for (const id of chains?.keys() ?? []) if (!this.scopes.has(id)) compacted.add(id);
    // A batch's actions come scope by scope: the scope of the one before is looked up once.
    let last: { namespace: string; scopeId: string; held: Held | undefined } | undefined;
    for (const a of batch.actions ?? []) {
      if (last?.scopeId !== a.scopeId || last.namespace !== a.namespace) {
        const id = key(a.namespace, a.scopeId);
        last = { namespace: a.namespace, scopeId: a.scopeId, held: compacted.has(id) ? undefined : this.held(a.namespace, a.scopeId) };
      }
      const held = last.held;
      // Its chain covers this record already.
      if (!held) continue;
      // A record after the records were dropped: the chain no longer covers the scope, and
      // what it covered is gone, so the scope is read back when it is sealed. Where the
      // records were kept, the chain is hashed again from them.
      if (held.compact) this.taint(held);
      else if (held.hashed) this.rehash(held);
      const before = held.actions.get(a.actionId);
      if (!before) {
        this.records += 1;
        if (held.ended) {
          this.endedRecords += 1;
          this.endedFull += 1;
        }
      }
      // As the upsert: a finished row keeps its values against a late `running` copy, but
      // the row is rewritten all the same, so its version is this transaction's.
      const record = before && before.record.status !== 'running' && a.status === 'running' ? before.record : a;
      held.actions.set(a.actionId, { record, xid });
    }
    for (const g of batch.gaps ?? []) {
      const held = this.held(g.namespace, g.scopeId);
      if (held.compact) this.taint(held);
      held.tainted = true;
    }
    for (const s of batch.scopes ?? []) {
      if (s.status === 'running' || compacted.has(key(s.namespace, s.scopeId))) continue;
      const held = this.held(s.namespace, s.scopeId);
      if (held.ended) continue;
      this.account(held, -1);
      held.ended = true;
      this.account(held, 1);
    }
    // After the scopes held whole, which are the first forgotten if the batch overflows the
    // cache all the same: each of them frees more room.
    for (const id of compacted) {
      const { hashed, count } = chains!.get(id)!;
      const held: Held = { actions: new Map(), tainted: false, ended: true, hashed, compact: { count, xids: [xid] } };
      this.scopes.set(id, held);
      this.account(held, 1);
    }
    this.trim();
  }

  of(namespace: string, scopeId: string): ReturnType<CommittedActions['of']> {
    const held = this.scopes.get(key(namespace, scopeId));
    if (!held || held.tainted) return undefined;
    if (held.compact) return { count: held.compact.count, xids: held.compact.xids, hashed: held.hashed };
    const actions: ActionRecord[] = [];
    const xids = new Set<string>();
    for (const { record, xid } of held.actions.values()) {
      if (record.status === 'running') return undefined;
      actions.push(record);
      xids.add(xid);
    }
    const mine = { actions, count: actions.length, xids: [...xids] };
    return held.hashed ? { ...mine, hashed: held.hashed } : mine;
  }

  /**
   * Hashes an ended scope's held records ahead of its sealing and keeps only the chain
   * (see the top of this file) where that takes less room than the records (a scope of
   * more than two actions); true when it hashed. A scope whose stored form cannot be
   * known here (`hash` answers undefined) keeps its records.
   */
  hashAhead(
    { namespace, scopeId }: ScopeKey,
    hash: (namespace: string, scopeId: string, records: readonly ActionRecord[]) => Hashed | undefined,
  ): boolean {
    const held = this.scopes.get(key(namespace, scopeId));
    if (!held?.ended || held.hashed) return false;
    const mine = this.of(namespace, scopeId);
    if (!mine?.actions) return false;
    const hashed = hash(namespace, scopeId, mine.actions);
    if (!hashed) return false;
    this.account(held, -1);
    held.hashed = hashed;
    if (compactWeight(mine.count) < mine.count) {
      held.compact = { count: mine.count, xids: [...mine.xids] };
      held.actions = new Map();
    }
    this.account(held, 1);
    return true;
  }

  /** Drops the ended scopes among `keys` (they were just sealed, or never will be by this worker). */
  sealed(keys: readonly ScopeKey[]): void {
    for (const k of keys) {
      const id = key(k.namespace, k.scopeId);
      const held = this.scopes.get(id);
      if (held?.ended) this.drop(id, held);
    }
  }

  /** What it holds, in records (a compacted scope counts as `compactWeight`). */
  get size(): number {
    return this.records;
  }

  /** Held for scopes that ended (in records, as `size`): the sealer's backlog, not the records of scopes still running. */
  get awaitingSeal(): number {
    return this.endedRecords;
  }

  /** Records of ended scopes not hashed ahead: at most what hashing ahead could shrink (not a small scope, nor one with a gap fill or a running record). */
  get hashable(): number {
    return this.endedFull;
  }

  private held(namespace: string, scopeId: string): Held {
    const id = key(namespace, scopeId);
    let held = this.scopes.get(id);
    if (!held) {
      held = { actions: new Map(), tainted: false, ended: false };
      this.scopes.set(id, held);
    }
    return held;
  }

  /** A compacted scope becomes an empty, tainted one: what it covered is read back. */
  private taint(held: Held): void {
    this.account(held, -1);
    held.compact = undefined;
    held.hashed = undefined;
    held.tainted = true;
    this.account(held, 1);
  }

  /** A chain hashed ahead over records that were kept no longer covers them once one is added. */
  private rehash(held: Held): void {
    this.account(held, -1);
    held.hashed = undefined;
    this.account(held, 1);
  }

  private account(held: Held, sign: 1 | -1): void {
    const weight = weightOf(held);
    this.records += sign * weight;
    if (!held.ended) return;
    this.endedRecords += sign * weight;
    if (!held.hashed) this.endedFull += sign * held.actions.size;
  }

  private drop(id: string, held: Held): void {
    this.account(held, -1);
    this.scopes.delete(id);
  }

  private trim(): void {
    for (const [id, held] of this.scopes) {
      if (this.records <= this.maxRecords) return;
      this.drop(id, held);
    }
  }
}

/**
 * The batch's scopes that end in it with all their records in it, as `hashWhileWriting`
 * takes them: no running record, no gap fill, no action twice (the upsert's merge of two
 * copies is left to the normal path), more than two actions.
 */
function endedWhole(batch: CommittedBatch): Map<string, { scope: ScopeRecord; records: ActionRecord[] }> {
  const ended = new Map<string, { scope: ScopeRecord; records: ActionRecord[] }>();
  for (const s of batch.scopes ?? []) if (s.status !== 'running') ended.set(key(s.namespace, s.scopeId), { scope: s, records: [] });
  const unfit = new Set<string>();
  for (const g of batch.gaps ?? []) unfit.add(key(g.namespace, g.scopeId));
  const seen = new Set<string>();
  for (const a of batch.actions ?? []) {
    const id = key(a.namespace, a.scopeId);
    const entry = ended.get(id);
    if (!entry) continue;
    const action = `${id}\u0000${a.actionId}`;
    if (a.status === 'running' || seen.has(action)) unfit.add(id);
    seen.add(action);
    entry.records.push(a);
  }
  for (const [id, { records }] of ended) if (unfit.has(id) || records.length <= 2) ended.delete(id);
  return ended;
}
