/**
 * Scale-out: the tree workload (10 scopes, 51 actions a session) with several sessions
 * in flight, three ways against one Postgres store schema and one dev server:
 *   one    — one worker process on the task queue;
 *   two    — two worker processes polling the same task queue;
 *   queues — one worker process per agent group: the orchestrators on one task queue,
 *            the sub-agents (delegations cross task queues) on another.
 * Every worker is its own Node process (bench/lib/memory-worker.ts). Rounds rotate the
 * order. After the run every session is reconciled against its Temporal histories.
 *
 *   npx tsx bench/scaleout.ts [--rounds 5] [--sessions 24] [--concurrency 8]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { ensureTemporal } from '../devserver/dev-server';
import { ScopeClient } from '../client/scope-client';
import { bundleAgents } from '../worker/create-worker';
import { TREE_ACTIONS } from './workloads/shape';
import { cpuSince, cpuSnapshot, processCpuSeconds } from './lib/cpu';
import { dropSchema, freshStore } from './lib/fresh-store';
import { round, roundOrder, summarize, type Summary } from './lib/stats';
import { table, updateSummary, writeResult } from './lib/report';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    sessions: { type: 'string', default: '24' },
    concurrency: { type: 'string', default: '8' },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const ROUNDS = Number(args.rounds);
const SESSIONS = Number(args.sessions);
const CONCURRENCY = Number(args.concurrency);
const SCHEMA = 'bench_scaleout';

type Variant = 'one' | 'two' | 'queues';
const VARIANTS: Variant[] = ['one', 'two', 'queues'];

interface Setup {
  /** Where sessions start (the orchestrators' queue). */
  startQueue: string;
  /** The sub-agents' queue when it differs. */
  subAgentQueue?: string;
  workers: Array<{ name: string; taskQueue: string }>;
}

function setups(): Record<Variant, Setup> {
  const q = (name: string) => `bench-scaleout-${name}-${randomBytes(3).toString('hex')}`;
  const one = q('one');
  const two = q('two');
  const orchestrators = q('orchestrators');
  const subAgents = q('subagents');
  return {
    one: { startQueue: one, workers: [{ name: 'worker', taskQueue: one }] },
    two: { startQueue: two, workers: [{ name: 'worker 1', taskQueue: two }, { name: 'worker 2', taskQueue: two }] },
    queues: {
      startQueue: orchestrators,
      subAgentQueue: subAgents,
      workers: [{ name: 'orchestrators', taskQueue: orchestrators }, { name: 'sub-agents', taskQueue: subAgents }],
    },
  };
}

async function forkWorker(address: string, taskQueue: string, bundleFile: string): Promise<ChildProcess> {
  const child = fork(require.resolve('./lib/memory-worker'), [address, taskQueue, args.database!, SCHEMA, bundleFile], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`worker on ${taskQueue} exited with ${code} before it was ready`)));
  });
  child.removeAllListeners('exit');
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM'); // the worker drains its recorder before it exits
  await exited;
}

interface RoundResult {
  seconds: number;
  latencies: number[];
  /** CPU seconds per worker process (in the variant's worker order), and of the rest of the machine. */
  workerCpu: number[];
  temporalCpu: number;
  postgresCpu: number;
  clientCpu: number;
}

async function runRound(client: ScopeClient, setup: Setup, pids: number[], tag: string, sessionIds: string[]): Promise<RoundResult> {
  const latencies: number[] = [];
  const workerStart = pids.map(processCpuSeconds);
  const machineStart = cpuSnapshot();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < SESSIONS) {
        const i = next++;
        const t = performance.now();
        const input = { query: `${tag}-${i}`, ...(setup.subAgentQueue ? { subAgentQueue: setup.subAgentQueue } : {}) };
        const session = await client.startSession('benchOrchestrator', { input });
        await session.result();
        latencies.push(performance.now() - t);
        sessionIds.push(session.sessionId);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const machine = cpuSince(machineStart);
  return {
    seconds,
    latencies,
    workerCpu: pids.map((pid, i) => processCpuSeconds(pid) - workerStart[i]!),
    temporalCpu: machine.temporal,
    postgresCpu: machine.postgres,
    clientCpu: machine.self,
  };
}

interface VariantResult {
  workers: string[];
  task_queues: string[];
  sessions_per_s: Summary;
  actions_per_s: number;
  latency_ms: Summary;
  /** CPU ms per session, each worker process by name, and the shared parts. */
  cpu_ms_per_session: Record<string, number>;
  /** Each round's wall time and CPU seconds per worker process, for a second look at the medians. */
  rounds: Array<{ seconds: number; worker_cpu_s: number[] }>;
}

