/** The Postgres backend (node-postgres pool). */
import pg from 'pg';
import { createHash } from 'node:crypto';
import { copyRows } from './copy';
import { SqlStore, type QueryOptions, type SqlExecutor, type SqlStoreOptions } from './sql-store';

/**
 * A prepared statement's name, derived from its text: node-postgres prepares a named
 * statement once per connection and refuses one name for two texts.
 */
const statementNames = new Map<string, string>();
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `scopetrail_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * Whether the hot statements are prepared by name (on by default). PgBouncer in
 * transaction mode before 1.21 hands a session's prepared statements to other clients'
 * transactions; behind one, set SCOPETRAIL_PG_PREPARED_STATEMENTS=off.
 */
export function preparedStatementsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.SCOPETRAIL_PG_PREPARED_STATEMENTS?.trim() ?? '';
  if (value === '' || /^(1|on|true|yes)$/i.test(value)) return true;
  if (/^(0|off|false|no)$/i.test(value)) return false;
  throw new Error(`SCOPETRAIL_PG_PREPARED_STATEMENTS: expected on or off, got ${JSON.stringify(value)}`);
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How long a pooled connection may sit idle before it is closed: a minute by default,
 * SCOPETRAIL_PG_IDLE_TIMEOUT_MS otherwise (0 keeps idle connections open). A new
 * connection costs the server a backend of its own, about 10–15 ms of its CPU to start
 * and a few more to load the tables' catalog entries and plan each prepared statement
 * again; node-postgres's default of 10 s closed a worker's connections in every pause
 * between bursts of sessions and opened them anew on the next burst's first writes,
 * which tool calls wait for.
 */
export function poolIdleTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.SCOPETRAIL_PG_IDLE_TIMEOUT_MS?.trim() ?? '';
  if (value === '') return 60_000;
  // A timer longer than 2^31 - 1 ms would fire at once in Node.
  if (/^\d{1,10}$/.test(value) && Number(value) <= MAX_TIMER_MS) return Number(value);
  throw new Error(`SCOPETRAIL_PG_IDLE_TIMEOUT_MS: expected a whole number of milliseconds up to ${MAX_TIMER_MS} (0 keeps idle connections open), got ${JSON.stringify(value)}`);
}

/** The read timeout of every statement but the long ones (QueryOptions.long). */
export const QUERY_TIMEOUT_MS = 30_000;
/** A long statement's: a day, where node-postgres takes no "none". */
const LONG_QUERY_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export async function runQuery(
  on: Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>,
  sql: string,
  params: unknown[] | undefined,
  options: QueryOptions | undefined,
  prepare = true,
): Promise<never> {
  const named = options?.prepared && prepare ? { name: statementName(sql) } : {};
  // node-postgres reads a statement's own query_timeout before the pool's; its types do not list it.
  if (options?.long) return (await on.query({ ...named, text: sql, values: params, query_timeout: LONG_QUERY_TIMEOUT_MS } as unknown as pg.QueryConfig)) as never;
  if (named.name) return (await on.query({ ...named, text: sql, values: params })) as never;
  return (await on.query(sql, params)) as never;
}

/** Runs the tasks given to it one at a time, in the order given; a failure does not stop the next. */
export function serially(): <T>(task: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = last.then(() => task());
    last = run.catch(() => undefined);
    return run;
  };
}

export function postgresExecutor(connectionString: string, poolSize = 10, queryTimeoutMs = QUERY_TIMEOUT_MS): SqlExecutor {
  const prepare = preparedStatementsEnabled();
  const idleTimeoutMillis = poolIdleTimeoutMs();
  // Bounded waits: during an outage the recorder must learn fast that it should spool.
  // Idle connections do not hold the process: a script that reads and never calls
  // close() ends when it is done, not when they time out a minute later.
  const pool = new pg.Pool({ connectionString, max: poolSize, connectionTimeoutMillis: 5_000, query_timeout: queryTimeoutMs, idleTimeoutMillis, allowExitOnIdle: true });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => undefined);
  return {
    query: (sql, params, options) => runQuery(pool, sql, params, options, prepare),
    exec: async (sql) => {
      await pool.query(sql);
    },
    transaction: async (fn, options) => {
      const client = await pool.connect();
      // A connection lost mid-transaction fails the running query, which the caller sees;
      // the client's own 'error' event must not also become an uncaught exception. A
      // broken client is destroyed on release instead of going back to the pool.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      // Statements a caller sent without waiting run before COMMIT or ROLLBACK, never after.
      const inTurn = serially();
      try {
        let opening: Array<Record<string, unknown>> | undefined;
        if (options?.opening) {
          // One round trip: the simple protocol takes both statements at once.
          const results = (await client.query(`BEGIN; ${options.opening}`)) as unknown as pg.QueryResult[];
          opening = results[1]?.rows;
        } else {
          await client.query('BEGIN');
        }
        // A caller may send the next statement before the last has answered (the sealer
        // queues its writes and hashes on); they run one after the other, in the order sent.
        const result = await fn({
          opening,
          query: (sql, params, options) => inTurn(() => runQuery(client, sql, params, options, prepare)),
          exec: (sql) => inTurn(async () => void (await client.query(sql))),
          copy: (table, columns, rows) => inTurn(() => copyRows(client, table, columns, rows)),
        });
        await inTurn(() => client.query('COMMIT'));
        return result;
      } catch (err) {
        await inTurn(() => client.query('ROLLBACK')).catch(() => undefined);
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
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
  return new SqlStore(postgresExecutor(url), `postgres ${redactUrl(url)}`, { location: serverOf(url), ...options });
}

/** The server and database a URL names, without user, password or parameters: `postgres://host:port/database`. */
export function serverOf(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname.toLowerCase() || process.env.PGHOST || 'localhost';
    const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || process.env.PGDATABASE || u.username || process.env.PGUSER || 'postgres';
    return `postgres://${host}:${u.port || process.env.PGPORT || '5432'}/${database}`;
  } catch {
    return redactUrl(url);
  }
}
