/**
 * Loads a synthetic store straight into Postgres with COPY (secondary indexes dropped
 * during the load and rebuilt after, as a bulk load should), into its own schema. A
 * finished load is recorded in the schema, so later runs reuse it.
 */
import { createWriteStream, createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { ACTION_COLUMNS, SCOPE_COLUMNS, actionRow, scopeRow } from '../../store/rows';
import { copyLine, copyRows } from '../../store/copy';
import { openPostgresStore } from '../../store/postgres';
import { backfillUsageRollup } from '../../store/usage-rollup';
import { syntheticRange, syntheticSessions, type Shape } from './synthetic';

/** Sessions start over ten months, so that retention has whole months to drop (bench/queries.ts prunes one). */
const SPREAD_DAYS = 300;
const SPREAD = syntheticRange({ days: SPREAD_DAYS });

export interface LoadedStore {
  schema: string;
  actions: number;
  scopes: number;
  sessions: number;
  /** Sampled scope ids by category, for the query benchmarks. */
  samples: Record<'any' | 'root' | 'deep_root' | 'wide_root' | 'leaf', string[]>;
  sessionSamples: string[];
  loadSeconds: number;
  /** Building the usage rollup from every sealed scope at once (what an upgraded store does once). */
  rollupBuildSeconds?: number;
}

const MIGRATIONS = join(__dirname, '..', '..', 'store', 'migrations');

/** The secondary indexes the migrations leave, by name (a later migration's definition wins). */
function secondaryIndexes(schema: string): string[] {
  const byName = new Map<string, string>();
  readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .flatMap((f) => readFileSync(join(MIGRATIONS, f), 'utf8').replaceAll('{{schema}}', `"${schema}"`).split(';'))
    .map((s) => s.replace(/--[^\n]*\n/g, '').trim())
    .filter((s) => /^CREATE INDEX/i.test(s))
    .forEach((s) => byName.set(indexName(s), s.replace(/^CREATE INDEX (IF NOT EXISTS )?/i, 'CREATE INDEX IF NOT EXISTS ')));
  return [...byName.values()];
}

function indexName(sql: string): string {
  return /INDEX (?:IF NOT EXISTS )?(\w+)/i.exec(sql)![1]!;
}

/** The usage rollup of every sealed scope, on this connection (a bulk build outlasts the store's query timeout). */
export async function buildRollup(client: pg.Client, schema: string): Promise<void> {
  const tx = { query: (text: string, params?: unknown[]) => client.query(text, params), exec: async (text: string) => void (await client.query(text)) };
  await client.query(`INSERT INTO "${schema}".usage_rollup_backfill VALUES (true) ON CONFLICT DO NOTHING`);
  await backfillUsageRollup(
    {
      transaction: async (fn) => {
        await client.query('BEGIN');
        try {
          const result = await fn(tx as never);
          await client.query('COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      },
    },
    (table) => `"${schema}".${table}`,
  );
}

export async function loadSyntheticStore(
  url: string,
  schema: string,
  targetActions: number,
  progress: (done: number, total: number) => void,
): Promise<LoadedStore> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const meta = await client
      .query(`SELECT body FROM "${schema}".bench_meta WHERE target = $1`, [targetActions])
      .catch(() => ({ rows: [] as Array<{ body: LoadedStore }> }));
    if (meta.rows[0]) {
      // A store loaded by an earlier version is brought up to this one's schema first.
      const reused = openPostgresStore(url, { schema });
      await reused.migrate();
      await reused.close();
      return meta.rows[0].body as LoadedStore;
    }

    const started = Date.now();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    const store = openPostgresStore(url, { schema });
    await store.migrate();
    await store.preparePartitions(SPREAD.from, SPREAD.to);
    await store.close();
    const indexes = secondaryIndexes(schema);
    for (const sql of indexes) {
      await client.query(`DROP INDEX IF EXISTS "${schema}".${indexName(sql)}`);
    }

    // Actions stream into COPY as they are generated; scopes wait in a file for a second COPY.
    const dir = mkdtempSync(join(tmpdir(), 'scopetrail-bench-'));
    const scopeFile = join(dir, 'scopes.copy');
    const scopeOut = createWriteStream(scopeFile);
    const samples: LoadedStore['samples'] = { any: [], root: [], deep_root: [], wide_root: [], leaf: [] };
    const sessionSamples: string[] = [];
    let seen = 0;
    const reservoir = (list: string[], id: string, count: number, size = 300) => {
      if (list.length < size) list.push(id);
      else {
        const j = Math.floor(Math.random() * count);
        if (j < size) list[j] = id;
      }
    };
    const counts = { actions: 0, scopes: 0, sessions: 0, leaf: 0, root: 0, deep: 0, wide: 0 };
    const shapeRoot: Record<Shape, keyof typeof samples> = { typical: 'root', deep: 'deep_root', wide: 'wide_root' };
    const rows = function* () {
      for (const s of syntheticSessions({ seed: 11, namespace: 'default', days: SPREAD_DAYS })) {
        counts.sessions += 1;
        reservoir(sessionSamples, s.scopes[0]!.sessionId, counts.sessions);
        const parents = new Set(s.scopes.map((x) => x.parentScopeId));
        for (const scope of s.scopes) {
          counts.scopes += 1;
          seen += 1;
          reservoir(samples.any, scope.scopeId, seen, 1000);
          if (scope.kind === 'root') {
            const key = shapeRoot[s.shape];
            const n = (counts[s.shape === 'typical' ? 'root' : s.shape] += 1);
            reservoir(samples[key], scope.scopeId, n);
          } else if (!parents.has(scope.scopeId)) reservoir(samples.leaf, scope.scopeId, (counts.leaf += 1));
          if (!scopeOut.write(copyLine(scopeRow(scope, scope.sessionStartedAt!)))) {
            // The file is a buffer, not a bottleneck; node's own limit only warns here.
          }
        }
        for (const a of s.actions) yield actionRow(a, a.sessionStartedAt!);
        counts.actions += s.actions.length;
        if (counts.sessions % 200 === 0) progress(counts.actions, targetActions);
        if (counts.actions >= targetActions) break;
      }
    };
    await copyRows(client, `"${schema}".actions`, ACTION_COLUMNS, rows());
    scopeOut.end();
    await once(scopeOut, 'finish');
    progress(counts.actions, targetActions);
    await pipeline(createReadStream(scopeFile), client.query(copyFrom(`COPY "${schema}".scopes (${SCOPE_COLUMNS.join(', ')}) FROM STDIN`)));
    rmSync(dir, { recursive: true, force: true });
    // A store in steady state has sealed its ended scopes: they are marked so (no chains are
    // computed, so verify is not meaningful here), and the usage rollup is built from them below.
    await client.query(`UPDATE "${schema}".scopes SET chain_length = 0 WHERE status <> 'running'`);
    await client.query(`SET maintenance_work_mem = '1GB'`);
    for (const sql of indexes) await client.query(sql);
    await client.query(`ANALYZE "${schema}".scopes`);
    await client.query(`ANALYZE "${schema}".actions`);
    const rollupStarted = Date.now();
    await buildRollup(client, schema);
    const rollupBuildSeconds = (Date.now() - rollupStarted) / 1000;
    const loaded: LoadedStore = {
      schema,
      actions: counts.actions,
      scopes: counts.scopes,
      sessions: counts.sessions,
      samples,
      sessionSamples,
      loadSeconds: (Date.now() - started) / 1000,
      rollupBuildSeconds,
    };
    await client.query(`CREATE TABLE "${schema}".bench_meta (target bigint PRIMARY KEY, body jsonb NOT NULL)`);
    await client.query(`INSERT INTO "${schema}".bench_meta VALUES ($1, $2)`, [targetActions, JSON.stringify(loaded)]);
    return loaded;
  } finally {
    await client.end();
  }
}
