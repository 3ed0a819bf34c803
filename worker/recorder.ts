/**
 * The recorder turns many small CIM writes into few store round trips (group
 * commit). A caller's promise settles only when its records are committed, which is
 * what makes the capture durable: the worker completes a workflow task or an
 * activity only after its records are in the store.
 */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { PayloadRecord, Store } from '../store/types';

export interface RecordBatch {
  scopes?: ScopeRecord[];
  actions?: ActionRecord[];
  payloads?: PayloadRecord[];
}

export interface RecorderOptions {
  /** How long a write waits for company before it is flushed. */
  lingerMs?: number;
  /** Flush at once when this many records are waiting. */
  maxBatch?: number;
  /** Give up on a failing store after this long and reject the writers. */
  retryForMs?: number;
  onError?: (err: Error, attempt: number) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Recorder {
  private scopes: ScopeRecord[] = [];
  private actions: ActionRecord[] = [];
  private payloads: PayloadRecord[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly lingerMs: number;
  private readonly maxBatch: number;
  private readonly retryForMs: number;
  /** Records committed since start; used by tests and progress output. */
  written = 0;

  constructor(
    private readonly store: Store,
    private readonly options: RecorderOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 2;
    this.maxBatch = options.maxBatch ?? 500;
    this.retryForMs = options.retryForMs ?? 60_000;
  }

  write(batch: RecordBatch): Promise<void> {
    const count = (batch.scopes?.length ?? 0) + (batch.actions?.length ?? 0) + (batch.payloads?.length ?? 0);
    if (count === 0) return Promise.resolve();
    if (batch.scopes) this.scopes.push(...batch.scopes);
    if (batch.actions) this.actions.push(...batch.actions);
    if (batch.payloads) this.payloads.push(...batch.payloads);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.pending() >= this.maxBatch) this.kick(0);
    else this.kick(this.lingerMs);
    return done;
  }

  /** Resolves when everything written so far is committed. */
  async drain(): Promise<void> {
    while (this.pending() > 0 || this.flushing) {
      this.kick(0);
      await (this.flushing ?? new Promise((r) => setImmediate(r)));
    }
  }

  private pending(): number {
    return this.scopes.length + this.actions.length + this.payloads.length;
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
    const waiters = this.waiters;
    this.scopes = [];
    this.actions = [];
    this.payloads = [];
    this.waiters = [];
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        if (scopes.length) await this.store.upsertScopes(scopes);
        if (actions.length) await this.store.upsertActions(actions);
        if (payloads.length) await this.store.upsertPayloads(payloads);
        this.written += scopes.length + actions.length + payloads.length;
        for (const w of waiters) w.resolve();
        return;
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        this.options.onError?.(error, attempt);
        if (Date.now() - started > this.retryForMs) {
          for (const w of waiters) w.reject(error);
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 50 * 2 ** Math.min(attempt, 7))));
      }
    }
  }
}