function summarizeVariant(setup: Setup, rounds: RoundResult[]): VariantResult {
  const sessions = rounds.length * SESSIONS;
  const perSession = (s: number) => round((s * 1000) / sessions, 1);
  const sessionsPerS = summarize(rounds.map((r) => SESSIONS / r.seconds));
  const cpu: Record<string, number> = {};
  setup.workers.forEach((w, i) => (cpu[w.name] = perSession(rounds.reduce((a, r) => a + r.workerCpu[i]!, 0))));
  cpu.temporal = perSession(rounds.reduce((a, r) => a + r.temporalCpu, 0));
  cpu.postgres = perSession(rounds.reduce((a, r) => a + r.postgresCpu, 0));
  cpu.client = perSession(rounds.reduce((a, r) => a + r.clientCpu, 0));
  return {
    workers: setup.workers.map((w) => w.name),
    task_queues: [...new Set(setup.workers.map((w) => w.taskQueue))],
    sessions_per_s: sessionsPerS,
    actions_per_s: sessionsPerS.median * TREE_ACTIONS,
    latency_ms: summarize(rounds.flatMap((r) => r.latencies)),
    cpu_ms_per_session: cpu,
    rounds: rounds.map((r) => ({ seconds: round(r.seconds, 2), worker_cpu_s: r.workerCpu.map((c) => round(c, 2)) })),
  };
}

async function main(): Promise<void> {
  const temporal = await ensureTemporal({ log: (l) => console.error(l) });
  const store = await freshStore(args.database!, SCHEMA);
  const dir = mkdtempSync(join(tmpdir(), 'scopetrail-scaleout-'));
  const bundleFile = join(dir, 'workflow-bundle.js');
  writeFileSync(bundleFile, (await bundleAgents(require.resolve('./workloads/scopetrail-agents'))).code);

  const config = setups();
  const processes = new Map<Variant, ChildProcess[]>();
  for (const v of VARIANTS) processes.set(v, await Promise.all(config[v].workers.map((w) => forkWorker(temporal.address, w.taskQueue, bundleFile))));
  const connection = await Connection.connect({ address: temporal.address });
  const clients = new Map<Variant, ScopeClient>();
  for (const v of VARIANTS) clients.set(v, await ScopeClient.connect({ store, connection, taskQueue: config[v].startQueue }));

  const results = new Map<Variant, RoundResult[]>(VARIANTS.map((v) => [v, []]));
  const sessionIds: string[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of roundOrder(VARIANTS, r)) {
      const res = await runRound(clients.get(v)!, config[v], processes.get(v)!.map((p) => p.pid!), `r${r}-${v}`, sessionIds);
      results.get(v)!.push(res);
      console.error(`  round ${r + 1}/${ROUNDS} ${v}: ${(SESSIONS / res.seconds).toFixed(2)} sessions/s`);
    }
  }
  // The store is complete once every worker has drained its recorder and exited.
  await Promise.all([...processes.values()].flat().map(stopWorker));

  const reconcileStarted = performance.now();
  let differences = 0;
  for (const id of sessionIds) differences += (await clients.get('one')!.reconcile(id)).differences.length;
  const reconcileSeconds = (performance.now() - reconcileStarted) / 1000;

  const variants = Object.fromEntries(VARIANTS.map((v) => [v, summarizeVariant(config[v], results.get(v)!)])) as Record<Variant, VariantResult>;
  const ratio = (v: Variant) => summarize(results.get(v)!.map((x, i) => results.get('one')![i]!.seconds / x.seconds));
  const twoRatio = ratio('two');
  const queuesRatio = ratio('queues');
  const path = writeResult('scaleout', {
    rounds: ROUNDS,
    sessions_per_round: SESSIONS,
    concurrency: CONCURRENCY,
    actions_per_session: TREE_ACTIONS,
    variants,
    two_workers_throughput_ratio: twoRatio,
    task_queues_throughput_ratio: queuesRatio,
    reconciled_sessions: sessionIds.length,
    reconcile_differences: differences,
    reconcile_s: reconcileSeconds,
  });
  updateSummary(
    {
      scaleout_two_workers_throughput_ratio: round(twoRatio.median, 3),
      scaleout_task_queues_throughput_ratio: round(queuesRatio.median, 3),
      scaleout_reconcile_differences: differences,
    },
    'scaleout',
  );
  console.log(
    table(['variant', 'sessions/s', 'actions/s', 'latency p50 ms', 'latency p95 ms', 'CPU ms/session'], VARIANTS.map((v) => {
      const x = variants[v];
      return [v, x.sessions_per_s.median, x.actions_per_s, x.latency_ms.p50, x.latency_ms.p95, Object.entries(x.cpu_ms_per_session).map(([k, n]) => `${k} ${n}`).join(', ')];
    })),
  );
  console.log(
    `throughput ÷ one worker: two workers ${twoRatio.median.toFixed(3)}, task queues ${queuesRatio.median.toFixed(3)}; ` +
      `${sessionIds.length} sessions reconciled in ${reconcileSeconds.toFixed(1)} s, ${differences} differences → ${path}`,
  );
  for (const c of clients.values()) await c.close();
  await connection.close();
  await temporal.stop();
  await store.close();
  await dropSchema(args.database!, SCHEMA);
  rmSync(dir, { recursive: true, force: true });
  if (differences > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
