/**
 * What a worker says of a store outage: one line when it begins, a reminder at most once a
 * minute while it lasts, and one line when the store is back. The recorder keeps retrying
 * underneath (its spool drain every second: preparing the store and registering the agents'
 * manifests, then moving spooled records in; the sealer's passes), and each retry that fails
 * reports its error; said as it came, an idle worker repeated "store write failed … (records
 * spooled in …)" every few seconds although nothing was being written or spooled.
 *
 * Errors that are not the store being unreachable (a row the store refuses, a hook that
 * threw, a scope set aside by sealing) are not part of an outage and are said as before.
 */
import type { Recorder, RecorderOptions } from './recorder';
import { isStoreUnavailable } from './recorder';
import type { Spool } from './spool';
import { SealSetAsideError } from './seal-isolation';

/** How often, at most, a lasting outage is said again. */
export const OUTAGE_REMINDER_MS = 60_000;

/** What the recorder's own alerts say when the store comes back, or was unreachable at start. */
const BACK = 'store is back: ';
const DOWN_AT_START = 'store unreachable at start ';

export interface StoreOutageLogOptions {
  log: (line: string) => void;
  spool: Spool | undefined;
  remindEveryMs?: number;
  now?: () => number;
}

export class StoreOutageLog {
  private since: number | undefined;
  private lastSaid = 0;
  private spooledBefore = 0;
  private recorder: Recorder | undefined;
  private lastSealErrorLog = 0;
  private lastErrorLog = 0;
  /** What the outage's latest failed write (or preparation, or drain) said, and whether sealing failed in it. */
  private lastWriteError: Error | undefined;
  private sealingFailed = false;

  constructor(private readonly o: StoreOutageLogOptions) {}

  /** The recorder whose state the lines describe (its spooled count, whether the spool refuses). */
  watch(recorder: Recorder): void {
    this.recorder = recorder;
  }

  get down(): boolean {
    return this.since !== undefined;
  }

  /** The recorder options that report through this log. */
  recorderHooks(): Pick<RecorderOptions, 'onError' | 'onSealError' | 'onAlert'> & { onCommitted: () => void } {
    return {
      onError: (err) => {
        if (isStoreUnavailable(err)) return this.failed(err);
        // Not an outage (a statement the store refuses): one line per 5 s is enough to say it fails.
        if (this.now() - this.lastErrorLog < 5_000) return;
        this.lastErrorLog = this.now();
        this.o.log(`store write failed: ${err.message}${this.where()}`);
      },
      onSealError: (err) => {
        // Records are stored; sealing is retried. A scope set aside is named each time (rare).
        if (!(err instanceof SealSetAsideError) && isStoreUnavailable(err)) return this.failed(err, 'sealing');
        if (!(err instanceof SealSetAsideError) && this.now() - this.lastSealErrorLog < 5_000) return;
        this.lastSealErrorLog = this.now();
        this.o.log(`sealing failed: ${err.message}`);
      },
      onAlert: (message) => {
        if (message.startsWith(BACK)) return this.back(message.slice(BACK.length));
        if (message.startsWith(DOWN_AT_START)) this.began();
        this.o.log(message);
      },
      // A write that reached the store ends an outage the recorder itself did not mark (it marks
      // one only with a spool, and not for sealing); one it marked, it ends with its own alert.
      onCommitted: () => {
        if (this.down && !this.recorder?.storeUnreachable) this.back('records are written again');
      },
    };
  }

  /** A store call failed because the store cannot be reached. */
  failed(err: Error, what: 'writing' | 'sealing' = 'writing'): void {
    const now = this.now();
    if (what === 'writing') this.lastWriteError = err;
    else this.sealingFailed = true;
    if (this.since === undefined) {
      this.began();
      if (what === 'writing') this.lastWriteError = err;
      else this.sealingFailed = true;
      this.o.log(
        `store unreachable${what === 'sealing' ? ' (sealing)' : ''}: ${err.message}${this.where()}; retrying — said again once a minute while it lasts, and when it is back`,
      );
      return;
    }
    if (now - this.lastSaid < (this.o.remindEveryMs ?? OUTAGE_REMINDER_MS)) return;
    this.lastSaid = now;
    // What is retried, from what failed since the outage began, whichever failure this one is.
    const writeError = this.lastWriteError;
    const retrying = [
      writeError === undefined
        ? undefined
        : /^could not prepare the store\b/.test(writeError.message)
          ? "preparing the store (its tables, the agents' manifests) before anything is written"
          : this.o.spool && !this.o.spool.isEmpty()
            ? 'moving the spooled records into the store'
            : 'writing',
      this.sealingFailed ? 'sealing what is stored' : undefined,
    ].filter(Boolean);
    const spooled = (this.recorder?.spooled ?? 0) - this.spooledBefore;
    const records = !this.o.spool
      ? 'records wait in memory'
      : this.recorder?.spoolRefusing
        ? `records are held: the spool in ${this.o.spool.dir} refuses them`
        : spooled > 0
          ? `${spooled} records spooled in ${this.o.spool.dir} since it went down`
          : 'nothing new recorded since it went down';
    this.o.log(`store still unreachable after ${duration(now - this.since)} (${(writeError ?? err).message}): ${records}; still retrying ${retrying.join(' and ')}`);
  }

  /** The outage ends: said once, with how long it lasted. */
  back(detail: string): void {
    if (this.since === undefined) {
      this.o.log(`${BACK}${detail}`);
      return;
    }
    const lasted = duration(this.now() - this.since);
    this.since = undefined;
    this.o.log(`store is back after ${lasted}: ${detail}`);
  }

  private began(): void {
    if (this.since !== undefined) return;
    this.lastWriteError = undefined;
    this.sealingFailed = false;
    this.since = this.now();
    this.lastSaid = this.since;
    this.spooledBefore = this.recorder?.spooled ?? 0;
  }

  /** Where the records are while the store cannot take them. */
  private where(): string {
    const spool = this.o.spool;
    if (!spool) return '';
    return this.recorder?.spoolRefusing
      ? ` (records held until the store or the spool in ${spool.dir} takes them: the spool refuses them)`
      : ` (records go to the spool in ${spool.dir} until it answers)`;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${s % 60}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

/**
 * The lines of a periodic job that reads the store (the look for unended scopes): a failure
 * because the store cannot be reached is said once, then not again until a run of the job
 * goes through; the worker's outage lines say how the outage goes. Said at every run, an
 * idle worker repeated it once a minute for as long as the store was down.
 */
export function periodicStoreJobLog(log: (line: string) => void, what: string): { onError: (err: Error) => void; onLooked: () => void } {
  let unreachable = false;
  return {
    onError: (err) => {
      if (!isStoreUnavailable(err)) return log(`${what}: ${err.message}`);
      if (unreachable) return;
      unreachable = true;
      log(`${what}: store unreachable (${err.message}); tried again at every look; said again only after a look has gone through`);
    },
    onLooked: () => {
      unreachable = false;
    },
  };
}
