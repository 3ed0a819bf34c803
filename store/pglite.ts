/** The embedded backend: PGlite (Postgres compiled to WASM), for a newcomer with no Postgres server. */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { SqlStore, type SqlExecutor, type SqlStoreOptions } from './sql-store';
import { lockEmbeddedStore } from './embedded-lock';

export function pgliteExecutor(dataDir: string | undefined): SqlExecutor {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
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
  // An in-memory store is its process's alone: nothing another worker could drain into it.
  const location = dataDir ? `pglite:${resolve(dataDir)}` : `pglite:memory:${randomBytes(8).toString('hex')}`;
  return new SqlStore(pgliteExecutor(dataDir), dataDir ? `embedded PGlite at ${dataDir}` : 'embedded PGlite (in memory)', { location, ...options });
}
