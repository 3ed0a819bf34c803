/**
 * The recorder turns many small CIM writes into few store round trips (group
 * commit). A caller's promise settles only when its records are committed, which is
 * what makes the capture durable: the worker completes a workflow task or an
 * activity only after its records are in the store.
 */
import type { ActionRecord, Manifest, ScopeRecord } from '../cim/schemas';
import type { PayloadRecord, SealedRows, ServedToolSpec, Store, WriteGuard } from '../store/types';
import type { FingerprintRecord } from '../store/fingerprint-store';
import { Sealer, sessionStartOf, type SealKey, type SealerOptions } from './sealer';
import { OpenScopes } from './open-scopes';
import { SpoolFullError, recordCount, type Spool } from './spool';
import type { TextCodec } from '../store/text-codec';
import { CodecHold } from './codec-hold';
import { manifestChanges } from '../cim/manifest';
import type { Signer } from '../cim/keyed-signature';
import { manifestSignatureState, type StoredManifests } from '../cim/manifest-signature';
import { LATE_REASON, LATE_TIMEOUT_REASON, lateBatch, splitLateDecoded, type LateSplit, type SameAction } from './late-records';

export interface RecordBatch {
  scopes?: ScopeRecord[];
  actions?: ActionRecord[];
  payloads?: PayloadRecord[];
  /** Records that only fill gaps (see Store.fillActionGaps). */
  gaps?: ActionRecord[];
  /** Keyed output fingerprints (provenance); never raw text. */
  fingerprints?: FingerprintRecord[];
}

export interface RecorderOptions {
  /** How long a write waits for company before it is flushed. */
  lingerMs?: number;
  /** Flush at once when this many records are waiting. */
  maxBatch?: number;
  /** Without a spool: give up on a failing store after this long and reject the writers. */
  retryForMs?: number;
  /**
   * Where records wait while the store is down. With a spool, writers are released as
   * soon as their records are on disk; a full spool holds them (back-pressure) instead
   * of dropping anything.
   */
  spool?: Spool;
  /** How often to try to move spooled records into the store. */
  drainEveryMs?: number;
  onError?: (err: Error, attempt: number) => void;
  /** What sealing could not do (the records are stored; only their seal waits): `onError` unless given. */
  onSealError?: (err: Error) => void;
  /** Sealing of hash chains, which runs behind the writes (see Sealer). Its errors go to `onSealError`, a refused seal to `onAlert`. */
  sealer?: Omit<SealerOptions, 'onError' | 'onRefused'>;
  /** Loud, rare messages: spool full or unwritable, store back, quarantine. */
  onAlert?: (message: string) => void;
  /**
   * Told of every batch once it is committed to the store (directly or from the spool),
   * e.g. to stream it as telemetry. Called synchronously on the write path: keep it
   * cheap and defer the work; what it throws is reported, never fails the write.
   */
  onCommitted?: (batch: RecordBatch) => void;
  /**
   * The user's payload codec: objectives, errors and payload bodies are encoded with it
   * before they reach the spool or the store (see store/encoded-records.ts). While it
   * cannot encode, records and their writers wait (see codec-hold.ts).
   */
  textCodec?: TextCodec;
}

/**
 * Where a write's records went: committed to the store, or onto this worker's spool disk
 * (to be moved into the store later, by this worker or a successor).
 */
export type Landed = 'store' | 'spool';

interface Waiter {
  resolve: (landed: Landed) => void;
  reject: (err: Error) => void;
}

