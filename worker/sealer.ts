/**
 * Seals hash chains behind the write path. A record is durable once its upsert
 * commits, and that is all a workflow task or an activity waits for; sealing (reading
 * the ended scope's actions back and hashing them) runs here, batched, on its own
 * schedule, so its cost never adds to a workflow's latency. Scopes whose seal was
 * lost with a crashed worker are found again by the sweep (ended, never sealed).
 * With anchors, each seal is first anchored in Temporal, and a seal that differs from
 * one anchored before is refused: clearing a seal in the database and letting the sweep
 * re-seal forged rows is refused, not laundered.
 */
import type { CommittedActions, ScopeKey, SealConfirm, Store } from '../store/types';
import { anchorSeals, type SealAnchors, type SealRefusedError } from '../store/seal-anchor';
import { hashHeldScope } from '../store/seal-source';
import { yielder } from '../store/yielding';
import type { Seal } from '../cim/seal';
import { runKey, type RunRef, type RunStatus } from '../store/run-status';
import { CommittedActionCache, type BatchHashing, type CommittedBatch } from './committed-actions';
import { SealIsolation, SealSetAsideError, setAsideFor, type FailedPass } from './seal-isolation';
import { ParkedScopes } from './parked-scopes';

export interface SealerOptions {
  /** How long an ended scope waits for company before the batch is sealed, and how long the write path must be quiet. */
  lingerMs?: number;
  /**
   * When the write path was last busy (now, while it is). Sealing waits for it to have
   * been quiet for `lingerMs`, so that it does not compete with writes that workflow
   * tasks and activities wait for, and then seals the backlog in large batches.
   */
  writePathBusyAt?: () => number;
  /** The longest a scope waits for a quiet write path before it is sealed anyway: 5 s. */
  maxDelayMs?: number;
  /** From this many scopes waiting (20 000), sealing no longer waits for a quiet write path. */
  maxBacklog?: number;
  /**
   * From this many action records held for ended scopes (half of `maxHeldRecords` unless
   * set; a scope hashed ahead counts as a tenth of its records), the held records are
   * hashed ahead beside the writes and only their chains kept; once the chains fill it,
   * sealing no longer waits for a quiet write path. Either way the backlog is sealed
   * while its records are held, before the cache has to forget some and they are read
   * back. Records of scopes still running do not count: sealing cannot take them.
   */
  maxHeldBacklog?: number;
  /**
   * Most scopes sealed in one transaction: 2 000, or 250 with anchors, because the
   * transaction holds its scopes' row locks while their seals are anchored in Temporal
   * (a call per session's anchor, or per scope where visibility cannot find anchors by
   * id prefix, after a visibility query for swept scopes), and a write of one of those
   * scope rows waits for it.
   */
  maxBatch?: number;
  /**
   * Most scopes sealed in one transaction while the write path is busy (when a backlog or
   * the oldest scope's wait forces sealing beside the writes): 250. A large batch holds the
   * thread and Postgres in long stretches (its hashing, its `UPDATE` of the scope rows
   * into the index pages the writes insert into), and every write waiting behind them is
   * a workflow task or activity waiting; small ones interleave. Quiet, `maxBatch` applies.
   */
  busyMaxBatch?: number;
  /**
   * With anchors, the least time from one sealing transaction to the next: 1 000 ms. Each
   * transaction's seals share one anchor, a workflow Temporal starts, times out and keeps
   * (about a quarter of the server CPU of a two-tool session on the dev server), and under
   * a steady load a quiet moment comes after nearly every session: spaced, one anchor
   * covers the sessions of a second. A full batch waiting, or the held records at
   * `maxHeldBacklog`, do not wait, so spacing never caps how fast scopes are sealed nor
   * how much is held. A scope then waits at most `maxDelayMs` plus this.
   */
  anchorEveryMs?: number;
  /** How often to look for ended scopes nobody sealed (a worker died before sealing). */
  sweepEveryMs?: number;
  onError?: (err: Error) => void;
  /** A seal refused because the scope was sealed before with another chain (tampering): loud and rare. */
  onRefused?: (err: Error) => void;
  /** How many committed action records to keep for sealing without reading them back (100 000). */
  maxHeldRecords?: number;
  /**
   * Whether records this worker wrote wait in its spool, not yet in the store. A run Temporal
   * has closed wrote all it will, but what it wrote may be waiting there: its accepted last
   * task's scope end, say, while the store holds the end of a task Temporal refused. Sealing
   * waits until the spool is drained, so that no seal is made from the records before them.
   */
  heldBack?: () => boolean;
}

