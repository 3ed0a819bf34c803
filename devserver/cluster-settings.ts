/** Where the native cluster runs, from the environment, checked with zod so a bad value names its variable. */
import { z } from 'zod';
import { HISTORY_SHARDS, type ClusterPostgres } from './cluster-config';

export const DEFAULT_CLUSTER_PORT = 17233;
export const DEFAULT_CLUSTER_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432';

export interface ClusterSettings {
  /** Use this running cluster instead of starting one. */
  reuseAddress?: string;
  port: number;
  namespace: string;
  postgres: ClusterPostgres;
  /** History shards of a new cluster (NUM_HISTORY_SHARDS in the compose stack); an existing one keeps its own. */
  historyShards: number;
  logLevel: string;
  /** Keep the config and server log after stopping. */
  keepRunDir: boolean;
}

const DbName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'use a Postgres database name: lower-case letters, digits and _');

const Env = z.object({
  SCOPETRAIL_CLUSTER_ADDRESS: z
    .string()
    .regex(/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/, 'use host:port, e.g. 127.0.0.1:17233')
    .optional(),
  SCOPETRAIL_CLUSTER_PORT: z
    .string()
    .regex(/^\d{4,5}$/, 'use a port number')
    .transform(Number)
    .pipe(z.number().int().min(1024).max(32_657, 'use a port below 32658: the cluster takes the 110 ports from there, below the ephemeral range'))
    .optional(),
  SCOPETRAIL_CLUSTER_DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'use a postgres:// URL of the server (no database), e.g. postgres://postgres@127.0.0.1:5432' })
    .optional(),
  SCOPETRAIL_CLUSTER_DB: DbName.optional(),
  SCOPETRAIL_CLUSTER_VISIBILITY_DB: DbName.optional(),
  SCOPETRAIL_CLUSTER_HISTORY_SHARDS: z
    .string()
    .regex(/^\d{1,5}$/, 'use a whole number of shards, e.g. 16')
    .transform(Number)
    .pipe(z.number().int().min(1, 'use at least 1 shard').max(16_384, 'use at most 16384 shards'))
    .optional(),
  SCOPETRAIL_CLUSTER_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).optional(),
  SCOPETRAIL_CLUSTER_KEEP: z.enum(['0', '1', 'true', 'false']).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).max(255).optional(),
});

export function clusterSettings(env: NodeJS.ProcessEnv): ClusterSettings {
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([k, v]) => k in Env.shape && v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${String(issue.path[0])}: ${issue.message} (got ${JSON.stringify(env[String(issue.path[0])])})`);
  }
  const e = parsed.data;
  const url = new URL(e.SCOPETRAIL_CLUSTER_DATABASE_URL ?? DEFAULT_CLUSTER_DATABASE_URL);
  const postgres: ClusterPostgres = {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
    database: e.SCOPETRAIL_CLUSTER_DB ?? 'scopetrail_temporal',
    visibilityDatabase: e.SCOPETRAIL_CLUSTER_VISIBILITY_DB ?? 'scopetrail_temporal_visibility',
  };
  if (postgres.database === postgres.visibilityDatabase) {
    throw new Error(`SCOPETRAIL_CLUSTER_VISIBILITY_DB: visibility needs a database of its own, not "${postgres.database}" again`);
  }
  return {
    reuseAddress: e.SCOPETRAIL_CLUSTER_ADDRESS,
    port: e.SCOPETRAIL_CLUSTER_PORT ?? DEFAULT_CLUSTER_PORT,
    namespace: e.TEMPORAL_NAMESPACE ?? 'default',
    postgres,
    historyShards: e.SCOPETRAIL_CLUSTER_HISTORY_SHARDS ?? HISTORY_SHARDS,
    logLevel: e.SCOPETRAIL_CLUSTER_LOG_LEVEL ?? 'warn',
    keepRunDir: e.SCOPETRAIL_CLUSTER_KEEP === '1' || e.SCOPETRAIL_CLUSTER_KEEP === 'true',
  };
}