export class Recorder {
  private scopes: ScopeRecord[] = [];
  private actions: ActionRecord[] = [];
  private payloads: PayloadRecord[] = [];
  private gaps: ActionRecord[] = [];
  private fingerprints: FingerprintRecord[] = [];
  private waiters: Waiter[] = [];
  /** Cancels the flush that is scheduled, if one is. */
  private timer: (() => void) | undefined;
  private flushing: Promise<void> | undefined;
  private readonly lingerMs: number;
  private readonly maxBatch: number;
  private readonly retryForMs: number;
  /** Records committed to the store since start (directly or from the spool). */
  written = 0;
  /** Records that went to the spool since start. */
  spooled = 0;
  /**
   * Set while the spool refuses records (full or unwritable): they and the work that
   * produced them are held in memory until the store or the spool takes them.
   */
  spoolRefusing = false;
  /** Set after a store failure; cleared when a drain reaches the store again. */
  private storeDown = false;
  /** Whether the recorder holds the store for down (records go to the spool; it is tried again every drain). */
  get storeUnreachable(): boolean {
    return this.storeDown;
  }
  /**
   * Set while records wait in the spool (a predecessor's, or ones spooled in an outage and
   * not all drained yet): new records then go behind them, so that the store receives every
   * record in the order it was written. A scope is sealed once its end is in the store; an
   * action of it still in the spool then would arrive after the seal, and verify would
   * rightly call it inserted.
   */
  private spoolBacklog = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private lastSpoolAlert = 0;
  /** Set by start(): the store is migrated (and manifests registered) before the first write. */
  private preparation: { manifests: readonly Manifest[]; toolSpecs: readonly ServedToolSpec[]; signer?: Signer; done: boolean; running?: Promise<void> } | undefined;
  readonly sealer: Sealer;
  /** Scopes written as running and not yet ended: their finished actions need no sealing pass. */
  private readonly open = new OpenScopes();
  /** Encodes records with the user's codec, holding them while it fails; none without a codec. */
  private readonly codecHold: CodecHold | undefined;

  constructor(
    private readonly store: Store,
    private readonly options: RecorderOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 2;
    this.maxBatch = options.maxBatch ?? 500;
    this.retryForMs = options.retryForMs ?? 60_000;
    this.codecHold = options.textCodec && new CodecHold(options.textCodec, { onAlert: (message) => options.onAlert?.(message) });
    this.sealer = new Sealer(store, {
      // Sealing yields to the writes that workflow tasks and activities wait for.
      writePathBusyAt: () => (this.flushing || this.pending() > 0 ? Date.now() : this.lastFlushEnded),
      heldBack: () => this.spoolBacklog,
      ...options.sealer,
      onError: (err) => (options.onSealError ? options.onSealError(err) : options.onError?.(err, 0)),
      onRefused: (err) => options.onAlert?.(err.message),
    });
  }

  /**
   * Prepares the store (migrations, the agents' manifests) and replays what a previous
   * worker spooled. A store that cannot be reached does not stop the start when there is
   * a spool: records wait there and the store is prepared once it answers. A store that
   * answers but cannot be prepared (permissions, a failing migration) stops it.
   */
  /**
   * `manifestSigner`: what the manifests are signed with (cim/manifest-signature.ts); unsigned without it.
   * `toolSpecs`: what the worker's tools tell a model, for model steps on workers that do not define them; signed with `manifestSigner` too.
   */
  async start(options: { manifests?: readonly Manifest[]; manifestSigner?: Signer; toolSpecs?: readonly ServedToolSpec[] } = {}): Promise<void> {
    const spool = this.options.spool;
    const kept = spool?.quarantineReport();
    if (kept) {
      this.options.onAlert?.(
        `QUARANTINE: ${kept.entries} entries in ${kept.path} were kept aside (refused by the store, late for a sealed scope, or unreadable in the spool); list them with \`scopetrail quarantine --spool ${spool!.dir}\`, and write what is sound with \`scopetrail quarantine replay\``,
      );
    }
    this.preparation = { manifests: options.manifests ?? [], toolSpecs: options.toolSpecs ?? [], ...(options.manifestSigner ? { signer: options.manifestSigner } : {}), done: false };
    try {
      await this.prepareStore();
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause ?? err;
      if (!spool || !isUnavailable(cause)) throw err;
      this.storeDown = true;
      this.options.onAlert?.(
        `store unreachable at start (${(cause as Error).message}); records go to the spool in ${spool.dir} and the store is prepared when it answers`,
      );
    }
    // Records a previous worker spooled before it died go to the store first.
    if (spool && (this.storeDown || !spool.isEmpty())) {
      this.spoolBacklog = spool.hasBacklog();
      void this.drainSpool();
      this.watchSpool();
    }
    // The sealer's sweep is started by the worker once it can anchor seals in Temporal.
  }

  write(batch: RecordBatch): Promise<Landed> {
    if (!this.codecHold || recordCount(batch) === 0) return this.enqueue(batch);
    return this.codecHold.encode(batch).then((b) => this.enqueue(b));
  }

