/**
 * A bounded, durable spool on the worker's disk for CIM records the store could not
 * take. While the store is down, batches are appended here; a batch counts as spooled
 * (and the recorder may release the workflow task or activity waiting for it) only
 * once the whole line is written and fsynced. When the store answers again the spool is
 * drained into it (upserts by id, so a record written twice is still one row).
 *
 * Files: `active-<instance>-<n>.jsonl` is being appended by a live spool; it is renamed
 * to `ready-…` when rotated. A drainer claims a `ready-…` file, or an `active-…` /
 * `draining-…` file whose owner is gone, by renaming it to `draining-<instance>-…`: the
 * rename is atomic, so two workers sharing the folder never replay a file at once.
 *
 * Ownership rests on a per-process random instance id and a lease file
 * (`owner-<instance>.lease`) the owner keeps touching, never on PIDs: in a container
 * the successor of a SIGKILLed worker often has the same PID (1).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync,
  renameSync, statSync, unlinkSync, utimesSync, writeSync,
} from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import type { RecordBatch } from './recorder';
import { parseSpoolLine } from './spool-line';

export interface SpoolOptions {
  dir?: string;
  /** Largest total size of the spool files; past it, writers wait (back-pressure). Default 256 MiB. */
  maxBytes?: number;
  /** Start a new file past this size. Default 8 MiB. */
  segmentBytes?: number;
  /**
   * How long an owner's lease stays valid without being renewed; files of an owner whose
   * lease is older are drained by others. Default 10 s.
   */
  leaseMs?: number;
  /**
   * Folders an earlier version spooled to for this worker (named without the store, see
   * worker/spool-folder.ts). Their files nobody live holds are moved here before each drain,
   * and count as this spool's backlog until then; nothing is written there.
   */
  adoptFrom?: readonly string[];
}

export interface DrainResult {
  /** Records written to the store. */
  records: number;
  /** Batches written to the store (0 proves nothing about the store being up). */
  batches: number;
  /** Spool lines (or single records in them) that could not be read back, moved to `quarantineFile`. */
  quarantinedLines: number;
  quarantineFile: string;
}

export function defaultSpoolDir(): string {
  if (process.env.SCOPETRAIL_SPOOL_DIR) return process.env.SCOPETRAIL_SPOOL_DIR;
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'scopetrail', 'spool');
}

export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
}

/** The disk refused a batch (ENOSPC, EFBIG, EIO, …); nothing of it stays in the spool. */
export class SpoolWriteError extends Error {
  override readonly name = 'SpoolWriteError';
}

export const QUARANTINE_FILE = 'quarantine.log';

/** A quarantine file: the folder's own, or one a replay has claimed (see worker/quarantine.ts). */
export function isQuarantineFile(name: string): boolean {
  return name === QUARANTINE_FILE || /^quarantine\.log\.replaying-[0-9a-f]+$/.test(name);
}

