/**
 * Seal anchors: what anchoring costs per sealed scope, one anchor per scope against the
 * seals of a session's scopes sealed together sharing one (`batched`), and against the
 * seals of every session of a sealer batch sharing one (`sets`; store/seal-anchor.ts), as
 * a worker's sealer anchors scopes it saw end, and as it anchors scopes the sweep found,
 * which it first holds against their sessions' anchors (`sets_looked`).
 * The same synthetic seals go through `anchorSeals` each way, on one dev server, rounds
 * alternating; each session's scopes arrive in `--splits` sealer batches, as they do
 * when scopes end over a session's life. Reported per scope: Temporal server CPU, this
 * process's CPU (the worker's share) and wall time; and per session, verify's read of
 * its anchors.
 *
 *   npx tsx bench/anchors.ts [--rounds 3] [--sessions 20] [--scopes 10] [--splits 3] [--print-only]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { ensureTemporal } from '../devserver/dev-server';
import { TemporalSealAnchors, anchorSeals } from '../store/seal-anchor';
import type { Seal } from '../cim/seal';
import { cpuSince, cpuSnapshot } from './lib/cpu';
import { roundOrder, round, summarize, type Summary } from './lib/stats';
import { table, updateSummary, writeResult } from './lib/report';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    sessions: { type: 'string', default: '20' },
    scopes: { type: 'string', default: '10' },
    splits: { type: 'string', default: '3' },
    'print-only': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const SESSIONS = Number(args.sessions);
const SCOPES = Number(args.scopes);
const SPLITS = Number(args.splits);
const MODES = ['per_scope', 'batched', 'sets', 'sets_looked'] as const;
type Mode = (typeof MODES)[number];

function seals(namespace: string): Seal[][] {
  const batches: Seal[][] = Array.from({ length: SPLITS }, () => []);
  for (let s = 0; s < SESSIONS; s++) {
    const sessionId = `bench-${randomUUID()}`;
    for (let c = 0; c < SCOPES; c++) {
      const scopeId = c === 0 ? sessionId : `${sessionId}.${c}`;
      const hex = (n: number) => (randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '')).slice(0, n);
      // Scopes end over the session's life: the deepest first, the root last.
      batches[Math.min(SPLITS - 1, Math.floor(((SCOPES - 1 - c) * SPLITS) / SCOPES))]!.push({
        namespace,
        sessionId,
        scopeId,
        runId: randomUUID(),
        length: 5,
        head: hex(64),
        scopeHash: hex(64),
      });
    }
  }
  return batches;
}

async function main(): Promise<void> {
  const temporal = await ensureTemporal({ log: () => undefined });
  const connection = await Connection.connect({ address: temporal.address });
  const perScopeAnchors = new TemporalSealAnchors(connection, { kinds: async () => ({ sets: false, sessions: false }) });
  const batchedAnchors = new TemporalSealAnchors(connection, { kinds: async () => ({ sets: false, sessions: true }) });
  const setAnchors = new TemporalSealAnchors(connection, { kinds: async () => ({ sets: true, sessions: true }) });
  const anchors: Record<Mode, typeof batchedAnchors> = { per_scope: perScopeAnchors, batched: batchedAnchors, sets: setAnchors, sets_looked: setAnchors };
  const lookFirst: Record<Mode, boolean> = { per_scope: true, batched: false, sets: false, sets_looked: true };
  const perScope = new Map<Mode, { server: number[]; worker: number[]; wall: number[]; verify: number[] }>(
    MODES.map((m) => [m, { server: [], worker: [], wall: [], verify: [] }]),
  );
  try {
    // Warm both paths (connections, clients, the server's caches).
    for (const mode of MODES) {
      for (const batch of seals(temporal.namespace)) await anchorSeals(anchors[mode], () => undefined, { lookFirst: () => lookFirst[mode] })(batch);
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of roundOrder(MODES, r)) {
        const batches = seals(temporal.namespace);
        const n = batches.flat().length;
        const cpu0 = cpuSnapshot();
        const started = performance.now();
        for (const batch of batches) {
          const accepted = await anchorSeals(
            anchors[mode],
            (err) => {
              throw err;
            },
            { lookFirst: () => lookFirst[mode] },
          )(batch);
          if (accepted.size !== batch.length) throw new Error(`${mode}: ${batch.length - accepted.size} seals not accepted`);
        }
        const wall = performance.now() - started;
        // Both kinds of anchor in the dev server's visibility before the next mode's CPU is read.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const cpu = cpuSince(cpu0);
        const t = perScope.get(mode)!;
        t.server.push((cpu.temporal * 1000) / n);
        t.worker.push((cpu.self * 1000) / n);
        t.wall.push(wall / n);
        // Verify's read of a session's anchors (what verify does per session, whatever it reads besides).
        const sessions = new Map<string, Map<string, string[]>>();
        for (const seal of batches.flat()) {
          const runs = sessions.get(seal.sessionId) ?? new Map<string, string[]>();
          runs.set(seal.scopeId, [seal.runId]);
          sessions.set(seal.sessionId, runs);
        }
        const readStarted = performance.now();
        for (const [sessionId, runIds] of sessions) {
          const found = await anchors[mode].readSession(temporal.namespace, sessionId, runIds);
          if ([...found.values()].some((l) => l.state !== 'anchored')) throw new Error(`${mode}: a seal of ${sessionId} was not found`);
        }
        t.verify.push((performance.now() - readStarted) / sessions.size);
        console.error(
          `  round ${r + 1}/${ROUNDS} ${mode.padEnd(14)}: server ${t.server.at(-1)!.toFixed(2)} ms/scope, worker ${t.worker.at(-1)!.toFixed(2)} ms/scope, wall ${t.wall.at(-1)!.toFixed(2)} ms/scope, verify read ${t.verify.at(-1)!.toFixed(1)} ms/session`,
        );
      }
    }
  } finally {
    await connection.close();
    await temporal.stop();
  }
  const result: Record<Mode, Record<string, Summary>> = {} as never;
  for (const mode of MODES) {
    const t = perScope.get(mode)!;
    result[mode] = {
      server_cpu_ms_per_scope: summarize(t.server),
      worker_cpu_ms_per_scope: summarize(t.worker),
      wall_ms_per_scope: summarize(t.wall),
      verify_read_ms_per_session: summarize(t.verify),
    };
  }
  const ratio = (key: string, mode: Mode = 'batched') => round(result[mode][key]!.median / result.per_scope[key]!.median);
  const label: Record<Mode, string> = {
    per_scope: 'one per scope',
    batched: 'one per session and batch',
    sets: 'one per batch (sessions listed)',
    sets_looked: 'the same, anchors read first',
  };
  console.log(`\nseal anchors: ${SESSIONS} sessions x ${SCOPES} scopes, each session's scopes in ${SPLITS} sealer batches, ${ROUNDS} rounds`);
  console.log(
    table(
      ['anchors', 'server CPU ms/scope', 'worker CPU ms/scope', 'wall ms/scope', 'verify read ms/session'],
      MODES.map((m) => [
        label[m],
        round(result[m].server_cpu_ms_per_scope!.median, 2),
        round(result[m].worker_cpu_ms_per_scope!.median, 2),
        round(result[m].wall_ms_per_scope!.median, 2),
        round(result[m].verify_read_ms_per_session!.median, 1),
      ]),
    ),
  );
  const ratios = {
    server_cpu: ratio('server_cpu_ms_per_scope'),
    worker_cpu: ratio('worker_cpu_ms_per_scope'),
    wall: ratio('wall_ms_per_scope'),
    verify_read: ratio('verify_read_ms_per_session'),
    sets_server_cpu: ratio('server_cpu_ms_per_scope', 'sets'),
    sets_worker_cpu: ratio('worker_cpu_ms_per_scope', 'sets'),
    sets_verify_read: ratio('verify_read_ms_per_session', 'sets'),
    looked_server_cpu: ratio('server_cpu_ms_per_scope', 'sets_looked'),
    looked_worker_cpu: ratio('worker_cpu_ms_per_scope', 'sets_looked'),
    sets_vs_batched_server_cpu: round(result.sets.server_cpu_ms_per_scope!.median / result.batched.server_cpu_ms_per_scope!.median),
  };
  console.log(
    `÷ per scope: per session: server CPU ${ratios.server_cpu}, worker CPU ${ratios.worker_cpu}, wall ${ratios.wall}, verify read ${ratios.verify_read}; ` +
      `per batch: server CPU ${ratios.sets_server_cpu}, worker CPU ${ratios.sets_worker_cpu}, verify read ${ratios.sets_verify_read}; ` +
      `per batch, anchors read first: server CPU ${ratios.looked_server_cpu}, worker CPU ${ratios.looked_worker_cpu}. ` +
      `Per batch ÷ per session: server CPU ${ratios.sets_vs_batched_server_cpu}`,
  );
  if (!args['print-only']) {
    const path = writeResult('anchors', { rounds: ROUNDS, sessions: SESSIONS, scopes_per_session: SCOPES, batches_per_session: SPLITS, ...result, batched_vs_per_scope: ratios });
    updateSummary({ seal_anchor_server_cpu_vs_per_scope: ratios.sets_server_cpu, seal_anchor_sets_server_cpu_vs_per_session: ratios.sets_vs_batched_server_cpu }, 'anchors');
    console.log(`written to ${path}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