/** While records wait in the spool (SealerOptions.heldBack), how long sealing waits before it looks again. */
const HELD_BACK_MS = 250;

/** How long after a scope's end its run is first asked about (see stillOpen). */
const FIRST_LOOK_MS = 200;

/** A scope to seal, with the run whose end its worker saw recorded, or for one the sweep found the run its row names. */
export type SealKey = ScopeKey & { run?: RunRef };

interface Waiting {
  key: ScopeKey;
  run?: RunRef;
  /** How often its run was found still open: the next look waits longer. */
  looks?: number;
  /** When it was first queued: the bound on how long it may wait for a quiet write path. */
  since: number;
  /** Found by the sweep (ended, unsealed): it may have been sealed before, and its seal cleared. */
  swept: boolean;
  /** The number of the first failed pass that held it (see worker/seal-isolation.ts). */
  failedInPass?: number;
  /** How often it was set aside before. */
  setAside?: number;
}

export class Sealer {
  /** In the order queued, so the oldest is first. */
  private pending = new Map<string, Waiting>();
  private runStatus: RunStatus | undefined;
  /** Scopes whose ending run was still open when last looked at, by id, with when to look again. */
  private readonly waitingForRun = new ParkedScopes<Waiting>();
  /** Scopes that failed alone while others were sealed, by id, with when to try again. */
  private readonly setAside = new ParkedScopes<Waiting>();
  private readonly isolation = new SealIsolation();
  /** What the last failed pass was taken for (worker/seal-isolation.ts). */
  private lastFailure: FailedPass | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private anchors: SealAnchors | undefined;
  /** Whether the last pass put its scopes back because records waited in the spool (SealerOptions.heldBack). */
  private lastPassHeldBack = false;
  /** When the last sealing transaction started (0 before the first): anchors are spaced from it. */
  private lastRunAt = 0;
  /** Scopes sealed since start (handed to the store; a refused one is counted in `refused`). */
  sealed = 0;
  /** Scopes whose ending run was asked of Temporal (each look counts; runs known closed are not asked). */
  runLooks = 0;
  /** Seals refused because the scope had been sealed before with another chain. */
  refused = 0;
  /** Scopes whose held records were hashed ahead: while an earlier transaction's statements ran, or beside busy writes to shrink them. */
  hashedAhead = 0;
  /** What this worker committed, hashed at sealing time when the store proves it current. */
  readonly committed: CommittedActionCache;

  constructor(
    private readonly store: Store,
    private readonly options: SealerOptions = {},
  ) {
    this.committed = new CommittedActionCache(options.maxHeldRecords);
  }

  /** Anchors every seal from now on (see store/seal-anchor.ts). */
  useAnchors(anchors: SealAnchors): void {
    this.anchors = anchors;
  }

  /** Seals a scope only once Temporal has closed the run that recorded its end (store/run-status.ts). */
  useRunStatus(status: RunStatus): void {
    this.runStatus = status;
  }

  /** The store's confirm step for a batch: only swept scopes are held against their session's anchors first. */
  private confirmFor(taken: readonly Waiting[]): SealConfirm | undefined {
    if (!this.anchors) return undefined;
    const swept = new Set(taken.filter((w) => w.swept).map((w) => idOf(w.key)));
    return anchorSeals(
      this.anchors,
      (err: SealRefusedError) => {
        this.refused += 1;
        (this.options.onRefused ?? this.options.onError)?.(err);
      },
      { lookFirst: (seal: Seal) => swept.has(idOf(seal)) },
    );
  }

  /**
   * For a batch about to be written that holding would overflow the cache (a burst larger
   * than its room): its ended scopes hashed while it is written, for `committed.committed`
   * (worker/committed-actions.ts, `hashWhileWriting`). Undefined when the batch fits.
   */
  hashWhileWriting(batch: CommittedBatch): BatchHashing | undefined {
    if (!this.committed.wouldOverflow(batch)) return undefined;
    const hashing = this.committed.hashWhileWriting(batch, hashHeldScope);
    return {
      ...hashing,
      stop: () => {
        const chains = hashing.stop();
        this.hashedAhead += chains.size;
        return chains;
      },
    };
  }

