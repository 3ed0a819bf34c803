/**
 * Queries at scale: loads synthetic stores of 1 M and 10 M actions straight into
 * Postgres, then times the forensic queries through ScopeClient on sampled scopes and
 * sessions (any scope, typical roots, roots of deep and wide trees, leaves).
 *
 *   npx tsx bench/queries.ts [--sizes 1000000,10000000] [--samples 300] [--drop] [--load-only]
 *
 * Loaded stores are kept (schemas bench_q_<size>) and reused by later runs; --drop removes them after.
 * --load-only loads (or finds) the stores and stops: a run that measures then starts at once.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ScopeClient } from '../client/scope-client';
import { touches } from '../cim/forensics';
import { openPostgresStore } from '../store/postgres';
import { loadSyntheticStore, type LoadedStore } from './lib/load-store';
import { progress } from '../client/progress';
import { dropSchema } from './lib/fresh-store';
import { nextMonth } from '../store/partitions';
import { round, summarize, type Summary } from './lib/stats';
import { table, updateSummary, writeResult } from './lib/report';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000000,10000000' },
    samples: { type: 'string', default: '300' },
    drop: { type: 'boolean', default: false },
    'load-only': { type: 'boolean', default: false },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const URL = args.database!;
const SAMPLES = Number(args.samples);

type Query = 'actionsUnder' | 'scopeTree' | 'footprint' | 'rootCause' | 'wasTouched';
type Category = 'any' | 'root' | 'deep_root' | 'wide_root' | 'leaf';

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function measure(loaded: LoadedStore) {
  const store = openPostgresStore(URL, { schema: loaded.schema });
  const client = await ScopeClient.connect({ store, taskQueue: 'bench' });
  const sessionOf = async (scopeId: string) => (await client.scope(scopeId)).sessionId;
  const run: Record<Query, (scopeId: string) => Promise<unknown>> = {
    actionsUnder: (id) => client.actionsUnder(id, { descendants: true }),
    scopeTree: async (id) => client.scopeTree(await sessionOf(id)),
    footprint: (id) => client.footprint(id),
    rootCause: async (id) => client.rootCause(await sessionOf(id)),
    // The store half of wasTouched; the reconcile evidence it adds is timed by bench/reconcile.ts.
    wasTouched: async (id) => touches(await client.actionsUnder(id, { descendants: true }), 'db:customers*'),
  };
  const queries = Object.keys(run) as Query[];
  const results: Record<string, Record<Query, Summary>> = {};
  const rowsReturned: Record<string, number> = {};
  for (const category of Object.keys(loaded.samples) as Category[]) {
    const ids = loaded.samples[category].slice(0, SAMPLES);
    if (ids.length === 0) continue;
    // Warm the caches the way a running service has them warm.
    for (const id of ids.slice(0, 20)) for (const q of queries) await run[q](id);
    const times = Object.fromEntries(queries.map((q) => [q, [] as number[]])) as Record<Query, number[]>;
    let rows = 0;
    for (const [i, id] of ids.entries()) {
      // Rotate the order so no query always runs on a cache its neighbour warmed.
      for (let k = 0; k < queries.length; k++) {
        const q = queries[(i + k) % queries.length]!;
        times[q].push(await timeIt(() => run[q](id)));
      }
      rows += (await client.actionsUnder(id, { descendants: true })).length;
    }
    results[category] = Object.fromEntries(queries.map((q) => [q, summarize(times[q])])) as Record<Query, Summary>;
    rowsReturned[category] = Math.round(rows / ids.length);
    console.error(`  ${category}: ${ids.length} samples, ${rowsReturned[category]} actions under each on average`);
  }
  const sample = loaded.samples.any[0]!;
  const plans = {
    actionsUnder: await store.explainActionsUnder(sample),
    scopesOfSession: await explain(loaded.schema, `SELECT * FROM "${loaded.schema}".scopes WHERE namespace = $1 AND session_id = $2 ORDER BY started_at, scope_id`, [
      'default',
      await sessionOf(sample),
    ]),
  };
  await client.close();
  return { results, rowsReturned, plans };
}

async function explain(schema: string, sql: string, params: unknown[]): Promise<string> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  const { rows } = await c.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
  await c.end();
  void schema;
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

/** Bytes of the per-session tables (every partition, with indexes) per million actions. */
async function storagePerMillion(loaded: LoadedStore): Promise<number> {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string }>(
      `SELECT sum(pg_total_relation_size(c.oid))::bigint AS bytes FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace
       WHERE n.nspname = $1 AND p.relname IN ('actions', 'scopes')`,
      [loaded.schema],
    );
    return Number(rows[0]?.bytes ?? 0) / (loaded.actions / 1e6);
  } finally {
    await client.end();
  }
}

/** Roles, drift and health over the whole namespace, once each (they read every agent's usage). */
async function namespaceQueries(loaded: LoadedStore): Promise<Record<string, number>> {
  const store = openPostgresStore(URL, { schema: loaded.schema });
  const client = await ScopeClient.connect({ store, taskQueue: 'bench' });
  try {
    return {
      roles: await timeIt(() => client.roles()),
      drift: await timeIt(() => client.drift()),
      health: await timeIt(() => store.agentUsage({ calls: true })),
      // The recount of every sealed row that `scopetrail verify-usage` runs: a check, not a query on the hot path.
      verifyUsage: await timeIt(async () => {
        const { differences } = await client.verifyUsage();
        if (differences.length) throw new Error(`the loaded store's usage rollup differs from its rows: ${JSON.stringify(differences.slice(0, 3))}`);
      }),
    };
  } finally {
    await client.close();
    await store.close();
  }
}

