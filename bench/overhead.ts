/**
 * Capture overhead: the same workload run (a) on plain Temporal, (b) with Temporal's
 * OpenTelemetry interceptors, (c) as scopetrail agents recording to Postgres. Three
 * workers on three task queues share one dev server; rounds rotate the order.
 *
 * Latency is measured with one session at a time (no queueing: what a caller waits),
 * throughput with several in flight (the machine saturated).
 *
 *   npx tsx bench/overhead.ts [--rounds 5] [--tree 12] [--short 60] [--concurrency 4]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ensureTemporal } from '../devserver/dev-server';
import { ScopeClient } from '../client/scope-client';
import { createWorker } from '../worker/create-worker';
import { benchTools } from './workloads/scopetrail-tools';
import { plainTools } from './workloads/plain-tools';
import { SHORT_ACTIONS, TREE_ACTIONS } from './workloads/shape';
import { otelPlugin } from './lib/otel-baseline';
import { cpuSince, cpuSnapshot, type CpuSnapshot } from './lib/cpu';
import { dropSchema, freshStore } from './lib/fresh-store';
import { round, roundOrder, summarize, type Summary } from './lib/stats';
import { table, updateSummary, writeResult } from './lib/report';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    tree: { type: 'string', default: '12' },
    short: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '4' },
    workloads: { type: 'string', default: 'tree,short,tree_loaded,short_loaded' },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const ROUNDS = Number(args.rounds);
const CONCURRENCY = Number(args.concurrency);
const SCHEMA = 'bench_overhead';

type Variant = 'plain' | 'otel' | 'scopetrail';
type Workload = 'tree' | 'short' | 'tree_loaded' | 'short_loaded';
const VARIANTS: Variant[] = ['plain', 'otel', 'scopetrail'];
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
  cpu_ms_per_session: { worker_and_client: number; temporal: number; postgres: number };
}

interface Batch {
  latencies: number[];
  seconds: number;
}

/** Runs `count` sessions with at most `concurrency` in flight; returns each one's latency. */
async function batch(count: number, concurrency: number, runOne: (i: number) => Promise<unknown>): Promise<Batch> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await runOne(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const temporal = await ensureTemporal({ log: (l) => console.error(l) });
  const store = await freshStore(args.database!, SCHEMA);

  const connection = await NativeConnection.connect({ address: temporal.address });
  const run = randomBytes(3).toString('hex');
  const queue = (v: Variant) => `bench-${v}-${run}`;
  const otel = otelPlugin();
  console.error('bundling the three workers...');
  const plainWorker = await Worker.create({
    connection, taskQueue: queue('plain'), workflowsPath: require.resolve('./workloads/plain-workflows'), activities: plainTools,
  });
  const otelWorker = await Worker.create({
    connection, taskQueue: queue('otel'), workflowsPath: require.resolve('./workloads/plain-workflows'), activities: plainTools,
    plugins: [otel.plugin],
  });
  const st = await createWorker({
    connection, store, taskQueue: queue('scopetrail'), agents: require.resolve('./workloads/scopetrail-agents'),
    tools: Object.values(benchTools), spool: false,
  });
  const running = [plainWorker.run(), otelWorker.run(), st.run()];

  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection: clientConnection });
  const scopes = await ScopeClient.connect({ store, taskQueue: queue('scopetrail'), connection: clientConnection });

  let seq = 0;
  const start = (variant: Variant, workload: Workload) => async (): Promise<unknown> => {
    const id = `bench-${run}-${variant}-${workload}-${seq++}`;
    if (variant === 'scopetrail') {
      const s = await scopes.startSession(isTree(workload) ? 'benchOrchestrator' : 'benchShort', { input: { query: id }, sessionId: id });
      return s.result();
    }
    return client.workflow.execute(isTree(workload) ? 'plainAgent' : 'plainShort', {
      taskQueue: queue(variant), workflowId: id, args: isTree(workload) ? [0, id] : [id],
    });
  };

  const workloads = args.workloads!.split(',').filter((w): w is Workload => w in WORKLOADS);
  const samples = Object.fromEntries(
    workloads.map((w) => [w, Object.fromEntries(VARIANTS.map((v) => [v, { latencies: [] as number[], rates: [] as number[] }]))]),
  ) as Record<Workload, Record<Variant, { latencies: number[]; rates: number[] }>>;
  // CPU seconds per session, per part of the system: where a variant's extra cost lands.
  const cpu = Object.fromEntries(
    workloads.map((w) => [w, Object.fromEntries(VARIANTS.map((v) => [v, { self: 0, temporal: 0, postgres: 0, sessions: 0 }]))]),
  ) as Record<Workload, Record<Variant, CpuSnapshot & { sessions: number }>>;
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
        const b = await batch(r < 0 ? Math.ceil(w.sessions / 3) : w.sessions, w.concurrency, () => runOne());
        // Sealing runs behind the sessions but is their cost: wait for it before reading the CPU.
        if (variant === 'scopetrail') await st.recorder.drain();
        const used = cpuSince(cpuStart);
        if (r < 0) continue; // warm-up round: JIT, caches, first bundles
        const acc = cpu[workload][variant];
        acc.self += used.self;
        acc.temporal += used.temporal;
        acc.postgres += used.postgres;
        acc.sessions += b.latencies.length;
        samples[workload][variant].latencies.push(...b.latencies);
        samples[workload][variant].rates.push(b.latencies.length / b.seconds);
        p50[variant] = summarize(b.latencies).p50;
        console.error(
          `  round ${r + 1}/${ROUNDS} ${workload.padEnd(12)} ${variant.padEnd(10)} p50 ${p50[variant]!.toFixed(0)} ms, ${(b.latencies.length / b.seconds).toFixed(2)} sessions/s`,
        );
      }
      if (r >= 0) {
        roundRatios[workload].vsPlain.push(p50.scopetrail! / p50.plain!);
        roundRatios[workload].vsOtel.push(p50.scopetrail! / p50.otel!);
      }
    }
  }

  plainWorker.shutdown();
  otelWorker.shutdown();
  await st.shutdown();
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
        cpu_ms_per_session: { worker_and_client: perSession(c.self), temporal: perSession(c.temporal), postgres: perSession(c.postgres) },
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
      `scopetrail p50 / plain: ${summarize(roundRatios[workload].vsPlain).median.toFixed(3)}; / otel: ${summarize(roundRatios[workload].vsOtel).median.toFixed(3)} (median of per-round ratios)`,
    );
  }
  report.otel_spans_exported = otel.exported();
  const path = writeResult('overhead', { rounds: ROUNDS, ...report });
  const tree = report.tree as { ratio_p50_vs_plain: Summary; ratio_p50_vs_otel: Summary } | undefined;
  if (tree) {
    updateSummary(
      { overhead_ratio_vs_plain: round(tree.ratio_p50_vs_plain.median), overhead_ratio_vs_otel: round(tree.ratio_p50_vs_otel.median) },
      'overhead',
    );
  }
  console.log(`→ ${path}`);
  await store.close();
  await dropSchema(args.database!, SCHEMA);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