  private enqueue(batch: RecordBatch): Promise<Landed> {
    const count = recordCount(batch);
    if (count === 0) return Promise.resolve('store');
    if (batch.gaps) this.gaps.push(...batch.gaps);
    if (batch.scopes) this.scopes.push(...batch.scopes);
    if (batch.actions) this.actions.push(...batch.actions);
    if (batch.payloads) this.payloads.push(...batch.payloads);
    if (batch.fingerprints) this.fingerprints.push(...batch.fingerprints);
    const done = new Promise<Landed>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.pending() >= this.maxBatch) this.kick(0);
    else this.kick(this.lingerMs);
    return done;
  }

  /**
   * Resolves when everything written so far is committed (or, while the store is down,
   * spooled), and the scopes that ended are sealed (unless the store refused: then they
   * stay queued for the sealer).
   */
  async drain(): Promise<void> {
    await this.codecHold?.settled();
    while (this.pending() > 0 || this.flushing) {
      this.kick(0);
      await (this.flushing ?? new Promise((r) => setImmediate(r)));
    }
    // Records that went behind a backlog are committed once it is moved into the store. The
    // store may be back though this worker last saw it down (its next try is up to a tick
    // away): one try now, so that a worker stopped just after an outage leaves nothing behind.
    if (this.options.spool && (this.spoolBacklog || this.storeDown)) await this.drainSpool();
    while (this.spoolBacklog && !this.storeDown) {
      const moved = this.written;
      await this.drainSpool();
      // Nothing to move yet (a file whose owner's lease has not lapsed): look again shortly.
      if (this.written === moved && this.spoolBacklog) await new Promise((r) => setTimeout(r, 100));
    }
    if (!this.storeDown) await this.sealer.drain();
  }

  /** Moves spooled records into the store now; resolves false if the store is still down. */
  async drainSpool(): Promise<boolean> {
    const spool = this.options.spool;
    if (!spool) return true;
    this.draining ??= (async () => {
      try {
        const preparedNow = this.storeDown && this.preparation !== undefined && !this.preparation.done;
        if (preparedNow) await this.prepareStore();
        const drained = await spool.drain(async (spooled) => {
          await this.writeSpooled(spooled).catch((err: unknown) =>
            isDataError(err) ? this.writeOneByOne(spooled, (single) => this.writeSpooled(single)) : Promise.reject(err),
          );
        });
        if (drained.quarantinedLines > 0) {
          this.quarantined += drained.quarantinedLines;
          this.options.onAlert?.(
            `QUARANTINED ${drained.quarantinedLines} unreadable spool lines or records: kept in ${drained.quarantineFile}, not written to the store`,
          );
        }
        // Only a write that reached the store proves it is back: an empty drain proves nothing.
        if (drained.batches > 0 || preparedNow) {
          this.storeUp([preparedNow && 'prepared', `${drained.records} spooled records written`].filter(Boolean).join('; '));
        }
      } catch (err) {
        this.storeDown = true;
        this.options.onError?.(err instanceof Error ? err : new Error(String(err)), 0);
      } finally {
        this.draining = undefined;
      }
    })();
    await this.draining;
    // Checked with nothing in between: a batch spooled after this goes behind it again.
    if (!this.storeDown && !spool.hasBacklog()) this.spoolBacklog = false;
    return !this.storeDown && spool.isEmpty();
  }

  /**
   * Writes a spooled batch, keeping out of the store what it would change in scopes sealed
   * meanwhile. Another worker may seal a scope while records of it wait here (its failed tool
   * attempts, say, which the workflow never hears of: see ToolRelay in cim/envelope.ts for
   * the rest); written now they would stand outside the sealed chain, and verify would
   * rightly report the sealed scope changed. A record the store already holds as it is
   * (relayed by the workflow's worker), a start behind a stored end (an action's, or a
   * scope's that does not start earlier), and a gap fill of an ended row change nothing
   * and are dropped; anything else goes to the quarantine file with
   * the reason, and the worker says so. The store decides inside the write's transaction,
   * with the scopes locked against sealing (Store.writeBatch's guard): a scope sealed just
   * after a separate check would otherwise get the record anyway.
   */
  private async writeSpooled(batch: RecordBatch): Promise<void> {
    return this.writeChecked(batch, {
      reason: LATE_REASON,
      alert: (count, ids, where) => `QUARANTINED ${count} spooled records whose scopes were sealed while they waited (${ids}): ${where}, not written to the store`,
    });
  }

  /**
   * Records that may arrive after their scope was sealed, written with the check a spool's
   * drain makes (see writeSpooled): an attempt that finished after Temporal had timed it
   * out, say (worker/attempt-deadline.ts), whose workflow may have ended and been sealed
   * since. `same` decides when a late action changes nothing worth keeping aside. While
   * the store is down, or a backlog waits, they go to the spool like any record and meet
   * the drain's check there; a worker without a spool rejects them instead of writing them
   * unchecked.
   */
  async writeLate(batch: RecordBatch, same?: SameAction): Promise<void> {
    if (recordCount(batch) === 0) return;
    const encoded = this.codecHold ? await this.codecHold.encode(batch) : batch;
    if (this.storeDown || this.spoolBacklog) {
      await this.enqueue(encoded);
      return;
    }
    try {
      await this.writeChecked(encoded, {
        reason: LATE_TIMEOUT_REASON,
        same,
        alert: (count, ids, where) => `QUARANTINED ${count} records of tool calls that finished after their timeout, when their scopes were already sealed (${ids}): ${where}, not written to the store`,
      });
    } catch (err) {
      // Without a spool there is no later checked write: an unchecked one could change a seal.
      if (isDataError(err) || !this.options.spool) throw err;
      // The store went away meanwhile: marked down, the flush spools them, and the drain checks them again.
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)), 0);
      this.storeDown = true;
      await this.enqueue(encoded);
    }
  }

  private async writeChecked(
    batch: RecordBatch,
    late: { reason: string; same?: SameAction; alert: (count: number, ids: string, where: string) => string },
  ): Promise<void> {
    if (!this.store.sealedRowsOf && !this.store.writeBatch) return this.writeToStore(batch);
    let split: LateSplit | undefined;
    const guard = async (found: SealedRows): Promise<RecordBatch> => (split = await splitLateDecoded(batch, found, this.options.textCodec, late.same)).kept;
    if (this.store.writeBatch) {
      await this.writeToStore(batch, guard);
    } else {
      // A backend written method by method cannot hold the scopes while it writes.
      await this.prepareStore();
      const kept = await guard(await this.store.sealedRowsOf!([...(batch.actions ?? []), ...(batch.gaps ?? [])], batch.scopes));
      await this.writeToStore(kept);
    }
    const count = split ? split.lateScopes.length + split.late.length + split.lateGaps.length : 0;
    if (!split || count === 0) return;
    const { lateScopes, late: lateActions, lateGaps } = split;
    const spool = this.options.spool;
    spool?.quarantine(lateBatch(split), late.reason);
    this.quarantined += count;
    const ids = [...lateScopes.map((r) => r.scopeId), ...[...lateActions, ...lateGaps].map((r) => r.actionId)];
    this.options.onAlert?.(
      late.alert(
        count,
        `${ids.slice(0, 5).join(', ')}${count > 5 ? ', …' : ''}`,
        spool ? `kept in ${spool.quarantineFile}` : 'not kept: this worker has no spool',
      ),
    );
  }

  private storeUp(detail: string): void {
    if (!this.storeDown) return;
    this.storeDown = false;
    this.options.onAlert?.(`store is back: ${detail}`);
  }

  /**
   * A manifest registered before for the same agent version and now different: drift then
   * judges every run of that version by the new one, so it is said, loudly, once per start.
   * One whose row no longer matches the signature it was registered with was changed in
   * the table, not by a deployment: that is said instead, since registering this worker's
   * manifest again writes over what verify would have named.
   */
  private async reportChangedManifests(manifests: readonly Manifest[], signer: Signer | undefined): Promise<void> {
    let stored: StoredManifests;
    try {
      stored = await this.store.storedManifests();
    } catch {
      return; // a table that does not read is drift's and verify's to report, not a reason to stop a start
    }
    for (const m of manifests) {
      const key = `${m.name}@${m.version}`;
      const before = stored.manifests.find((s) => s.manifest.name === m.name && s.manifest.version === m.version);
      const tampered =
        stored.invalid.some((r) => `${r.agent}@${r.version}` === key) ||
        (before !== undefined && signer !== undefined && manifestSignatureState(before, signer) === 'forged');
      if (tampered) {
        this.options.onAlert?.(
          `agent ${key}: its stored manifest does not read, or no longer matches the signature it was registered with: it was changed in the table, ` +
            `not by a deployment. Registering this worker's manifest again; run scopetrail verify on the sessions that ran ${key}.`,
        );
        continue;
      }
      const changes = before ? manifestChanges(before.manifest, m) : [];
      if (changes.length) {
        this.options.onAlert?.(
          `agent ${m.name}@${m.version}: its manifest changed without a new version (${changes.join('; ')}); ` +
            `drift now judges every recorded run of ${m.version} by the new one. Give a changed agent a new version.`,
        );
      }
    }
  }

  /** Runs once, before the first write; a failure is retried by the next write or drain. */
  private async prepareStore(): Promise<void> {
    const p = this.preparation;
    if (!p || p.done) return;
    p.running ??= (async () => {
      try {
        await this.store.migrate();
        if (p.manifests.length) {
          await this.reportChangedManifests(p.manifests, p.signer);
          await this.store.upsertManifests(p.manifests, p.signer);
        }
        if (p.toolSpecs.length) await this.store.upsertToolSpecs?.(p.toolSpecs, p.signer);
        p.done = true;
      } catch (err) {
        // Never a data error for the records waiting on it: they are held or spooled, not quarantined.
        throw new Error(`could not prepare the store (${this.store.description}): ${(err as Error).message}`, { cause: err });
      } finally {
        p.running = undefined;
      }
    })();
    await p.running;
  }

  stop(): void {
    this.sealer.stop();
    if (this.drainTimer) clearInterval(this.drainTimer);
    this.drainTimer = undefined;
    this.options.spool?.close();
  }

  private watchSpool(): void {
    if (this.drainTimer || !this.options.spool) return;
    this.drainTimer = setInterval(() => {
      void this.drainSpool().then((empty) => {
        if (empty && this.drainTimer) {
          clearInterval(this.drainTimer);
          this.drainTimer = undefined;
        }
      });
    }, this.options.drainEveryMs ?? 1_000);
    this.drainTimer.unref();
  }

  /**
   * Records kept aside for a person to look at: refused by the store as data (not for being
   * down), or spooled records of scopes sealed before they arrived (see writeSpooled).
   */
  quarantined = 0;

  private async writeOneByOne(batch: RecordBatch, write: (single: RecordBatch) => Promise<void> = (single) => this.writeToStore(single)): Promise<void> {
    const singles: RecordBatch[] = [
      ...(batch.scopes ?? []).map((r) => ({ scopes: [r] })),
      ...(batch.actions ?? []).map((r) => ({ actions: [r] })),
      ...(batch.payloads ?? []).map((r) => ({ payloads: [r] })),
      ...(batch.gaps ?? []).map((r) => ({ gaps: [r] })),
      // Fingerprints of one output travel together: they are one output's rows.
      ...(batch.fingerprints?.length ? [{ fingerprints: batch.fingerprints }] : []),
    ];
    for (const single of singles) {
      try {
        await write(single);
      } catch (err) {
        if (!isDataError(err)) throw err;
        this.quarantined += 1;
        const reason = err instanceof Error ? err.message : String(err);
        try {
          this.options.spool?.quarantine(single, reason);
          this.options.onAlert?.(`QUARANTINED a record the store refused (${reason}): ${JSON.stringify(single).slice(0, 300)}`);
        } catch (kept) {
          // Too deep even to write down as JSON: it cannot be kept, and it must not block the rest.
          this.options.onAlert?.(`DROPPED a record the store refused (${reason}) that cannot be kept in quarantine either (${(kept as Error).message}): ${recordIds(single).join(', ')}`);
        }
      }
    }
  }

  private async writeToStore(given: RecordBatch, guard?: WriteGuard): Promise<void> {
    await this.prepareStore();
    let batch = given;
    if (this.store.writeBatch) {
      // One transaction: the batch's actions are visible no later than its scopes.
      // Not ahead of a guarded write: the guard may keep records out, and a chain hashed with them would be wrong.
      const hashing = guard ? undefined : this.sealer.hashWhileWriting(batch);
      const { xid, written } = await this.store.writeBatch(batch, guard).catch((err: unknown) => {
        hashing?.cancel();
        throw err;
      });
      if (written) batch = written;
      // Stopped before the writers are released: hashing what is left would only delay them.
      const chains = hashing?.stop();
      if (xid !== null) this.sealer.committed.committed(batch, xid, chains);
    } else {
      if (batch.actions?.length) await this.store.upsertActions(batch.actions);
      if (batch.payloads?.length) await this.store.upsertPayloads(batch.payloads);
      // Gap fills go after the actions: a finished record in this same batch must win over them.
      if (batch.gaps?.length) await this.store.fillActionGaps(batch.gaps);
      // Scopes go after their actions: a chain is sealed once, as soon as a sealer sees its
      // scope ended, so every action recorded before the end must be visible by then.
      if (batch.scopes?.length) await this.store.upsertScopes(batch.scopes);
      if (batch.fingerprints?.length) await this.store.fingerprints().upsert(batch.fingerprints);
    }
    // Scopes that ended, or got a late record after ending, are queued for sealing; a
    // finished action of a scope this recorder knows to be running is not (open-scopes.ts).
    this.open.apply(batch.scopes ?? []);
    const touched: SealKey[] = [];
    const touch = (r: { namespace: string; scopeId: string; sessionStartedAt?: string }, run?: SealKey['run']) => {
      // Records come scope by scope: one key per run of them.
      const last = touched.at(-1);
      if (last?.scopeId !== r.scopeId || last.namespace !== r.namespace) {
        touched.push({ namespace: r.namespace, scopeId: r.scopeId, ...sessionStartOf(r), ...(run ? { run } : {}) });
      } else {
        if (run) last.run = run;
        last.sessionStartedAt ??= r.sessionStartedAt;
      }
    };
    for (const r of batch.scopes ?? []) {
      if (r.status === 'running') continue;
      // Sealed once Temporal has closed the run that recorded this end (worker/sealer.ts).
      touch(r, { namespace: r.namespace, workflowId: r.workflowId, runId: r.runId });
      if (r.openCalls) this.sealer.addAt([{ namespace: r.namespace, scopeId: r.scopeId, ...sessionStartOf(r) }], Date.parse(r.openCalls.until));
    }
    let scope: { namespace: string; scopeId: string; open: boolean } | undefined;
    for (const r of batch.actions ?? []) {
      if (r.status === 'running') continue;
      if (scope?.scopeId !== r.scopeId || scope.namespace !== r.namespace) scope = { namespace: r.namespace, scopeId: r.scopeId, open: this.open.has(r.namespace, r.scopeId) };
      if (!scope.open) touch(r);
    }
    for (const r of batch.gaps ?? []) touch(r);
    if (touched.length) this.sealer.add(touched);
    this.written += recordCount(batch);
    try {
      this.options.onCommitted?.(batch);
    } catch (err) {
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)), 0);
    }
  }

  private pending(): number {
    return this.scopes.length + this.actions.length + this.payloads.length + this.gaps.length + this.fingerprints.length;
  }

  /** When the last flush ended (see SealerOptions.writePathBusyAt). */
  private lastFlushEnded = 0;

  private kick(delay: number): void {
    if (this.flushing) return; // the running flush re-checks the queue when it ends
    if (this.timer && delay > 0) return;
    this.timer?.();
    const start = () => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        this.lastFlushEnded = Date.now();
        if (this.pending() > 0) this.kick(0);
      });
    };
    if (delay > 0) {
      const t = setTimeout(start, delay);
      this.timer = () => clearTimeout(t);
    } else {
      // Not setTimeout(0), which waits a millisecond: writers released by a flush write again
      // at once, and a millisecond per group commit is a large share of a small one.
      const i = setImmediate(start);
      this.timer = () => clearImmediate(i);
    }
  }

  private async flush(): Promise<void> {
    const scopes = this.scopes;
    const actions = this.actions;
    const payloads = this.payloads;
    const gaps = this.gaps;
    const fingerprints = this.fingerprints;
    const waiters = this.waiters;
    this.scopes = [];
    this.actions = [];
    this.payloads = [];
    this.gaps = [];
    this.fingerprints = [];
    this.waiters = [];
    const batch: RecordBatch = { scopes, actions, payloads, gaps, fingerprints };
    const count = recordCount(batch);
    const spool = this.options.spool;
    const started = Date.now();
    // Set when the spool could not take the batch: the store is the only way out then.
    let spoolRefused = false;
    for (let attempt = 1; ; attempt++) {
      // With a spool, a store failure is reported once the spool has answered, so that what
      // the report says of the records (spooled, or held: see spoolRefusing) is what happened.
      const failures: unknown[] = [];
      const report = () => {
        for (const err of failures.splice(0)) this.options.onError?.(err instanceof Error ? err : new Error(String(err)), attempt);
      };
      // While the store is known to be down, or records wait in the spool ahead of these,
      // records go straight to the spool (see spoolBacklog).
      let toStore = !(spool && (this.storeDown || this.spoolBacklog)) || spoolRefused;
      // A batch the spool refused (full disk, quota) still may not overtake what the spool
      // holds: a scope's end here, written first, would be sealed without the actions that
      // wait there, and they would be quarantined as late. Those go first, or this one waits.
      if (toStore && spoolRefused && spool!.hasBacklog()) toStore = (await this.drainSpool()) || !spool!.hasBacklog();
      if (toStore) {
        try {
          await this.writeToStore(batch);
          this.spoolRefusing = false;
          this.storeUp(`${count} held records written`);
          for (const w of waiters) w.resolve('store');
          return;
        } catch (err) {
          failures.push(err);
          if (!spool) report();
          if (isDataError(err)) {
            // The store is up but refuses something in this batch: one bad record must not
            // hold back the others (nor, spooled, every record after it).
            try {
              await this.writeOneByOne(batch);
              this.spoolRefusing = false;
              report();
              this.storeUp(`${count} held records written`);
              for (const w of waiters) w.resolve('store');
              return;
            } catch (again) {
              failures.push(again);
              if (!spool) report();
            }
          }
          if (spool) this.storeDown = true;
        }
      }
      if (spool) {
        try {
          // Returns only once the whole batch is on disk and fsynced: only then may its work go on.
          spool.append(batch);
          spoolRefused = false;
          this.spoolRefusing = false;
          report();
          this.spoolBacklog = true;
          this.spooled += count;
          this.watchSpool();
          // Behind a backlog while the store is up: move it now rather than at the next tick.
          if (!this.storeDown) void this.drainSpool();
          for (const w of waiters) w.resolve('spool');
          return;
        } catch (err) {
          spoolRefused = true;
          this.spoolRefusing = true;
          report();
          // Back-pressure: the records and the work that produced them wait in memory; the
          // worker's task slots bound how much can wait.
          if (Date.now() - this.lastSpoolAlert > 10_000) {
            this.lastSpoolAlert = Date.now();
            const what = err instanceof SpoolFullError ? 'SPOOL FULL' : 'SPOOL UNWRITABLE';
            this.options.onAlert?.(
              `${what}: ${(err as Error).message}; holding ${count} records and the work that produced them until the store or the spool takes them`,
            );
          }
          this.watchSpool();
        }
      } else if (Date.now() - started > this.retryForMs) {
        for (const w of waiters) w.reject(new Error(`store unavailable for ${this.retryForMs} ms; ${count} records not written`));
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(2_000, 50 * 2 ** Math.min(attempt, 6))));
    }
  }
}

