/**
 * One process at a time in an embedded store. PGlite runs Postgres inside this process
 * with no shared-memory coordination: a second process opening the same directory
 * corrupts what the first is writing or dies mid-query with WASM's bare `Aborted()`.
 * A lock file beside the directory, holding the owner's pid, lets the second process
 * say so instead. A lock whose process is gone (killed, crashed) is taken over.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

export class StoreInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `the embedded store at ${dataDir} is in use by another scopetrail process (pid ${pid}); ` +
        'stop it or use DATABASE_URL (a Postgres server serves several processes at once)',
    );
    this.name = 'StoreInUseError';
  }
}

export interface EmbeddedLock {
  release(): void;
}

export function lockPathOf(dataDir: string): string {
  return `${dataDir.replace(/[/\\]+$/, '')}.lock`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function lockEmbeddedStore(dataDir: string): EmbeddedLock {
  const path = lockPathOf(dataDir);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw err;
    }
    const owner = ownerOf(path);
    if (owner !== undefined && owner !== process.pid && alive(owner)) throw new StoreInUseError(dataDir, owner);
    // Stale (its process is gone), unreadable, or our own from an earlier open that was never closed.
    try {
      unlinkSync(path);
    } catch {
      // Another process took it over first; the next attempt sees its pid.
    }
  }
  const release = () => {
    process.off('exit', release);
    if (ownerOf(path) === process.pid) {
      try {
        unlinkSync(path);
      } catch {
        // Already gone.
      }
    }
  };
  // A process that exits without closing the store still leaves no lock behind.
  process.on('exit', release);
  return { release };
}
