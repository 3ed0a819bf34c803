/** The embedded backend: PGlite (Postgres compiled to WASM), for a newcomer with no Postgres server. */
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { SqlStore, type SqlExecutor, type SqlStoreOptions } from './sql-store';
import { lockEmbeddedStore } from './embedded-lock';
import { checkEmbeddedFolder } from './embedded-folder';

export function pgliteExecutor(dataDir: string | undefined): SqlExecutor {
  if (dataDir) {
    checkEmbeddedFolder(dataDir);
    mkdirSync(dirname(resolve(dataDir)), { recursive: true });
  }
  const lock = dataDir ? lockEmbeddedStore(dataDir) : undefined;
  const opened: Promise<PGlite> = (async () => {
    try {
      if (dataDir) {
        // Again under the lock: another process may have made the store, or put files there, since.
        if (checkEmbeddedFolder(dataDir) !== 'store') await createStore(dataDir);
      }
      const db = new PGlite(dataDir);
      await db.waitReady;
      return db;
    } catch (err) {
      lock?.release();
      throw err;
    }
  })();
  // Its failure reaches whoever queries first; until then it is not unhandled.
  opened.catch(() => undefined);
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>) => ({
    query: async (sql: string, params?: unknown[]) => (await q.query(sql, params as unknown[])) as never,
    exec: async (sql: string) => {
      await q.exec(sql);
    },
  });
  return {
    query: async (sql, params) => wrap(await opened).query(sql, params),
    exec: async (sql) => wrap(await opened).exec(sql),
    transaction: async (fn) => (await opened).transaction((tx) => fn(wrap(tx as never))),
    close: async () => {
      let db: PGlite;
      try {
        db = await opened;
      } catch {
        return; // never opened: the lock went with the failure
      }
      try {
        await db.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/**
 * Makes a new store in a folder beside `dataDir` and moves it in when it is whole, its
 * PG_VERSION last: PGlite takes seconds to write one, and a process stopped meanwhile
 * (Ctrl-C on a first run) would otherwise leave a folder with part of a store and no
 * PG_VERSION, which later opens refuse as someone else's files. The caller holds the
 * store's lock, so a folder left by a creator that was stopped is removed.
 */
async function createStore(dataDir: string): Promise<void> {
  const target = resolve(dataDir);
  const making = join(dirname(target), `.${basename(target)}.creating`);
  rmSync(making, { recursive: true, force: true });
  const db = new PGlite(making);
  try {
    await db.waitReady;
  } finally {
    await db.close().catch(() => undefined);
  }
  mkdirSync(target, { recursive: true });
  // Into the folder itself (it may exist, empty, perhaps a mount point or a link): entry by entry.
  const entries = readdirSync(making).filter((e) => e !== 'PG_VERSION');
  for (const entry of [...entries, 'PG_VERSION']) moveEntry(join(making, entry), join(target, entry));
  rmSync(making, { recursive: true, force: true });
}

/** A rename, or a copy where the folder is on another file system than its parent (a mount point). */
function moveEntry(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    cpSync(from, to, { recursive: true });
    rmSync(from, { recursive: true, force: true });
  }
}

/** `dataDir` undefined keeps everything in memory. */
export function openPgliteStore(dataDir: string | undefined, options: SqlStoreOptions = {}): SqlStore {
  // In-memory stores share one name: a key of its own per process would leave a new spool folder behind each run.
  const location = dataDir ? `pglite:${resolve(dataDir)}` : 'pglite:memory';
  return new SqlStore(pgliteExecutor(dataDir), dataDir ? `embedded PGlite at ${dataDir}` : 'embedded PGlite (in memory)', { location, ...options });
}