/**
 * The store could not be reached or cannot serve now (a socket error, SQLSTATE classes
 * 08 connection, 53 resources, 57 operator intervention), as opposed to refusing a
 * statement (a missing permission, a failing migration).
 */
function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || /^E[A-Z]+$/.test(code)) return true;
  return !/^[0-9A-Z]{5}$/.test(code) || /^(08|53|57)/.test(code);
}

/**
 * A failure reported to `onError` that is the store being unreachable (or unable to serve now),
 * not a record it refused: what the worker says once per outage (worker/store-outage-log.ts).
 * A failed preparation carries the store's error as its cause.
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (isDataError(err)) return false;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return isUnavailable(cause ?? err);
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity violation): the record, not the store, is the problem. */
export function isDataError(err: unknown): boolean {
  // A record nested too deep to copy or send (the stack runs out) fails the same way on every
  // retry: it is the record's fault, not the store's, and must not hold back the ones after it.
  if (err instanceof RangeError) return true;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

/** The ids a batch's records go by, for a line that cannot show the records themselves. */
function recordIds(batch: RecordBatch): string[] {
  return [
    ...(batch.scopes ?? []).map((r) => `scope ${r.scopeId}`),
    ...[...(batch.actions ?? []), ...(batch.gaps ?? [])].map((r) => `action ${r.actionId}`),
    ...(batch.payloads ?? []).map((r) => `payload ${r.actionId} ${r.side}`),
    ...(batch.fingerprints ?? []).slice(0, 1).map((r) => `fingerprints of ${r.sourceId}`),
  ];
}
