/**
 * Capture overhead: the same workload run (a) on plain Temporal, (b) with Temporal's
 * OpenTelemetry interceptors, (c) as scopetrail agents recording to Postgres. Three
 * workers on three task queues share one dev server; rounds rotate the order.
 *
 * Latency is measured with one session at a time (no queueing: what a caller waits),
 * throughput with several in flight (the machine saturated).
 *
 *   npx tsx bench/overhead.ts [--rounds 5] [--tree 12] [--short 60] [--concurrency 4]
 *     [--workloads tree,short,tree_loaded,short_loaded] [--variants plain,otel,scopetrail] [--sources]
 *     [--postgres-cpus LIST]
 *
 * scopetrail runs as the installed package has it, compiled (see lib/compiled-sandbox.ts):
 * its sandbox code in the workflow bundle, and its worker, store and client on the main
 * thread; --sources runs the TypeScript sources for both instead.
 *
 * --postgres-cpus 1 gives the local Postgres server those CPUs alone, and this process
 * and Temporal the others (lib/pin-cpus.ts), as a database on its own host would have:
 * what scopetrail costs the worker and Temporal, apart from what Postgres takes from
 * their cores. Its results go to overhead-postgres-own-cpus.json, beside the summary's.
 *
 * --variants runs a subset (e.g. scopetrail alone under a profiler); ratios need the
 * variants they compare. --print-only prints the tables without writing bench/results
 * (for comparing code changes on a busy machine); a subset of variants never writes them.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensureTemporal } from '../devserver/dev-server';
import { ScopeClient as SourcesScopeClient } from '../client/scope-client';
import { createWorker as sourcesCreateWorker } from '../worker/create-worker';
import { defineTool as sourcesDefineTool } from '../activities';
import { openPostgresStore as sourcesOpenPostgresStore } from '../store/postgres';
import { makeBenchTools } from './workloads/scopetrail-tools';
import { SHORT_ACTIONS, TREE_ACTIONS } from './workloads/shape';
import { otelPlugin } from './lib/otel-baseline';
import { cpuSince, cpuSnapshot, type CpuSnapshot } from './lib/cpu';
import { dropSchema, freshStore } from './lib/fresh-store';
import { round, roundOrder, summarize, type Summary } from './lib/stats';
import { table, updateSummary, writeResult } from './lib/report';
import { countStatements, statementsSent } from './lib/statements';
import { compiledMain, compiledSandboxBundle, type CompiledMain } from './lib/compiled-sandbox';
import { batch } from './lib/batch';
import { pinPostgres } from './lib/pin-cpus';
import { ALL_VARIANTS, SCOPETRAIL_AGENTS, sessionRunner, variantWorkers, type Variant } from './lib/variants';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    tree: { type: 'string', default: '12' },
    short: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '4' },
    workloads: { type: 'string', default: 'tree,short,tree_loaded,short_loaded' },
    variants: { type: 'string', default: 'plain,otel,scopetrail' },
    'print-only': { type: 'boolean', default: false },
    sources: { type: 'boolean', default: false },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'postgres-cpus': { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds);
const CONCURRENCY = Number(args.concurrency);
const SCHEMA = 'bench_overhead';

type Workload = 'tree' | 'short' | 'tree_loaded' | 'short_loaded';
const VARIANTS = ALL_VARIANTS.filter((v) => args.variants!.split(',').includes(v));
if (VARIANTS.length === 0) throw new Error(`--variants: give some of ${ALL_VARIANTS.join(',')}, not ${JSON.stringify(args.variants)}`);
const WORKLOADS: Record<Workload, { sessions: number; actions: number; concurrency: number }> = {
  tree: { sessions: Math.ceil(Number(args.tree) / 2), actions: TREE_ACTIONS, concurrency: 1 },
  short: { sessions: Math.ceil(Number(args.short) / 4), actions: SHORT_ACTIONS, concurrency: 1 },
  tree_loaded: { sessions: Number(args.tree), actions: TREE_ACTIONS, concurrency: CONCURRENCY },
  short_loaded: { sessions: Number(args.short), actions: SHORT_ACTIONS, concurrency: CONCURRENCY * 4 },
};
const isTree = (w: Workload) => w.startsWith('tree');

interface VariantResult {
  latency_ms: Summary;
  sessions_per_s: Summary;
  actions_per_s: number;
  cpu_ms_per_session: { worker_and_client: number; main_thread: number; sdk_core: number; other_threads: number; temporal: number; postgres: number };
  /** scopetrail only: statements sent to Postgres (sealing included) and rows written (records, fingerprints, payloads), per session. */
  postgres_statements_per_session?: number;
  rows_per_session?: number;
}

