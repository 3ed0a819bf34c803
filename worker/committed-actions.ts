/**
 * The action records this worker committed, kept by scope until the scope is sealed,
 * so the sealer can hash them without reading them back (store/seal-source.ts decides
 * whether the store proves them current). Bounded: past `maxRecords` the oldest scopes
 * are forgotten, and a forgotten scope is simply read back when it is sealed.
 */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { CommittedActions, ScopeKey } from '../store/types';
import type { Hashed } from '../store/seal-source';

interface Held {
  actions: Map<string, { record: ActionRecord; xid: string }>;
  /** Written by a gap fill, which merges with the stored row: only the store knows the result. */
  tainted: boolean;
  ended: boolean;
  /** The chain of the records as they are now, hashed ahead of sealing; dropped when one is added. */
  hashed?: Hashed;
}

const key = (namespace: string, scopeId: string) => `${namespace}\u0000${scopeId}`;

export class CommittedActionCache implements CommittedActions {
  private readonly scopes = new Map<string, Held>();
  private records = 0;
  /** Of `records`, those of ended scopes: what sealing will take (see `awaitingSeal`). */
  private endedRecords = 0;

  constructor(private readonly maxRecords = 100_000) {}

  /** How many records it keeps at most. */
  get capacity(): number {
    return this.maxRecords;
  }

  /** Mirrors the store's upsert rules for a batch committed in transaction `xid`. */
  committed(batch: { actions?: readonly ActionRecord[]; gaps?: readonly ActionRecord[]; scopes?: readonly ScopeRecord[] }, xid: string): void {
    for (const a of batch.actions ?? []) {
      const held = this.held(a.namespace, a.scopeId);
      const before = held.actions.get(a.actionId);
      if (!before) {
        this.records += 1;
        if (held.ended) this.endedRecords += 1;
      }
      // As the upsert: a finished row keeps its values against a late `running` copy, but
      // the row is rewritten all the same, so its version is this transaction's.
      const record = before && before.record.status !== 'running' && a.status === 'running' ? before.record : a;
      held.actions.set(a.actionId, { record, xid });
      held.hashed = undefined;
    }
    for (const g of batch.gaps ?? []) this.held(g.namespace, g.scopeId).tainted = true;
    for (const s of batch.scopes ?? []) {
      if (s.status === 'running') continue;
      const held = this.held(s.namespace, s.scopeId);
      if (!held.ended) this.endedRecords += held.actions.size;
      held.ended = true;
    }
    this.trim();
  }

  of(namespace: string, scopeId: string): ReturnType<CommittedActions['of']> {
    const held = this.scopes.get(key(namespace, scopeId));
    if (!held || held.tainted) return undefined;
    const actions: ActionRecord[] = [];
    const xids = new Set<string>();
    for (const { record, xid } of held.actions.values()) {
      if (record.status === 'running') return undefined;
      actions.push(record);
      xids.add(xid);
    }
    return held.hashed ? { actions, xids: [...xids], hashed: held.hashed } : { actions, xids: [...xids] };
  }

  /** Hashes an ended scope's held records ahead of its sealing (kept until a record is added to it); true when it did. */
  hashAhead(
    { namespace, scopeId }: ScopeKey,
    hash: (namespace: string, scopeId: string, records: readonly ActionRecord[]) => Hashed | undefined,
  ): boolean {
    const held = this.scopes.get(key(namespace, scopeId));
    if (!held?.ended || held.hashed) return false;
    const mine = this.of(namespace, scopeId);
    held.hashed = mine && hash(namespace, scopeId, mine.actions);
    return held.hashed !== undefined;
  }

  /** Drops the ended scopes among `keys` (they were just sealed, or never will be by this worker). */
  sealed(keys: readonly ScopeKey[]): void {
    for (const k of keys) {
      const id = key(k.namespace, k.scopeId);
      const held = this.scopes.get(id);
      if (held?.ended) this.drop(id, held);
    }
  }

  get size(): number {
    return this.records;
  }

  /** Records held for scopes that ended: the sealer's backlog, not the records of scopes still running. */
  get awaitingSeal(): number {
    return this.endedRecords;
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

  private drop(id: string, held: Held): void {
    this.records -= held.actions.size;
    if (held.ended) this.endedRecords -= held.actions.size;
    this.scopes.delete(id);
  }

  private trim(): void {
    for (const [id, held] of this.scopes) {
      if (this.records <= this.maxRecords) return;
      this.drop(id, held);
    }
  }
}