  /** Timers of addAt. */
  private later = new Set<NodeJS.Timeout>();

  /**
   * Scopes whose runs left calls running: queued again at `atMs`, when they may be sealed
   * without those calls' ends (store/open-calls.ts). A call that ends sooner queues its
   * scope itself, as any record of an ended scope does.
   */
  addAt(keys: readonly SealKey[], atMs: number): void {
    const timer = setTimeout(() => {
      this.later.delete(timer);
      this.add(keys);
    }, Math.min(Math.max(0, atMs - Date.now()) + 100, 2 ** 31 - 1));
    timer.unref();
    this.later.add(timer);
  }

  /** Scopes that ended; `swept` when the sweep found them rather than their worker seeing them end. */
  add(keys: readonly SealKey[], swept = false): void {
    const since = Date.now();
    const items: Waiting[] = keys.map(({ run, ...key }) => {
      // A late record of a scope that waits for its run: it goes on waiting for that run.
      const known = run ?? this.waitingForRun.get(idOf(key))?.run;
      return { key: { namespace: key.namespace, scopeId: key.scopeId, ...sessionStartOf(key) }, since, swept, ...(known ? { run: known } : {}) };
    });
    // The sweep finds a scope that waits for its run as ended and unsealed: it goes on waiting.
    // A scope set aside waits for its time, whoever queues it again.
    const queued = items.filter((w) => !this.setAside.has(idOf(w.key)));
    this.queue(swept ? queued.filter((w) => !this.waitingForRun.has(idOf(w.key))) : queued);
    this.schedule(this.lingerMs);
  }

  private get lingerMs(): number {
    return this.options.lingerMs ?? 20;
  }

  private queue(items: readonly Waiting[]): void {
    for (const item of items) {
      const id = idOf(item.key);
      const queued = this.pending.get(id);
      // A scope queued again keeps its first time: a busy write path cannot postpone it further.
      const kept = queued && queued.since <= item.since ? queued : item;
      // The run that recorded the scope's end most recently is the one to wait for.
      const run = item.run ?? queued?.run;
      this.pending.set(id, { ...kept, ...(queued && (queued.swept || item.swept) ? { swept: true } : {}), ...(run ? { run } : {}) });
    }
  }

  /** Seals what is pending now; resolves false if the store refused or records still wait in the spool (the scopes stay queued). */
  async drain(): Promise<boolean> {
    // Scopes waiting for their runs are looked at again now, and a little longer (about 2 s)
    // while some runs stay open; a run still open then is left to close, and its scope to a later pass.
    let looks = 0;
    let narrowed = 0;
    for (;;) {
      if (this.running) {
        if (!(await this.running) && !this.holdLifted()) return false;
        continue;
      }
      if (this.waitingForRun.size && looks < 20) {
        if (looks++) await new Promise((r) => setTimeout(r, 100));
        for (const id of this.waitingForRun.ids()) this.lookAgainNow(id);
        continue;
      }
      if (this.pending.size === 0) return true;
      if (await this.run()) narrowed = 0;
      else if (this.holdLifted()) continue;
      else {
        // A failure that may be one scope's goes on being narrowed down; an outage ends the drain.
        const narrowing = this.lastFailure === 'split' || this.lastFailure === 'set-aside';
        if (!narrowing || ++narrowed > 12) return false;
      }
    }
  }

  /** Whether the last pass was held back by records in the spool that have reached the store since: a drain goes on. */
  private holdLifted(): boolean {
    return this.lastPassHeldBack && !this.options.heldBack?.();
  }

