/** The embedded backend: PGlite (Postgres compiled to WASM), for a newcomer with no Postgres server. */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { SqlStore, type SqlExecutor, type SqlStoreOptions } from './sql-store';
import { lockEmbeddedStore } from './embedded-lock';
import { checkEmbeddedFolder } from './embedded-folder';

export function pgliteExecutor(dataDir: string | undefined): SqlExecutor {
  if (dataDir) {
    checkEmbeddedFolder(dataDir);
    mkdirSync(dataDir, { recursive: true });
  }
  const lock = dataDir ? lockEmbeddedStore(dataDir) : undefined;
  let db: PGlite;
  try {
    db = new PGlite(dataDir);
  } catch (err) {
    lock?.release();
    throw err;
  }
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>) => ({
    query: async (sql: string, params?: unknown[]) => (await q.query(sql, params as unknown[])) as never,
    exec: async (sql: string) => {
      await q.exec(sql);
    },
  });
  return {
    ...wrap(db),
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx as never))),
    close: async () => {
      try {
        await db.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/** `dataDir` undefined keeps everything in memory. */
export function openPgliteStore(dataDir: string | undefined, options: SqlStoreOptions = {}): SqlStore {
  // In-memory stores share one name: a key of its own per process would leave a new spool folder behind each run.
  const location = dataDir ? `pglite:${resolve(dataDir)}` : 'pglite:memory';
  return new SqlStore(pgliteExecutor(dataDir), dataDir ? `embedded PGlite at ${dataDir}` : 'embedded PGlite (in memory)', { location, ...options });
}
