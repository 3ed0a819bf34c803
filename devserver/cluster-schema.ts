/**
 * Temporal's persistence and visibility schemas in their own Postgres databases,
 * the way auto-setup makes them: temporal-sql-tool create-database, setup-schema -v
 * 0.0, update-schema with the schemas embedded in the tool at its own release.
 * Safe to re-run: an existing database keeps its data and is only brought up to date.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import type { ClusterPostgres } from './cluster-config';

/** The embedded schema directories of go.temporal.io/server (schema/postgresql/v12/...). */
const SCHEMAS = { persistence: 'postgresql/v12/temporal', visibility: 'postgresql/v12/visibility' } as const;

function runTool(sqlTool: string, pgc: ClusterPostgres, database: string, args: string[]): Promise<string> {
  const base = ['--plugin', 'postgres12', '--ep', pgc.host, '--port', String(pgc.port), '--user', pgc.user, '--db', database];
  // The password goes through the environment, not argv, where `ps` would show it.
  const env = { ...process.env, SQL_PASSWORD: pgc.password };
  return new Promise((resolve, reject) => {
    const child = spawn(sqlTool, [...base, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (c: Buffer) => {
      out = (out + c.toString()).slice(-4000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`temporal-sql-tool ${args[0]} on database ${database} failed (exit ${code}):\n${out.trim()}`)),
    );
  });
}

async function withClient<T>(pgc: ClusterPostgres, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: pgc.host, port: pgc.port, user: pgc.user, password: pgc.password, database, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `Postgres at ${pgc.host}:${pgc.port} (user ${pgc.user}, database ${database}) is not reachable for Temporal's databases: ` +
        `${(err as Error).message}. Start it, or point SCOPETRAIL_CLUSTER_DATABASE_URL at another server.`,
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function databaseExists(pgc: ClusterPostgres, database: string): Promise<boolean> {
  return withClient(pgc, 'postgres', async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1);
}

/** The schema version the database records, or undefined before setup-schema ran. */
async function schemaVersion(pgc: ClusterPostgres, database: string): Promise<string | undefined> {
  return withClient(pgc, database, async (c) => {
    const table = await c.query(`SELECT to_regclass('public.schema_version') AS t`);
    if (!table.rows[0]?.t) return undefined;
    const row = await c.query('SELECT curr_version FROM schema_version LIMIT 1');
    return row.rows[0]?.curr_version as string | undefined;
  });
}

export interface SchemaReport {
  database: string;
  created: boolean;
  version: string;
}

async function ensureSchema(sqlTool: string, pgc: ClusterPostgres, database: string, schemaName: string): Promise<SchemaReport> {
  const created = !(await databaseExists(pgc, database));
  if (created) await runTool(sqlTool, pgc, database, ['create-database']);
  // Setting up version 0.0 on a database that already has one would replay every migration on top of it.
  if ((await schemaVersion(pgc, database)) === undefined) await runTool(sqlTool, pgc, database, ['setup-schema', '-v', '0.0']);
  await runTool(sqlTool, pgc, database, ['update-schema', '--schema-name', schemaName]);
  const version = await schemaVersion(pgc, database);
  if (!version || version === '0.0') throw new Error(`database ${database}: temporal-sql-tool update-schema left no schema version`);
  return { database, created, version };
}

export async function ensureClusterSchemas(sqlTool: string, pgc: ClusterPostgres): Promise<SchemaReport[]> {
  if (pgc.database === pgc.visibilityDatabase) {
    throw new Error(`persistence and visibility need databases of their own; both are "${pgc.database}"`);
  }
  return [
    await ensureSchema(sqlTool, pgc, pgc.database, SCHEMAS.persistence),
    await ensureSchema(sqlTool, pgc, pgc.visibilityDatabase, SCHEMAS.visibility),
  ];
}
