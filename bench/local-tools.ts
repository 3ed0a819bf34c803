/**
 * Tools as local activities (useLocalTools) against the same tools as activities
 * (useTools): a session of `--calls` lookups one after another, recorded by scopetrail
 * either way. One session at a time gives the latency a caller waits; `--concurrency`
 * sessions in flight give the throughput of a saturated machine. Rounds alternate the
 * order; CPU is read per part of the system as in overhead.ts.
 *
 *   npx tsx bench/local-tools.ts [--rounds 3] [--calls 10] [--sessions 20] [--concurrency 8] [--print-only]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensureTemporal } from '../devserver/dev-server';
import { ScopeClient } from '../client/scope-client';
import { createWorker } from '../worker/create-worker';
import { benchTools } from './workloads/scopetrail-tools';
import { cpuSince, cpuSnapshot } from './lib/cpu';
import { dropSchema, freshStore } from './lib/fresh-store';
import { median, round, roundOrder, summarize, type Summary } from './lib/stats';
import { table, updateSummary, writeResult } from './lib/report';
import { compiledSandboxBundle } from './lib/compiled-sandbox';
import { batch } from './lib/batch';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    calls: { type: 'string', default: '10' },
    sessions: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '8' },
    'print-only': { type: 'boolean', default: false },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const ROUNDS = Number(args.rounds);
const CALLS = Number(args.calls);
const SESSIONS = Number(args.sessions);
const CONCURRENCY = Number(args.concurrency);
for (const [name, v] of Object.entries({ rounds: ROUNDS, calls: CALLS, sessions: SESSIONS, concurrency: CONCURRENCY })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: a whole number ≥ 1, not ${JSON.stringify(args[name as keyof typeof args])}`);
}
const SCHEMA = 'bench_local_tools';

type Variant = 'activities' | 'local';
const VARIANTS: Variant[] = ['activities', 'local'];
type Mode = 'one_at_a_time' | 'loaded';
const MODES: Record<Mode, { sessions: number; concurrency: number }> = {
  one_at_a_time: { sessions: Math.max(1, Math.ceil(SESSIONS / 4)), concurrency: 1 },
  loaded: { sessions: SESSIONS, concurrency: CONCURRENCY },
};

async function main(): Promise<void> {
  const temporal = await ensureTemporal({ log: (l) => console.error(l) });
  const store = await freshStore(args.database!, SCHEMA);
  const connection = await NativeConnection.connect({ address: temporal.address });
  const run = randomBytes(3).toString('hex');
  const taskQueue = `bench-local-${run}`;
  console.error('bundling the worker...');
  const worker = await createWorker({
    connection, store, taskQueue, agents: require.resolve('./workloads/scopetrail-agents'), tools: Object.values(benchTools), spool: false,
    workflowBundle: await compiledSandboxBundle(require.resolve('./workloads/scopetrail-agents')),
  });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = await ScopeClient.connect({ store, taskQueue, connection: clientConnection });

  let seq = 0;
  const runOne = (variant: Variant) => async () => {
    const id = `bench-${run}-${variant}-${seq++}`;
    const s = await client.startSession('benchSequence', { input: { query: id, calls: CALLS, local: variant === 'local' }, sessionId: id });
    return s.result();
  };

  const samples = Object.fromEntries(
    Object.keys(MODES).map((m) => [m, Object.fromEntries(VARIANTS.map((v) => [v, { latencies: [] as number[], rates: [] as number[], self: 0, temporal: 0, postgres: 0, sessions: 0 }]))]),
  ) as Record<Mode, Record<Variant, { latencies: number[]; rates: number[]; self: number; temporal: number; postgres: number; sessions: number }>>;
  const ratios = Object.fromEntries(Object.keys(MODES).map((m) => [m, [] as number[]])) as Record<Mode, number[]>;

  for (let r = -1; r < ROUNDS; r++) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      const { sessions, concurrency } = MODES[mode];
      const p50: Partial<Record<Variant, number>> = {};
      for (const variant of roundOrder(VARIANTS, r + 1)) {
        const cpuStart = cpuSnapshot();
        const b = await batch(r < 0 ? Math.ceil(sessions / 3) : sessions, concurrency, runOne(variant));
        await worker.recorder.drain();
        const used = cpuSince(cpuStart);
        if (r < 0) continue; // warm-up
        const acc = samples[mode][variant];
        acc.latencies.push(...b.latencies);
        acc.rates.push(b.latencies.length / b.seconds);
        acc.self += used.self;
        acc.temporal += used.temporal;
        acc.postgres += used.postgres;
        acc.sessions += b.latencies.length;
        p50[variant] = summarize(b.latencies).p50;
        console.error(`  round ${r + 1}/${ROUNDS} ${mode.padEnd(13)} ${variant.padEnd(10)} p50 ${p50[variant]!.toFixed(0)} ms, ${(b.latencies.length / b.seconds).toFixed(2)} sessions/s`);
      }
      if (r >= 0) ratios[mode].push(p50.local! / p50.activities!);
    }
  }

  await worker.shutdown();
  await running;
  await clientConnection.close();
  await connection.close();
  await temporal.stop();
  await dropSchema(args.database!, SCHEMA);
  await store.close();

  const results: Record<string, Record<string, unknown>> = {};
  for (const mode of Object.keys(MODES) as Mode[]) {
    const perVariant: Record<string, { latency_ms: Summary; sessions_per_s: Summary; cpu_ms_per_session: { worker_and_client: number; temporal: number; postgres: number } }> = {};
    const rows: Array<Array<string | number>> = [];
    for (const v of VARIANTS) {
      const s = samples[mode][v];
      const cpu = { worker_and_client: round((s.self / s.sessions) * 1000, 1), temporal: round((s.temporal / s.sessions) * 1000, 1), postgres: round((s.postgres / s.sessions) * 1000, 1) };
      perVariant[v] = { latency_ms: summarize(s.latencies), sessions_per_s: summarize(s.rates), cpu_ms_per_session: cpu };
      rows.push([v, round(median(s.rates), 2), round(perVariant[v].latency_ms.p50, 0), round(perVariant[v].latency_ms.p95, 0), cpu.worker_and_client, cpu.temporal, cpu.postgres]);
    }
    const ratio = round(median(ratios[mode]));
    results[mode] = { ...perVariant, sessions_per_round: MODES[mode].sessions, concurrency: MODES[mode].concurrency, local_p50_vs_activities: ratio };
    console.log(`\n${mode} (${CALLS} lookups a session, ${MODES[mode].concurrency} in flight, ${ROUNDS} rounds)`);
    console.log(table(['variant', 'sessions/s', 'p50 ms', 'p95 ms', 'CPU ms/session: worker+client', 'temporal', 'postgres'], rows));
    console.log(`local p50 / activities: ${ratio} (median of per-round ratios)`);
  }
  if (args['print-only']) console.log('\n(bench/results not written: --print-only)');
  else {
    console.log(`\nwritten: ${writeResult('local-tools', { rounds: ROUNDS, calls_per_session: CALLS, ...results })}`);
    updateSummary(
      { local_tools_p50_vs_activities: results.one_at_a_time!.local_p50_vs_activities as number, local_tools_loaded_p50_vs_activities: results.loaded!.local_p50_vs_activities as number },
      'local-tools',
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
