/** The Postgres backend (node-postgres pool). */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { copyRows } from './copy';
import { SqlStore, type SqlExecutor, type SqlStoreOptions } from './sql-store';

export function postgresExecutor(connectionString: string, poolSize = 10): SqlExecutor {
  // Bounded waits: during an outage the recorder must learn fast that it should spool.
  const pool = new pg.Pool({ connectionString, max: poolSize, connectionTimeoutMillis: 5_000, query_timeout: 30_000 });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => undefined);
  return {
    query: async (sql, params, options) =>
      (await pool.query({ text: sql, values: params as unknown[], name: options?.prepare ? statementName(sql) : undefined })) as never,
    exec: async (sql) => {
      await pool.query(sql);
    },
    transaction: async (fn) => {
      const client = await pool.connect();
      // A connection lost mid-transaction fails the running query, which the caller sees;
      // the client's own 'error' event must not also become an uncaught exception. A
      // broken client is destroyed on release instead of going back to the pool.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: async (sql, params) => (await client.query(sql, params as unknown[])) as never,
          exec: async (sql) => {
            await client.query(sql);
          },
          copy: (table, columns, rows) => copyRows(client, table, columns, rows),
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

const statementNames = new Map<string, string>();

/**
 * One name per statement text (node-postgres prepares a name once per connection and
 * refuses it for another text). Behind a pooler in transaction mode, the pooler must
 * carry prepared statements (PgBouncer 1.21+ with `max_prepared_statements`).
 */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `scopetrail_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/** libpq takes a password from the URL's user info and from these query parameters. */
const SECRET_PARAMS = new Set(['password', 'sslpassword']);

/** A database URL fit to print: every password replaced by `***`, wherever in the URL it was given. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (SECRET_PARAMS.has(key.toLowerCase())) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    return 'postgres (unparseable DATABASE_URL)';
  }
}

export function openPostgresStore(url: string, options: SqlStoreOptions = {}): SqlStore {
  return new SqlStore(postgresExecutor(url), `postgres ${redactUrl(url)}`, options);
}