  /** Periodically seals ended scopes that were never sealed; the first pass runs at once. */
  startSweeping(): void {
    if (this.sweepTimer) return;
    void this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepEveryMs ?? 60_000);
    this.sweepTimer.unref();
  }

  /** Queues every ended scope nobody sealed, each to wait for the run its row names; `drain()` then seals them. */
  async sweep(): Promise<void> {
    try {
      const keys = await this.store.unsealedScopes(1_000);
      if (keys.length) this.add(keys, true);
    } catch (err) {
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.setAside.clear();
    this.waitingForRun.clear();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const timer of this.later) clearTimeout(timer);
    this.later.clear();
    this.timer = undefined;
    this.sweepTimer = undefined;
  }

  private schedule(delay: number): void {
    if (this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const spacing = this.anchorSpacing();
      if (spacing > 0) this.schedule(spacing);
      else if (this.shouldWait()) this.schedule(this.lingerMs);
      else void this.run();
    }, delay);
    this.timer.unref();
  }

  /**
   * Whether to leave the write path alone a little longer. Sealing is behind it by design
   * (a workflow waits for durable, not for sealed), so while writes keep coming the
   * backlog grows instead, until its oldest scope has waited `maxDelayMs`, `maxBacklog`
   * scopes wait, or the records held for sealing fill half the cache (`maxHeldBacklog`),
   * and is then sealed: in batches of `busyMaxBatch` while the writes go on, of `maxBatch`
   * once they stop. Under a sustained load the backlog stays near a bound, and sealing
   * keeps pace from there. The bound that counts is mostly the held records, that is
   * memory, not time: sealing beside a burst of writes slowed them by more than the
   * sealing cost on its own (two cores shared with Postgres) and took more CPU in all,
   * since small batches beside writes cost more per scope than large ones after them
   * (bench/optimizations.md). So at that bound the held records are first hashed ahead
   * and compacted (compactBeside), which takes this thread only; the backlog is sealed
   * beside the writes once that cannot bring them under the bound.
   */
  private shouldWait(): boolean {
    if (this.pending.size === 0 || this.failures > 0 || !this.writePathBusy()) return false;
    const now = Date.now();
    const oldest = this.pending.values().next().value!.since;
    if (now - oldest >= (this.options.maxDelayMs ?? 5_000) || this.pending.size >= (this.options.maxBacklog ?? 20_000)) return false;
    const held = this.committed.awaitingSeal;
    const bound = this.heldBound();
    if (held < bound) return true;
    // Held records first shrink by hashing them ahead; sealing only once that cannot help:
    // when the chains already hashed fill the bound, or a pass found nothing to hash.
    if (this.compacting) return true;
    if (!this.nothingToHash && held - COMPACTED_SHARE * this.committed.hashable < bound) {
      this.compacting = this.compactBeside().finally(() => (this.compacting = undefined));
      return true;
    }
    return false;
  }

  private heldBound(): number {
    return this.options.maxHeldBacklog ?? Math.floor(this.committed.capacity / 2);
  }

  /** Running while held records are hashed ahead beside the writes (see compactBeside). */
  private compacting: Promise<void> | undefined;
  /** Set when a pass found nothing it could hash (records of a gap fill, say); cleared when a batch is sealed. */
  private nothingToHash = false;

  /**
   * Hashes the waiting scopes' held records, oldest first, and keeps only their chains
   * (worker/committed-actions.ts), until the held records are a quarter below the bound
   * (so a sustained load does not start a pass at every write). Only this thread works:
   * sealing beside the writes would add a transaction's statements to each batch of
   * scopes, on the Postgres the writes are waiting for. In 1 ms slices, as hashAhead.
   */
  private async compactBeside(): Promise<void> {
    const target = Math.floor(this.heldBound() * 0.75);
    const pause = yielder(AHEAD_SLICE_MS);
    let hashed = 0;
    // Scopes queued meanwhile are reached too; those a sealing transaction takes are skipped.
    for (const { key } of this.pending.values()) {
      if (this.committed.awaitingSeal <= target) return;
      const turn = pause();
      if (turn) await turn;
      if (!this.committed.hashAhead(key, hashHeldScope)) continue;
      hashed += 1;
      this.hashedAhead += 1;
    }
    // Short of the target with hashing done, the next look decides from what is left to hash.
    if (hashed === 0) this.nothingToHash = true;
  }

  /** How long the next sealing transaction still waits for the previous one's anchor to be `anchorEveryMs` old. */
  private anchorSpacing(): number {
    if (!this.anchors || this.failures > 0 || this.pending.size >= this.batchLimit() || this.committed.awaitingSeal >= this.heldBound()) return 0;
    return this.lastRunAt + (this.options.anchorEveryMs ?? 1_000) - Date.now();
  }

  /** Whether the write path was busy within the last `lingerMs`. */
  private writePathBusy(): boolean {
    const busyAt = this.options.writePathBusyAt;
    return busyAt !== undefined && Date.now() - busyAt() < this.lingerMs;
  }

  /** The most scopes a transaction takes when the write path is quiet and nothing failed. */
  private fullBatch(): number {
    return this.options.maxBatch ?? (this.anchors ? 250 : 2_000);
  }

  /** The most scopes the next transaction takes. */
  private batchLimit(): number {
    const full = this.fullBatch();
    const limit = this.writePathBusy() ? Math.min(full, this.options.busyMaxBatch ?? 250) : full;
    return Math.min(limit, this.isolation.probe ?? limit);
  }

  /**
   * While a transaction's statements (and anchoring) run, the thread would idle: the
   * scopes that come next have their held records hashed meanwhile, so their transaction
   * starts with their chains. It stops when the transaction ends; what is left is hashed
   * by the next one as before.
   */
  private async hashAhead(during: Promise<boolean> | undefined): Promise<void> {
    const pause = yielder(AHEAD_SLICE_MS);
    let n = 0;
    const limit = this.batchLimit();
    for (const { key } of this.pending.values()) {
      if (n++ >= limit || this.running !== during) return;
      const turn = pause();
      if (turn) {
        await turn;
        if (this.running !== during) return;
      }
      if (this.committed.hashAhead(key, hashHeldScope)) this.hashedAhead += 1;
    }
  }

  /** A scope that fails alone while others are sealed: tried again later, longer each time, and reported. */
  private setAsideLater(w: Waiting, err: Error): void {
    const id = idOf(w.key);
    const times = (w.setAside ?? 0) + 1;
    const wait = setAsideFor(times);
    this.options.onError?.(new SealSetAsideError(w.key.namespace, w.key.scopeId, wait, err));
    this.setAside.park(id, w, wait, () => {
      // A fresh start: set aside again only if it fails alone again while others are sealed.
      this.queue([{ ...w, failedInPass: undefined, setAside: times }]);
      this.schedule(this.lingerMs);
    });
  }

  /** Waits for the scope's run to close: looks again later, longer each time. */
  private lookAgainLater(w: Waiting): void {
    const id = idOf(w.key);
    const firstLook = w.looks === undefined ? FIRST_LOOK_MS - (Date.now() - w.since) : 0;
    const looks = firstLook > 0 ? 0 : (w.looks ?? 0) + 1;
    this.waitingForRun.park(id, { ...w, looks }, firstLook > 0 ? firstLook : Math.min(60_000, 250 * 2 ** looks), (item) => this.lookAgain(item));
  }

  /** A scope that waited for its run is queued again: the next pass asks about its run. */
  private lookAgainNow(id: string): void {
    const item = this.waitingForRun.release(id);
    if (item) this.lookAgain(item);
  }

  private lookAgain(item: Waiting): void {
    this.queue([item]);
    this.schedule(this.lingerMs);
  }

  /** Of these, the scopes whose ending run Temporal still shows open (its last task may yet be refused and run again). */
  private async stillOpen(taken: readonly Waiting[]): Promise<Waiting[]> {
    const known = this.runStatus ? taken.filter((w) => w.run) : [];
    if (!this.runStatus || known.length === 0) return [];
    // The run's completion goes out just after its end is written: asked at once, Temporal
    // would nearly always still show it open, and the scope would be asked about twice.
    // A scope the sweep found ended before the sweep read it: asked at once.
    // The wait also gathers a session's scopes into fewer sealing passes, so a run this
    // worker saw Temporal close waits too; it only needs no question.
    const status = this.runStatus;
    const now = Date.now();
    const young = known.filter((w) => !w.swept && w.looks === undefined && now - w.since < FIRST_LOOK_MS);
    const ask = known.filter((w) => !young.includes(w) && !status.knownClosed?.(w.run!));
    this.runLooks += ask.length;
    const open = ask.length ? await status.openRuns(ask.map((w) => w.run!)) : new Set<string>();
    return [...young, ...ask.filter((w) => open.has(runKey(w.run!)))];
  }

  private run(): Promise<boolean> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Asked before anything is taken as well, so that a spool that takes a while to drain costs no questions to Temporal.
    this.lastPassHeldBack = this.options.heldBack?.() ?? false;
    if (this.lastPassHeldBack) {
      this.schedule(HELD_BACK_MS);
      return Promise.resolve(false);
    }
    this.lastRunAt = Date.now();
    let taken: Waiting[] = [];
    const limit = this.batchLimit();
    for (const [id, item] of this.pending) {
      if (taken.length >= limit) break;
      taken.push(item);
      this.pending.delete(id);
    }
    let keys = taken.map((w) => w.key);
    const committed: CommittedActions = {
      of: (namespace, scopeId) => this.committed.of(namespace, scopeId),
      hashingDone: () => void this.hashAhead(this.running),
    };
    let heldBack = false;
    /** Puts what this pass took back in the queue, ahead of what was queued meanwhile, whose runs are newer. */
    const holdBack = () => {
      heldBack = true;
      this.lastPassHeldBack = true;
      const later = [...this.pending.values()];
      this.pending.clear();
      this.queue([...taken, ...later]);
      keys = [];
      return false;
    };
    this.running = (async () => {
      try {
        // Before the rows are read: a run Temporal has closed wrote all it will, to the store or the spool.
        const waitFor = await this.stillOpen(taken);
        if (waitFor.length) {
          taken = taken.filter((w) => !waitFor.includes(w));
          keys = taken.map((w) => w.key);
          for (const w of waitFor) this.lookAgainLater(w);
        }
        if (this.options.heldBack?.()) return holdBack();
        await this.store.sealScopes(keys, this.confirmFor(taken), committed);
        this.committed.sealed(keys);
        this.sealed += keys.length;
        this.failures = 0;
        this.lastFailure = undefined;
        if (keys.length) this.isolation.sealed(this.fullBatch());
        return true;
      } catch (thrown) {
        const err = thrown instanceof Error ? thrown : new Error(String(thrown));
        const before = taken.flatMap((w) => (w.failedInPass === undefined ? [] : [w.failedInPass]));
        const { verdict, pass } = this.isolation.failed(taken.length, before.length ? Math.min(...before) : undefined);
        const failed = taken.map((w) => ({ ...w, failedInPass: w.failedInPass ?? pass }));
        this.lastFailure = verdict;
        // Keep them: a store outage delays sealing, it never skips it. A split batch goes
        // first (oldest first), a scope that failed alone last, so the next pass tries others.
        const later = [...this.pending.values()];
        this.pending.clear();
        if (verdict === 'set-aside') {
          this.setAsideLater(failed[0]!, err);
          this.queue(later);
        } else {
          this.queue(verdict === 'split' ? [...failed, ...later] : [...later, ...failed]);
          this.failures += 1;
          this.options.onError?.(err);
        }
        return false;
      } finally {
        this.running = undefined;
        this.nothingToHash = false;
        // What is left over a full batch is due already: no linger, only the wait for a quiet write path.
        if (this.pending.size) {
          this.schedule(heldBack ? HELD_BACK_MS : this.failures ? Math.min(30_000, 100 * 2 ** this.failures) : keys.length >= limit ? 0 : this.lingerMs);
        }
      }
    })();
    return this.running;
  }
}

/**
 * Hashing ahead gives the event loop a turn every millisecond: the statement it fills the
 * wait of must not wait for it in turn (10 ms slices gained a third of what 1 ms did).
 */
const AHEAD_SLICE_MS = 1;

/**
 * About this share of the held records' weight is freed by hashing them ahead: a
 * compacted scope counts one plus a tenth of its records (worker/committed-actions.ts),
 * so scopes of eight to twenty actions free 73–85 % (smaller ones less, and those that
 * would not shrink keep their records). Where the estimate is wrong, a pass cannot reach
 * its target, and the backlog is sealed instead.
 */
const COMPACTED_SHARE = 0.75;

function idOf(key: Pick<ScopeKey, 'namespace' | 'scopeId'>): string {
  return `${key.namespace}\u0000${key.scopeId}`;
}

/** The session's start a record or key carries, for a seal key (see ScopeKey.sessionStartedAt); nothing when it carries none. */
export function sessionStartOf(r: { sessionStartedAt?: string }): Pick<ScopeKey, 'sessionStartedAt'> {
  return r.sessionStartedAt === undefined ? {} : { sessionStartedAt: r.sessionStartedAt };
}
