/**
 * The workflow side's cost alone: recorded sessions replayed in a replay worker, plain
 * Temporal against the OpenTelemetry interceptors against scopetrail. A replay runs every
 * activation of a session's histories through the sandbox (interceptors, headers, records
 * handed to the sink) with no server, no database and no activities, so what it measures
 * is the sandbox's work and the SDK's handling of each activation, not the host's load.
 *
 *   npx tsx bench/sandbox-replay.ts [--sessions 2] [--replays 20] [--rounds 5] [--print-only]
 *
 * First it runs `--sessions` tree and short sessions of each variant on a dev server (as
 * bench/overhead.ts runs them: scopetrail compiled, as the package ships), and fetches every
 * workflow's history. Then, each round, each variant replays its histories `--replays` times
 * (short sessions ten times as often) in one replay worker; the CPU from the first history's
 * end to the last one's, per session, is what a session's replay costs without the replay
 * worker's start. Replays keep each history's own workflow id: under another id an agent's
 * scope ids would differ from what its start recorded.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { ensureTemporal } from '../devserver/dev-server';
import { makeBenchTools } from './workloads/scopetrail-tools';
import { otelPlugin } from './lib/otel-baseline';
import { cpuSince, cpuSnapshot, type CpuSnapshot } from './lib/cpu';
import { dropSchema, freshStore } from './lib/fresh-store';
import { round, roundOrder, summarize, type Summary } from './lib/stats';
import { table, updateSummary, writeResult } from './lib/report';
import { compiledMain, compiledPackage, compiledSandboxBundle } from './lib/compiled-sandbox';
import { ALL_VARIANTS, PLAIN_WORKFLOWS, SCOPETRAIL_AGENTS, sessionRunner, variantWorkers, type Variant } from './lib/variants';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '2' },
    replays: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '5' },
    'print-only': { type: 'boolean', default: false },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const SESSIONS = positiveInt('--sessions', args.sessions!);
const REPLAYS = positiveInt('--replays', args.replays!);
const ROUNDS = positiveInt('--rounds', args.rounds!);
const SCHEMA = 'bench_sandbox_replay';
/** Short sessions are replayed this many times as often as trees. */
const SHORT_REPLAYS = 10;

type Workload = 'tree' | 'short';
const VARIANTS = ALL_VARIANTS;
const WORKLOADS: Workload[] = ['tree', 'short'];
/** Workflow types by workload and variant: what a recorded session's histories are. */
const TYPES: Record<Workload, Record<Variant, string[]>> = {
  tree: { plain: ['plainAgent'], otel: ['plainAgent'], scopetrail: ['benchOrchestrator', 'benchMiddle', 'benchLeaf'] },
  short: { plain: ['plainShort'], otel: ['plainShort'], scopetrail: ['benchShort'] },
};

interface Recorded {
  workflowId: string;
  history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: give a whole number of at least 1, not ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  // Each replay worker logs its start and stop: hundreds of lines that say nothing here.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const temporal = await ensureTemporal({ log: (l) => console.error(l) });
  const pkg = compiledMain();
  const tools = Object.values(makeBenchTools(pkg.defineTool));
  const store = await freshStore(args.database!, SCHEMA, undefined, pkg.openPostgresStore);
  const workflowBundle = await compiledSandboxBundle(SCOPETRAIL_AGENTS);
  const connection = await NativeConnection.connect({ address: temporal.address });
  const run = randomBytes(3).toString('hex');
  const queue = (v: Variant) => `replay-${v}-${run}`;
  const otel = otelPlugin();

