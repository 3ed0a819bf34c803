/**
 * A bounded, durable spool on the worker's disk for CIM records the store could not
 * take. While the store is down, batches are appended (and fsynced) here, so the
 * recorder can release the workflow task or activity that is waiting for them: the
 * records are safe on disk. When the store answers again the spool is drained into it
 * (upserts by id, so a record written twice is still one row) and its files deleted.
 *
 * Files: `active-<pid>-<n>.jsonl` is being appended by a live process; it is renamed to
 * `ready-…` when rotated. A drainer claims a `ready-…` (or a dead process's `active-…`)
 * file by renaming it to `draining-<pid>-…`, so two workers sharing the folder never
 * replay the same file at once.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RecordBatch } from './recorder';

export interface SpoolOptions {
  dir?: string;
  /** Largest total size of the spool files; past it, writers wait (back-pressure). Default 256 MiB. */
  maxBytes?: number;
  /** Start a new file past this size. Default 8 MiB. */
  segmentBytes?: number;
}

export function defaultSpoolDir(): string {
  if (process.env.SCOPETRAIL_SPOOL_DIR) return process.env.SCOPETRAIL_SPOOL_DIR;
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'scopetrail', 'spool');
}

export class SpoolFullError extends Error {}

export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly segmentBytes: number;
  private fd: number | undefined;
  private activeName: string | undefined;
  private activeBytes = 0;
  private seq = 0;

  constructor(options: SpoolOptions = {}) {
    this.dir = options.dir ?? defaultSpoolDir();
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
    mkdirSync(this.dir, { recursive: true });
  }

  /** Total bytes held on disk, across every file in the folder. */
  size(): number {
    let total = 0;
    for (const f of this.files()) {
      try {
        total += statSync(join(this.dir, f)).size;
      } catch {
        /* claimed or deleted meanwhile */
      }
    }
    return total;
  }

  /** Appends one batch durably. Throws SpoolFullError when it would pass maxBytes. */
  append(batch: RecordBatch): void {
    const line = `${JSON.stringify(batch)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size() + bytes > this.maxBytes) {
      throw new SpoolFullError(`spool ${this.dir} is full (${this.maxBytes} bytes)`);
    }
    if (this.fd === undefined || this.activeBytes + bytes > this.segmentBytes) this.rotate();
    writeSync(this.fd!, line);
    fsyncSync(this.fd!);
    this.activeBytes += bytes;
  }

  /**
   * Keeps a record the store refused as data, for a person to inspect; never replayed
   * automatically (it would be refused again). One JSON line per record in `quarantine.log` (not a spool file: drains skip it).
   */
  quarantine(batch: RecordBatch, reason: string): void {
    const fd = openSync(join(this.dir, 'quarantine.log'), 'a');
    try {
      writeSync(fd, `${JSON.stringify({ at: new Date().toISOString(), reason, batch })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** True when nothing waits on disk. */
  isEmpty(): boolean {
    return this.files().length === 0;
  }

  /**
   * Replays every claimable file through `write`, deleting each once written. Stops at
   * the first failure (the store is still down) and leaves the rest for the next try.
   */
  async drain(write: (batch: RecordBatch) => Promise<void>): Promise<number> {
    this.rotate(false);
    let replayed = 0;
    for (const file of this.claimable()) {
      const claimed = join(this.dir, `draining-${process.pid}-${file}`);
      try {
        renameSync(join(this.dir, file), claimed);
      } catch {
        continue; // another process claimed it first
      }
      const lines = readFileSync(claimed, 'utf8').split('\n').filter(Boolean);
      try {
        for (const line of lines) {
          let batch: RecordBatch;
          try {
            batch = JSON.parse(line) as RecordBatch;
          } catch {
            continue; // a torn last line from a crash mid-write: it was never acknowledged
          }
          await write(batch);
          replayed += (batch.scopes?.length ?? 0) + (batch.actions?.length ?? 0) + (batch.payloads?.length ?? 0);
        }
      } catch (err) {
        renameSync(claimed, join(this.dir, file));
        throw err;
      }
      unlinkSync(claimed);
    }
    return replayed;
  }

  close(): void {
    this.rotate(false);
  }

  private rotate(openNext = true): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
      if (this.activeName) renameSync(join(this.dir, this.activeName), join(this.dir, this.activeName.replace(/^active-/, 'ready-')));
      this.activeName = undefined;
    }
    if (!openNext) return;
    this.seq += 1;
    this.activeName = `active-${process.pid}-${Date.now()}-${this.seq}.jsonl`;
    this.fd = openSync(join(this.dir, this.activeName), 'a');
    this.activeBytes = 0;
  }

  private files(): string[] {
    try {
      return readdirSync(this.dir).filter((f) => f.endsWith('.jsonl'));
    } catch {
      return [];
    }
  }

  /** Ready files, files a dead process left active, and files a dead drainer left half-done. */
  private claimable(): string[] {
    return this.files()
      .filter((f) => {
        if (f.startsWith('ready-')) return true;
        const m = /^(?:active|draining)-(\d+)-/.exec(f);
        return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
      })
      .sort();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