/**
 * Drops the oldest month of the loaded store the way `scopetrail prune` does (its SQL
 * part; the Temporal anchor is one workflow start per namespace) and times it. The
 * loaded store is then no longer the one recorded, so the next run loads it again.
 */
async function pruneOldestMonth(loaded: LoadedStore): Promise<{ month: string; actions: number; sessions: number; ms: number; samples: LoadedStore['samples'] }> {
  const store = openPostgresStore(URL, { schema: loaded.schema });
  try {
    const retention = store.retention();
    const [oldest] = await retention.months();
    const started = performance.now();
    const plan = await retention.plan(new Date(nextMonth(oldest!)), { count: false });
    const pruned = await Promise.all(plan.drop.map((m) => retention.dropMonth(m.month, new Date(nextMonth(oldest!)))));
    const ms = performance.now() - started;
    const client = new pg.Client({ connectionString: URL });
    await client.connect();
    await client.query(`DELETE FROM "${loaded.schema}".bench_meta`);
    await client.end();
    const samples = {} as LoadedStore['samples'];
    for (const [category, ids] of Object.entries(loaded.samples) as Array<[keyof LoadedStore['samples'], string[]]>) {
      samples[category] = [];
      for (const id of ids) if (await store.getScope(id)) samples[category].push(id);
    }
    const flat = pruned.flat();
    return { month: flat[0]?.month ?? '', actions: flat.reduce((n, p) => n + p.actions, 0), sessions: flat.reduce((n, p) => n + p.sessions, 0), ms, samples };
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const sizes = args.sizes!.split(',').map(Number);
  const out: Record<string, unknown> = {};
  for (const size of sizes) {
    const schema = `bench_q_${size}`;
    console.error(`queries at ${size.toLocaleString('en-US')} actions (schema ${schema})`);
    const bar = progress({ label: `loading ${schema}`, total: size });
    const loaded = await loadSyntheticStore(URL, schema, size, (done) => bar.set(done));
    bar.done();
    console.error(`  ${loaded.actions} actions, ${loaded.scopes} scopes, ${loaded.sessions} sessions (loaded in ${loaded.loadSeconds.toFixed(0)} s)`);
    if (args['load-only']) continue;
    const m = await measure(loaded);
    out[String(size)] = { actions: loaded.actions, scopes: loaded.scopes, sessions: loaded.sessions, loadSeconds: loaded.loadSeconds, ...m };
    console.log(`\n${size.toLocaleString('en-US')} actions, ${loaded.scopes.toLocaleString('en-US')} scopes: p50 / p95 ms`);
    console.log(
      table(
        ['scopes sampled', 'actions/scope', ...Object.keys(m.results.any ?? {})],
        Object.entries(m.results).map(([cat, r]) => [
          cat,
          m.rowsReturned[cat] ?? 0,
          ...Object.values(r).map((s) => `${s.p50.toFixed(1)} / ${s.p95.toFixed(1)}`),
        ]),
      ),
    );
    const storage = await storagePerMillion(loaded);
    const namespaceWide = await namespaceQueries(loaded);
    console.log(`storage: ${(storage / 2 ** 20).toFixed(0)} MiB per million actions; roles ${namespaceWide.roles!.toFixed(0)} ms, drift ${namespaceWide.drift!.toFixed(0)} ms, health ${namespaceWide.health!.toFixed(0)} ms; verify-usage ${namespaceWide.verifyUsage!.toFixed(0)} ms`);
    const prune = await pruneOldestMonth(loaded);
    console.log(`prune: month ${prune.month} (${prune.sessions} sessions, ${prune.actions} actions) dropped in ${prune.ms.toFixed(0)} ms`);
    const afterPrune = await measure({ ...loaded, samples: prune.samples });
    Object.assign(out[String(size)] as object, {
      storageBytesPerMillionActions: Math.round(storage),
      namespaceQueriesMs: namespaceWide,
      prune: { month: prune.month, sessions: prune.sessions, actions: prune.actions, ms: prune.ms },
      afterPrune: afterPrune.results,
    });
    console.log(`after the prune: p50 / p95 ms`);
    console.log(
      table(
        ['scopes sampled', ...Object.keys(afterPrune.results.any ?? {})],
        Object.entries(afterPrune.results).map(([cat, r]) => [cat, ...Object.values(r).map((s) => `${s.p50.toFixed(1)} / ${s.p95.toFixed(1)}`)]),
      ),
    );
    if (args.drop) {
      await dropSchema(URL, schema);
    }
  }
  if (args['load-only']) return;
  const path = writeResult('queries', { samples: SAMPLES, sizes: out });
  const ten = out['10000000'] as
    | { results: Record<string, Record<Query, Summary>>; prune: { ms: number }; namespaceQueriesMs: Record<string, number>; storageBytesPerMillionActions: number }
    | undefined;
  if (ten?.results.any) {
    updateSummary(
      {
        actions_under_p95_ms_10m: round(ten.results.any.actionsUnder.p95, 2),
        footprint_p95_ms_10m: round(ten.results.any.footprint.p95, 2),
        actions_under_wide_root_p95_ms_10m: round(ten.results.wide_root?.actionsUnder.p95 ?? NaN, 2),
        footprint_wide_root_p95_ms_10m: round(ten.results.wide_root?.footprint.p95 ?? NaN, 2),
        roles_ms_10m: round(ten.namespaceQueriesMs.roles ?? NaN, 0),
        drift_ms_10m: round(ten.namespaceQueriesMs.drift ?? NaN, 0),
        health_ms_10m: round(ten.namespaceQueriesMs.health ?? NaN, 0),
        prune_month_ms_10m: round(ten.prune.ms, 0),
        storage_mib_per_million_actions: round(ten.storageBytesPerMillionActions / 2 ** 20, 1),
      },
      'queries',
    );
  }
  console.log(`→ ${path}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
