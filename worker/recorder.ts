/**
 * The recorder turns many small CIM writes into few store round trips (group
 * commit). A caller's promise settles only when its records are committed, which is
 * what makes the capture durable: the worker completes a workflow task or an
 * activity only after its records are in the store.
 */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { PayloadRecord, Store } from '../store/types';
import type { FingerprintRecord } from '../store/fingerprint-store';
import { Sealer, type SealerOptions } from './sealer';
import { SpoolFullError, type Spool } from './spool';

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
  /** Sealing of hash chains, which runs behind the writes (see Sealer). */
  sealer?: Omit<SealerOptions, 'onError'>;
  /** Loud, rare messages: spool full, store back. */
  onAlert?: (message: string) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Recorder {
  private scopes: ScopeRecord[] = [];
  private actions: ActionRecord[] = [];
  private payloads: PayloadRecord[] = [];
  private gaps: ActionRecord[] = [];
  private fingerprints: FingerprintRecord[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly lingerMs: number;
  private readonly maxBatch: number;
  private readonly retryForMs: number;
  /** Records committed to the store since start (directly or from the spool). */
  written = 0;
  /** Records that went to the spool since start. */
  spooled = 0;
  /** Set after a store failure; cleared when a drain reaches the store again. */
  private storeDown = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private lastFullAlert = 0;
  readonly sealer: Sealer;

  constructor(
    private readonly store: Store,
    private readonly options: RecorderOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 2;
    this.maxBatch = options.maxBatch ?? 500;
    this.retryForMs = options.retryForMs ?? 60_000;
    this.sealer = new Sealer(store, {
      ...options.sealer,
      onError: (err) => options.onError?.(err, 0),
      onRefused: (err) => options.onAlert?.(err.message),
    });
  }

  write(batch: RecordBatch): Promise<void> {
    const count = (batch.scopes?.length ?? 0) + (batch.actions?.length ?? 0) + (batch.payloads?.length ?? 0) + (batch.gaps?.length ?? 0) + (batch.fingerprints?.length ?? 0);
    if (count === 0) return Promise.resolve();
    if (batch.gaps) this.gaps.push(...batch.gaps);
    if (batch.scopes) this.scopes.push(...batch.scopes);
    if (batch.actions) this.actions.push(...batch.actions);
    if (batch.payloads) this.payloads.push(...batch.payloads);
    if (batch.fingerprints) this.fingerprints.push(...batch.fingerprints);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
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
    while (this.pending() > 0 || this.flushing) {
      this.kick(0);
      await (this.flushing ?? new Promise((r) => setImmediate(r)));
    }
    if (!this.storeDown) await this.sealer.drain();
  }

  /** Moves spooled records into the store now; resolves false if the store is still down. */
  async drainSpool(): Promise<boolean> {
    const spool = this.options.spool;
    if (!spool) return true;
    this.draining ??= (async () => {
      try {
        const moved = await spool.drain((batch) =>
          this.writeToStore(batch).catch((err: unknown) => (isDataError(err) ? this.writeOneByOne(batch) : Promise.reject(err))),
        );
        if (this.storeDown) this.options.onAlert?.(`store is back: ${moved} spooled records written`);
        this.storeDown = false;
      } catch (err) {
        this.storeDown = true;
        this.options.onError?.(err instanceof Error ? err : new Error(String(err)), 0);
      } finally {
        this.draining = undefined;
      }
    })();
    await this.draining;
    return !this.storeDown && spool.isEmpty();
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

  /** Records the store refused as data (not for being down), kept aside for a person to look at. */
  quarantined = 0;

  private async writeOneByOne(batch: RecordBatch): Promise<void> {
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
        await this.writeToStore(single);
      } catch (err) {
        if (!isDataError(err)) throw err;
        this.quarantined += 1;
        this.options.spool?.quarantine(single, err instanceof Error ? err.message : String(err));
        this.options.onAlert?.(`QUARANTINED a record the store refused (${(err as Error).message}): ${JSON.stringify(single).slice(0, 300)}`);
      }
    }
  }

  private async writeToStore(batch: RecordBatch): Promise<void> {
    if (batch.actions?.length) await this.store.upsertActions(batch.actions);
    if (batch.payloads?.length) await this.store.upsertPayloads(batch.payloads);
    // Gap fills go after the actions: a finished record in this same batch must win over them.
    if (batch.gaps?.length) await this.store.fillActionGaps(batch.gaps);
    // Scopes go after their actions: a chain is sealed once, as soon as a sealer sees its
    // scope ended, so every action recorded before the end must be visible by then.
    if (batch.scopes?.length) await this.store.upsertScopes(batch.scopes);
    if (batch.fingerprints?.length) await this.store.fingerprints().upsert(batch.fingerprints);
    // Scopes that ended, or got a late record after ending, get their hash chain (re)computed.
    const touched = [
      ...(batch.scopes ?? []).filter((r) => r.status !== 'running'),
      ...(batch.actions ?? []).filter((r) => r.status !== 'running'),
      ...(batch.gaps ?? []),
    ].map((r) => ({ namespace: r.namespace, scopeId: r.scopeId }));
    if (touched.length) this.sealer.add(touched);
    this.written += (batch.scopes?.length ?? 0) + (batch.actions?.length ?? 0) + (batch.payloads?.length ?? 0) + (batch.gaps?.length ?? 0) + (batch.fingerprints?.length ?? 0);
  }

  private pending(): number {
    return this.scopes.length + this.actions.length + this.payloads.length + this.gaps.length + this.fingerprints.length;
  }

  private kick(delay: number): void {
    if (this.flushing) return; // the running flush re-checks the queue when it ends
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.pending() > 0) this.kick(0);
      });
    }, delay);
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
    const count = scopes.length + actions.length + payloads.length + gaps.length + fingerprints.length;
    const spool = this.options.spool;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      // While the store is known to be down, records go straight to the spool.
      if (!(spool && this.storeDown)) {
        try {
          await this.writeToStore(batch);
          for (const w of waiters) w.resolve();
          return;
        } catch (err) {
          this.options.onError?.(err instanceof Error ? err : new Error(String(err)), attempt);
          if (isDataError(err)) {
            // The store is up but refuses something in this batch: one bad record must not
            // hold back the others (nor, spooled, every record after it).
            try {
              await this.writeOneByOne(batch);
              for (const w of waiters) w.resolve();
              return;
            } catch (again) {
              this.options.onError?.(again instanceof Error ? again : new Error(String(again)), attempt);
            }
          }
          if (spool) this.storeDown = true;
        }
      }
      if (spool) {
        try {
          spool.append(batch);
          this.spooled += count;
          this.watchSpool();
          for (const w of waiters) w.resolve();
          return;
        } catch (err) {
          if (!(err instanceof SpoolFullError)) {
            // A disk error: keep the records in memory and keep trying both ways.
            this.options.onError?.(err instanceof Error ? err : new Error(String(err)), attempt);
          } else if (Date.now() - this.lastFullAlert > 10_000) {
            this.lastFullAlert = Date.now();
            this.options.onAlert?.(
              `SPOOL FULL: ${err.message}; holding ${count} records and the work that produced them until the store is back`,
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

/** SQLSTATE classes 22 (data exception) and 23 (integrity violation): the record, not the store, is the problem. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}