/** Appends lines to a quarantine file, fsynced before it returns. */
export function appendQuarantineLines(file: string, lines: readonly string[]): void {
  const fd = openSync(file, 'a');
  try {
    const text = Buffer.from(lines.map((l) => `${l}\n`).join(''));
    for (let done = 0; done < text.length; ) done += writeSync(fd, text, done, text.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const INSTANCE = /^(?:active|draining)-(w[0-9a-f]{12})-/;
/** Files named by earlier versions, which put the writer's PID in the name. */
const LEGACY_PID = /^(?:active|draining)-(\d+)-/;

/** A spool file's creation time and sequence, the last two numbers of its name (`…-<ms>-<seq>.jsonl`). */
const WRITTEN_AT = /-(\d+)-(\d+)\.jsonl$/;

/**
 * Files in the order they were started, whoever wrote them: a worker's records go to the
 * store after its predecessor's (a name sort would order them by the writers' random ids).
 */
function byWrittenAt(a: string, b: string): number {
  const x = WRITTEN_AT.exec(a);
  const y = WRITTEN_AT.exec(b);
  if (x && y) {
    const d = Number(x[1]) - Number(y[1]) || Number(x[2]) - Number(y[2]);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  /** This process's spool identity; a restarted process with the same PID gets another. */
  readonly instance = `w${randomBytes(6).toString('hex')}`;
  private readonly segmentBytes: number;
  private readonly leaseMs: number;
  private fd: number | undefined;
  private activeName: string | undefined;
  private activeBytes = 0;
  private seq = 0;
  private leaseTimer: NodeJS.Timeout | undefined;
  /** Read-only views of the folders in `adoptFrom` that exist. */
  private readonly earlier: Spool[];

  constructor(options: SpoolOptions = {}) {
    this.dir = options.dir ?? defaultSpoolDir();
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
    this.leaseMs = options.leaseMs ?? 10_000;
    mkdirSync(this.dir, { recursive: true });
    this.earlier = (options.adoptFrom ?? []).filter((dir) => dir !== this.dir && existsSync(dir)).map((dir) => new Spool({ dir, leaseMs: this.leaseMs }));
  }

  get quarantineFile(): string {
    return join(this.dir, QUARANTINE_FILE);
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

  /**
   * Appends one batch durably: when this returns, the whole line is on disk. Throws
   * SpoolFullError past maxBytes and SpoolWriteError when the disk refuses; either way
   * the file is left ending on a complete line, so the batch is not spooled at all.
   */
  append(batch: RecordBatch): void {
    const line = Buffer.from(`${JSON.stringify(batch)}\n`);
    if (this.size() + line.length > this.maxBytes) {
      throw new SpoolFullError(`spool ${this.dir} is full (${this.maxBytes} bytes)`);
    }
    try {
      if (this.fd === undefined || this.activeBytes + line.length > this.segmentBytes) this.rotate();
    } catch (err) {
      throw new SpoolWriteError(`could not open a spool file in ${this.dir}: ${(err as Error).message}`);
    }
    this.writeLine(line);
    // Our lease may have lapsed (event loop blocked) and a drainer taken the file; what it
    // read before our write would be lost with the unlinked file, so write it again elsewhere.
    if (!this.activeFileIsOurs()) {
      this.retire();
      this.rotate();
      this.writeLine(line);
    }
  }

  /**
   * Keeps a record the store refused as data, for a person to inspect; never replayed
   * automatically (it would be refused again). One JSON line per entry in `quarantine.log` (not a spool file: drains skip it).
   */
  quarantine(batch: RecordBatch, reason: string): void {
    this.appendQuarantine([{ at: new Date().toISOString(), reason, batch }]);
  }

  /** What waits in quarantine for a person, if anything (a replay cut short included: see worker/quarantine.ts). */
  quarantineReport(): { path: string; entries: number } | undefined {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter(isQuarantineFile);
    } catch {
      return undefined;
    }
    let entries = 0;
    for (const name of names) {
      try {
        entries += readFileSync(join(this.dir, name), 'utf8').split('\n').filter(Boolean).length;
      } catch {
        /* replayed and removed meanwhile */
      }
    }
    return entries > 0 ? { path: this.quarantineFile, entries } : undefined;
  }

  /** True when nothing waits on disk. */
  isEmpty(): boolean {
    return this.files().length === 0 && this.earlier.every((e) => e.files().length === 0);
  }

  /**
   * True while something here is this process's to move into the store: its own lines, or
   * files no live writer holds. Another live worker's file in a shared folder is not: that
   * worker moves it itself.
   */
  hasBacklog(): boolean {
    if (this.fd !== undefined && this.activeBytes > 0) return true;
    return [this, ...this.earlier].some((s) => s.claimable().length > 0 || s.undetermined().length > 0);
  }

  /**
   * Moves the files of the earlier folders that nobody live holds into this one, names
   * unchanged (their written-at order holds across folders). A file whose owner's lease has
   * not lapsed yet stays, and is taken at a later drain.
   */
  private adoptEarlier(): void {
    let moved = 0;
    for (const from of this.earlier) {
      for (const file of from.claimable()) {
        try {
          renameSync(join(from.dir, file), join(this.dir, file));
          moved += 1;
        } catch {
          /* another worker took it first */
        }
      }
    }
    if (moved) syncDir(this.dir);
  }

  /**
   * Other owners' files whose lease was last renewed before this spool opened and has not
   * lapsed: a predecessor killed moments ago leaves such a file, and so does a live replica
   * between two renewals. Until the lease is renewed (alive: its owner moves the file) or
   * lapses (the file becomes claimable), the file counts as backlog, and nothing written
   * after it is drained before it: records written now must not overtake what it holds.
   */
  private undetermined(): string[] {
    return this.files().filter((f) => {
      const owner = INSTANCE.exec(f)?.[1];
      return owner !== undefined && owner !== this.instance && this.ownerAlive(owner) && !this.renewedSinceOpened(owner);
    });
  }

  /** When this spool was opened: a lease renewed after it belongs to a live owner. */
  private readonly openedAt = Date.now();
  private readonly seenRenewed = new Set<string>();

  private renewedSinceOpened(instance: string): boolean {
    if (this.seenRenewed.has(instance)) return true;
    try {
      // A touch within the first 50 ms may be a predecessor's last, in the same millisecond this
      // spool opened (file times are finer than Date.now()); a live owner renews every leaseMs / 4.
      if (statSync(this.leasePath(instance)).mtimeMs <= this.openedAt + 50) return false;
    } catch {
      return false; // no lease: the file is claimable, or about to be
    }
    this.seenRenewed.add(instance);
    return true;
  }

  /**
   * Replays every claimable file through `write`, deleting each once written. A line
   * that cannot be read back is moved to the quarantine file, never dropped. Stops at
   * the first failed write (the store is still down) and leaves the rest for the next try.
   */
  async drain(write: (batch: RecordBatch) => Promise<void>): Promise<DrainResult> {
    this.holdLease();
    this.adoptEarlier();
    const result: DrainResult = { records: 0, batches: 0, quarantinedLines: 0, quarantineFile: this.quarantineFile };
    // The file being appended is handed over only once everything before it is written: handed
    // over at every try, an outage left a new small file per try (thousands an hour), and each
    // append counts the folder's size file by file. Unless nothing else waits, a try while the
    // store is down fails on an older file and leaves the active one growing.
    if (!(await this.drainClaimable(write, result))) return result;
    if (this.fd === undefined || this.activeBytes === 0) return result;
    this.retire();
    await this.drainClaimable(write, result);
    return result;
  }

  /** Drains the claimable files in the order written; false when it stopped behind a file that may still be held. */
  private async drainClaimable(write: (batch: RecordBatch) => Promise<void>, result: DrainResult): Promise<boolean> {
    // A file an earlier version's worker may still hold comes first as surely as one of this folder's.
    const waitFor = [this, ...this.earlier].flatMap((s) => s.undetermined()).sort(byWrittenAt)[0];
    for (const file of this.claimable()) {
      if (waitFor !== undefined && byWrittenAt(file, waitFor) > 0) return false;
      const claimed = join(this.dir, `draining-${this.instance}-${file}`);
      try {
        renameSync(join(this.dir, file), claimed);
      } catch {
        continue; // another process claimed it first
      }
      const unreadable: Array<{ at: string; reason: string; file: string; line: number; text?: string; record?: unknown }> = [];
      try {
        const lines = readFileSync(claimed, 'utf8').split('\n');
        for (const [i, text] of lines.entries()) {
          if (text === '') continue;
          const parsed = parseSpoolLine(text);
          if (!parsed.ok) {
            unreadable.push({ at: new Date().toISOString(), reason: `unreadable spool line: ${parsed.reason}`, file, line: i + 1, text });
            continue;
          }
          for (const r of parsed.rejected) unreadable.push({ at: new Date().toISOString(), reason: r.reason, file, line: i + 1, record: r.record });
          if (recordCount(parsed.batch) === 0) continue;
          await write(parsed.batch);
          result.batches += 1;
          result.records += recordCount(parsed.batch);
        }
        // Kept (fsynced) before the file that held them goes.
        if (unreadable.length) this.appendQuarantine(unreadable);
      } catch (err) {
        renameSync(claimed, join(this.dir, file));
        throw err;
      }
      result.quarantinedLines += unreadable.length;
      unlinkSync(claimed);
    }
    return waitFor === undefined;
  }

  close(): void {
    this.retire();
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = undefined;
    try {
      unlinkSync(this.leasePath(this.instance));
    } catch {
      /* never held one */
    }
  }

  /** Writes the whole line and fsyncs it, or leaves the file as it was before. */
  private writeLine(line: Buffer): void {
    const fd = this.fd!;
    const start = this.activeBytes;
    try {
      // A write may be short (file-size limit, full disk): the rest goes in further writes or fails.
      for (let done = 0; done < line.length; ) {
        const n = writeSync(fd, line, done, line.length - done, start + done);
        if (n <= 0) throw new Error('the disk accepted no bytes');
        done += n;
      }
      fsyncSync(fd);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const message = (err as Error).message;
      // Node's own messages start with the code ("ENOSPC: no space left on device, write").
      const reason = message.startsWith(code) ? message : `${code}: ${message}`;
      try {
        // Cut the torn tail so the next batch starts on a line of its own.
        ftruncateSync(fd, start);
        fsyncSync(fd);
      } catch {
        // The tail could not be cut: nothing more goes into this file, and the drain
        // quarantines its torn last line (it was never acknowledged).
        this.retire();
      }
      throw new SpoolWriteError(`could not write ${line.length} bytes to the spool in ${this.dir} (${reason})`);
    }
    this.activeBytes += line.length;
  }

  private activeFileIsOurs(): boolean {
    try {
      return statSync(join(this.dir, this.activeName!)).ino === fstatSync(this.fd!).ino;
    } catch {
      return false;
    }
  }

  private rotate(): void {
    this.retire();
    this.holdLease();
    this.seq += 1;
    const name = `active-${this.instance}-${Date.now()}-${this.seq}.jsonl`;
    this.fd = openSync(join(this.dir, name), 'wx');
    this.activeName = name;
    this.activeBytes = 0;
    // The new file's directory entry must survive a power loss as surely as its lines.
    syncDir(this.dir);
  }

  /** Closes the active file and hands it to drainers. */
  private retire(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      /* already unusable */
    }
    this.fd = undefined;
    const name = this.activeName!;
    this.activeName = undefined;
    const empty = this.activeBytes === 0;
    this.activeBytes = 0;
    try {
      // A file no line was written to (the disk refused every one) holds nothing to hand over:
      // removed, not left behind, or each retry on a full disk would leave one more empty file.
      if (empty) unlinkSync(join(this.dir, name));
      else renameSync(join(this.dir, name), join(this.dir, name.replace(/^active-/, 'ready-')));
    } catch {
      /* a drainer already took it */
    }
  }

  private leasePath(instance: string): string {
    return join(this.dir, `owner-${instance}.lease`);
  }

  /** Creates the lease (once) and keeps it fresh while this process lives. */
  private holdLease(): void {
    const path = this.leasePath(this.instance);
    if (!this.leaseTimer) {
      this.renewLease();
      this.leaseTimer = setInterval(() => this.renewLease(), Math.max(10, Math.floor(this.leaseMs / 4)));
      this.leaseTimer.unref();
    } else if (!existsSync(path)) {
      this.renewLease();
    }
  }

  private renewLease(): void {
    const path = this.leasePath(this.instance);
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      let fd: number | undefined;
      try {
        fd = openSync(path, 'wx');
        // Only the file's time is read: on a full disk an empty lease still holds the spool.
        writeSync(fd, `${JSON.stringify({ instance: this.instance, host: hostname(), pid: process.pid, since: new Date().toISOString() })}\n`);
      } catch {
        /* the folder is unwritable: appends will say so */
      } finally {
        // Closed whatever the write did: a descriptor left open keeps a full disk from being unmounted.
        if (fd !== undefined) closeSync(fd);
      }
    }
  }

  private ownerAlive(instance: string): boolean {
    if (instance === this.instance) return true;
    try {
      return Date.now() - statSync(this.leasePath(instance)).mtimeMs <= this.leaseMs;
    } catch {
      return false;
    }
  }

  private files(): string[] {
    try {
      return readdirSync(this.dir).filter((f) => f.endsWith('.jsonl'));
    } catch {
      return [];
    }
  }

  /** Ready files, and files whose writer or drainer is gone. */
  private claimable(): string[] {
    const claimable = this.files()
      .filter((f) => {
        if (f.startsWith('ready-')) return true;
        const owner = INSTANCE.exec(f);
        if (owner) return !this.ownerAlive(owner[1]!);
        const legacy = LEGACY_PID.exec(f);
        // A legacy file named with our own PID was left by a predecessor: this process never names files so.
        return legacy !== null && (Number(legacy[1]) === process.pid || !pidAlive(Number(legacy[1])));
      })
      .sort(byWrittenAt);
    this.dropStaleLeases();
    return claimable;
  }

  /** Leases of owners that are gone and left no file behind. */
  private dropStaleLeases(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = /^owner-(w[0-9a-f]{12})\.lease$/.exec(name);
      if (!m || this.ownerAlive(m[1]!) || names.some((f) => f.includes(`-${m[1]}-`))) continue;
      try {
        unlinkSync(join(this.dir, name));
      } catch {
        /* another drainer removed it */
      }
    }
  }

  private appendQuarantine(entries: unknown[]): void {
    appendQuarantineLines(this.quarantineFile, entries.map((e) => JSON.stringify(e)));
  }
}

export function recordCount(batch: RecordBatch): number {
  return (
    (batch.scopes?.length ?? 0) + (batch.actions?.length ?? 0) + (batch.payloads?.length ?? 0) +
    (batch.gaps?.length ?? 0) + (batch.fingerprints?.length ?? 0)
  );
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* some file systems cannot fsync a directory */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