  console.error(`recording ${SESSIONS} tree and ${SESSIONS} short sessions of each variant...`);
  const workers = await variantWorkers({ variants: VARIANTS, connection, queue, otel: otel.plugin, pkg, store, tools, workflowBundle });
  const running = [workers.plain!.run(), workers.otel!.run(), workers.scopetrail!.run()];
  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection: clientConnection });
  const runSession = sessionRunner(client, await pkg.ScopeClient.connect({ store, taskQueue: queue('scopetrail'), connection: clientConnection }), queue);
  for (const workload of WORKLOADS) {
    for (const variant of VARIANTS) {
      for (let i = 0; i < SESSIONS; i++) await runSession(variant, workload === 'tree', `replay-${run}-${variant}-${workload}-${i}`);
    }
  }
  workers.plain!.shutdown();
  workers.otel!.shutdown();
  await workers.scopetrail!.shutdown();
  await Promise.all(running);

  // Every workflow each variant ran, its children with it, by workload.
  const recorded = {} as Record<Workload, Record<Variant, Recorded[]>>;
  for (const workload of WORKLOADS) {
    recorded[workload] = {} as Record<Variant, Recorded[]>;
    for (const variant of VARIANTS) {
      const list: Recorded[] = [];
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${queue(variant)}'` })) {
        if (!TYPES[workload][variant].includes(wf.type)) continue;
        list.push({ workflowId: wf.workflowId, history: await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory() });
      }
      // Replayed in one order every time: roots before their children, as they ran.
      list.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
      recorded[workload][variant] = list;
    }
  }
  await clientConnection.close();
  await connection.close();
  await temporal.stop();

  // scopetrail's replay worker gets the plugin's own replay configuration, as a user's replay test does.
  const { ScopetrailPlugin } = require(`${compiledPackage()}/worker/plugin.js`) as typeof import('../worker/plugin');
  const replayOptions: Record<Variant, ReplayWorkerOptions> = {
    plain: { workflowsPath: PLAIN_WORKFLOWS },
    otel: { workflowsPath: PLAIN_WORKFLOWS, plugins: [otel.plugin] },
    scopetrail: { workflowBundle, plugins: [new ScopetrailPlugin({ store, tools, agents: SCOPETRAIL_AGENTS })] },
  };
  /**
   * CPU ms per session of `times` replays of a variant's histories in one replay worker,
   * counted from the first history's end to the last one's: the worker's start and the
   * first replay (bundle loaded, code compiled) before it, the worker's shutdown after it.
   */
  const replay = async (variant: Variant, histories: Recorded[], times: number): Promise<number> => {
    const all = Array.from({ length: times }, () => histories).flat();
    let done = 0;
    let from: CpuSnapshot | undefined;
    let used = 0;
    for await (const result of Worker.runReplayHistories(replayOptions[variant], all)) {
      if (result.error) throw new Error(`replaying ${variant} ${result.workflowId} failed: ${String(result.error)}`);
      done += 1;
      if (done === 1) from = cpuSnapshot();
      else if (done === all.length) used = cpuSince(from!).self;
    }
    const perHistory = (used / (all.length - 1)) * 1000;
    return perHistory * (histories.length / SESSIONS);
  };

  const perSession: Record<Workload, Record<Variant, number[]>> = {
    tree: { plain: [], otel: [], scopetrail: [] },
    short: { plain: [], otel: [], scopetrail: [] },
  };
  const ratios: Record<Workload, { vsPlain: number[]; vsOtel: number[] }> = { tree: { vsPlain: [], vsOtel: [] }, short: { vsPlain: [], vsOtel: [] } };
  for (let r = -1; r < ROUNDS; r++) {
    for (const workload of WORKLOADS) {
      const thisRound: Partial<Record<Variant, number>> = {};
      for (const variant of roundOrder(VARIANTS, r + 1)) {
        // A short session is a few milliseconds of work: replayed more often, it is measured as finely as a tree.
        const ms = await replay(variant, recorded[workload][variant], workload === 'short' ? REPLAYS * SHORT_REPLAYS : REPLAYS);
        if (r < 0) continue; // warm-up: JIT, the bundles' first loads
        perSession[workload][variant].push(ms);
        thisRound[variant] = ms;
        console.error(`  round ${r + 1}/${ROUNDS} ${workload.padEnd(5)} ${variant.padEnd(10)} ${ms.toFixed(2)} ms CPU per session replayed`);
      }
      if (r >= 0) {
        ratios[workload].vsPlain.push(thisRound.scopetrail! / thisRound.plain!);
        ratios[workload].vsOtel.push(thisRound.scopetrail! / thisRound.otel!);
      }
    }
  }
  await store.close();
  await dropSchema(args.database!, SCHEMA);

  const report: Record<string, unknown> = { sessions: SESSIONS, replays: { tree: REPLAYS, short: REPLAYS * SHORT_REPLAYS }, rounds: ROUNDS };
  for (const workload of WORKLOADS) {
    const cpu = Object.fromEntries(VARIANTS.map((v) => [v, summarize(perSession[workload][v])])) as Record<Variant, Summary>;
    const workflows = Object.fromEntries(VARIANTS.map((v) => [v, recorded[workload][v].length / SESSIONS]));
    report[workload] = {
      workflows_per_session: workflows,
      cpu_ms_per_session: cpu,
      ratio_vs_plain: summarize(ratios[workload].vsPlain),
      ratio_vs_otel: summarize(ratios[workload].vsOtel),
    };
    console.log(`\n${workload} sessions replayed (${SESSIONS} recorded sessions × ${workload === 'short' ? REPLAYS * SHORT_REPLAYS : REPLAYS} replays, ${ROUNDS} rounds)`);
    console.log(
      table(
        ['variant', 'workflows per session', 'CPU ms per session replayed (median)', 'min', 'max'],
        VARIANTS.map((v) => [v, workflows[v]!, cpu[v].median, cpu[v].min, cpu[v].max]),
      ),
    );
    console.log(
      `scopetrail ÷ plain: ${summarize(ratios[workload].vsPlain).median.toFixed(3)}; ÷ otel: ${summarize(ratios[workload].vsOtel).median.toFixed(3)} (median of per-round ratios)`,
    );
  }
  const tree = report.tree as { ratio_vs_plain: Summary; ratio_vs_otel: Summary };
  const short = report.short as { ratio_vs_plain: Summary; ratio_vs_otel: Summary };
  const values = {
    replay_tree_cpu_vs_plain: round(tree.ratio_vs_plain.median),
    replay_tree_cpu_vs_otel: round(tree.ratio_vs_otel.median),
    replay_short_cpu_vs_plain: round(short.ratio_vs_plain.median),
    replay_short_cpu_vs_otel: round(short.ratio_vs_otel.median),
  };
  console.log(`\nsummary keys: ${JSON.stringify(values)}`);
  if (args['print-only']) {
    console.log('(bench/results not written: --print-only)');
  } else {
    console.log(`→ ${writeResult('sandbox-replay', report)}`);
    updateSummary(values, 'sandbox-replay');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