async function main(): Promise<void> {
  const temporal = await ensureTemporal({ log: (l) => console.error(l) });
  const pinned = args['postgres-cpus'] === undefined ? undefined : pinPostgres(args['postgres-cpus']);
  if (pinned) {
    process.on('exit', pinned.restore);
    // Ctrl-C ends a run without 'exit': Postgres must not stay held to one CPU.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        pinned.restore();
        process.exit(130);
      });
    }
    console.error(`Postgres on CPUs ${pinned.postgresCpus.join(',')}; this process and Temporal on ${pinned.appCpus.join(',')}`);
  }
  countStatements();
  // What an installed package runs, in the sandbox and on the main thread; --sources runs the TypeScript.
  const pkg: CompiledMain = args.sources
    ? { createWorker: sourcesCreateWorker, ScopeClient: SourcesScopeClient, defineTool: sourcesDefineTool, openPostgresStore: sourcesOpenPostgresStore }
    : compiledMain();
  const tools = Object.values(makeBenchTools(pkg.defineTool));
  const store = await freshStore(args.database!, SCHEMA, undefined, pkg.openPostgresStore);

  const connection = await NativeConnection.connect({ address: temporal.address });
  const run = randomBytes(3).toString('hex');
  const queue = (v: Variant) => `bench-${v}-${run}`;
  const otel = otelPlugin();
  console.error(`bundling the workers (${VARIANTS.join(', ')})...`);
  const workflowBundle = VARIANTS.includes('scopetrail') && !args.sources ? await compiledSandboxBundle(SCOPETRAIL_AGENTS) : undefined;
  const { plain: plainWorker, otel: otelWorker, scopetrail: st } = await variantWorkers({
    variants: VARIANTS, connection, queue, otel: otel.plugin, pkg, store, tools, workflowBundle,
  });
  const running = [plainWorker?.run(), otelWorker?.run(), st?.run()];

  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection: clientConnection });
  const scopes = await pkg.ScopeClient.connect({ store, taskQueue: queue('scopetrail'), connection: clientConnection });
  const runSession = sessionRunner(client, scopes, queue);

  let seq = 0;
  const start = (variant: Variant, workload: Workload) => (): Promise<unknown> => runSession(variant, isTree(workload), `bench-${run}-${variant}-${workload}-${seq++}`);

  const workloads = args.workloads!.split(',').filter((w): w is Workload => w in WORKLOADS);
  const samples = Object.fromEntries(
    workloads.map((w) => [w, Object.fromEntries(VARIANTS.map((v) => [v, { latencies: [] as number[], rates: [] as number[] }]))]),
  ) as Record<Workload, Record<Variant, { latencies: number[]; rates: number[] }>>;
  // CPU seconds per session, per part of the system: where a variant's extra cost lands.
  const cpu = Object.fromEntries(
    workloads.map((w) => [w, Object.fromEntries(VARIANTS.map((v) => [v, { self: 0, main: 0, core: 0, temporal: 0, postgres: 0, sessions: 0, statements: 0, rows: 0 }]))]),
  ) as Record<Workload, Record<Variant, CpuSnapshot & { sessions: number; statements: number; rows: number }>>;
  const roundRatios = Object.fromEntries(workloads.map((w) => [w, { vsPlain: [] as number[], vsOtel: [] as number[] }])) as Record<
    Workload,
    { vsPlain: number[]; vsOtel: number[] }
  >;
  for (let r = -1; r < ROUNDS; r++) {
    for (const workload of workloads) {
      const w = WORKLOADS[workload];
      const p50: Partial<Record<Variant, number>> = {};
      for (const variant of roundOrder(VARIANTS, r + 1)) {
        const runOne = start(variant, workload);
        const cpuStart = cpuSnapshot();
        const statementsBefore = statementsSent();
        const rowsBefore = st?.recorder.written ?? 0;
        const b = await batch(r < 0 ? Math.ceil(w.sessions / 3) : w.sessions, w.concurrency, () => runOne());
        // Sealing runs behind the sessions but is their cost: wait for it before reading the CPU.
        if (variant === 'scopetrail') await st!.recorder.drain();
        const used = cpuSince(cpuStart);
        if (r < 0) continue; // warm-up round: JIT, caches, first bundles
        const acc = cpu[workload][variant];
        acc.self += used.self;
        acc.main += used.main;
        acc.core += used.core;
        acc.temporal += used.temporal;
        acc.postgres += used.postgres;
        acc.sessions += b.latencies.length;
        acc.statements += statementsSent() - statementsBefore;
        acc.rows += (st?.recorder.written ?? 0) - rowsBefore;
        samples[workload][variant].latencies.push(...b.latencies);
        samples[workload][variant].rates.push(b.latencies.length / b.seconds);
        p50[variant] = summarize(b.latencies).p50;
        console.error(
          `  round ${r + 1}/${ROUNDS} ${workload.padEnd(12)} ${variant.padEnd(10)} p50 ${p50[variant]!.toFixed(0)} ms, ${(b.latencies.length / b.seconds).toFixed(2)} sessions/s`,
        );
      }
      if (r >= 0 && p50.scopetrail !== undefined) {
        if (p50.plain !== undefined) roundRatios[workload].vsPlain.push(p50.scopetrail / p50.plain);
        if (p50.otel !== undefined) roundRatios[workload].vsOtel.push(p50.scopetrail / p50.otel);
      }
    }
  }

  plainWorker?.shutdown();
  otelWorker?.shutdown();
  await st?.shutdown();
  await Promise.all(running);
  await clientConnection.close();
  await connection.close();
  await temporal.stop();

  const report: Record<string, unknown> = {};
  for (const workload of workloads) {
    const actions = WORKLOADS[workload].actions;
    const byVariant = {} as Record<Variant, VariantResult>;
    for (const v of VARIANTS) {
      const c = cpu[workload][v];
      const perSession = (x: number) => (c.sessions ? (x / c.sessions) * 1000 : Number.NaN);
      const rate = summarize(samples[workload][v].rates);
      byVariant[v] = {
        latency_ms: summarize(samples[workload][v].latencies),
        sessions_per_s: rate,
        actions_per_s: rate.median * actions,
        cpu_ms_per_session: {
          worker_and_client: perSession(c.self),
          // Of worker_and_client, by thread (10 ms ticks, summed over the rounds).
          main_thread: perSession(c.main),
          sdk_core: perSession(c.core),
          other_threads: perSession(Math.max(0, c.self - c.main - c.core)),
          temporal: perSession(c.temporal),
          postgres: perSession(c.postgres),
        },
        ...(v === 'scopetrail' && c.sessions
          ? { postgres_statements_per_session: round(c.statements / c.sessions), rows_per_session: round(c.rows / c.sessions) }
          : {}),
      };
    }
    report[workload] = {
      sessions_per_round: WORKLOADS[workload].sessions,
      concurrency: WORKLOADS[workload].concurrency,
      actions_per_session: actions,
      variants: byVariant,
      ratio_p50_vs_plain: summarize(roundRatios[workload].vsPlain),
      ratio_p50_vs_otel: summarize(roundRatios[workload].vsOtel),
    };
    console.log(`\n${workload} sessions (${actions} actions each, ${WORKLOADS[workload].concurrency} in flight, ${ROUNDS} rounds)`);
    console.log(
      table(
        ['variant', 'sessions/s', 'actions/s', 'p50 ms', 'p95 ms', 'CPU ms/session: worker+client', 'temporal', 'postgres'],
        VARIANTS.map((v) => {
          const x = byVariant[v];
          return [v, x.sessions_per_s.median, x.actions_per_s, x.latency_ms.p50, x.latency_ms.p95, x.cpu_ms_per_session.worker_and_client, x.cpu_ms_per_session.temporal, x.cpu_ms_per_session.postgres];
        }),
      ),
    );
    console.log(
      `worker+client CPU ms/session by thread (main / SDK core / workflow threads and helpers): ${VARIANTS.map((v) => {
        const c = byVariant[v].cpu_ms_per_session;
        return `${v} ${c.main_thread.toFixed(1)} / ${c.sdk_core.toFixed(1)} / ${c.other_threads.toFixed(1)}`;
      }).join('; ')}`,
    );
    const stv = byVariant.scopetrail;
    if (stv?.postgres_statements_per_session !== undefined) {
      console.log(`scopetrail: ${stv.postgres_statements_per_session} Postgres statements (sealing included) and ${stv.rows_per_session} rows written (records, fingerprints, payloads) per session`);
    }
    console.log(
      `scopetrail p50 / plain: ${summarize(roundRatios[workload].vsPlain).median.toFixed(3)}; / otel: ${summarize(roundRatios[workload].vsOtel).median.toFixed(3)} (median of per-round ratios)`,
    );
  }
  report.otel_spans_exported = otel.exported();
  type Reported = { ratio_p50_vs_plain: Summary; ratio_p50_vs_otel: Summary; variants: Record<Variant, VariantResult> };
  const ratio = (w: Workload, key: 'ratio_p50_vs_plain' | 'ratio_p50_vs_otel') => {
    const r = report[w] as Reported | undefined;
    return r && r[key].n > 0 ? round(r[key].median) : undefined;
  };
  // The goal is about this process's CPU (worker and client) under load, scopetrail against OpenTelemetry.
  const cpuVsOtel = (w: Workload) => {
    const r = report[w] as Reported | undefined;
    const st = r?.variants.scopetrail?.cpu_ms_per_session.worker_and_client;
    const ot = r?.variants.otel?.cpu_ms_per_session.worker_and_client;
    return st !== undefined && ot !== undefined && ot > 0 ? round(st / ot) : undefined;
  };
  const values: Parameters<typeof updateSummary>[0] = {
    overhead_ratio_vs_plain: ratio('tree', 'ratio_p50_vs_plain'),
    overhead_ratio_vs_otel: ratio('tree', 'ratio_p50_vs_otel'),
    loaded_tree_ratio_vs_plain: ratio('tree_loaded', 'ratio_p50_vs_plain'),
    loaded_tree_ratio_vs_otel: ratio('tree_loaded', 'ratio_p50_vs_otel'),
    loaded_short_ratio_vs_plain: ratio('short_loaded', 'ratio_p50_vs_plain'),
    loaded_short_ratio_vs_otel: ratio('short_loaded', 'ratio_p50_vs_otel'),
    loaded_tree_cpu_vs_otel: cpuVsOtel('tree_loaded'),
    loaded_short_cpu_vs_otel: cpuVsOtel('short_loaded'),
  };
  const measured = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
  console.log(`\nsummary keys: ${JSON.stringify(measured)}`);
  if (args['print-only'] || VARIANTS.length < ALL_VARIANTS.length) {
    console.log('(bench/results not written: --print-only or a subset of variants)');
  } else if (pinned) {
    // Another machine layout than the summary's figures: kept beside them, not in place of them.
    const layout = { postgres_cpus: pinned.postgresCpus, app_cpus: pinned.appCpus };
    console.log(`→ ${writeResult('overhead-postgres-own-cpus', { rounds: ROUNDS, sandbox: args.sources ? 'sources' : 'compiled package', main_thread: args.sources ? 'sources' : 'compiled package', ...layout, ...report })}`);
  } else {
    console.log(`→ ${writeResult('overhead', { rounds: ROUNDS, sandbox: args.sources ? 'sources' : 'compiled package', main_thread: args.sources ? 'sources' : 'compiled package', ...report })}`);
    updateSummary(measured, 'overhead');
  }
  await store.close();
  await dropSchema(args.database!, SCHEMA);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
