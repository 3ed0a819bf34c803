/**
 * Ingest: rows/s of scopetrail's write path (recorder → group commit → SqlStore
 * upserts) against raw COPY of the same rows into the same tables, interleaved, at
 * several batch sizes. A batch size is how many rows are in flight at once: COPY
 * commits one transaction of that many rows after another; scopetrail keeps that many
 * rows of per-scope writes in flight, so each group commit holds about that many. The
 * write path is timed to durable (every writer released, as a workflow task or an
 * activity waits) and to sealed (hash chains computed behind it).
 *
 *   npx tsx bench/ingest.ts [--actions 60000] [--rounds 5] [--batches 100,2000,all] [--database postgres://...] [--schema bench_ingest] [--label sustained]
 *
 * The default 60 k actions are a burst: the sealer's held-record bound (half its cache)
 * is reached near its end. Many more (`--actions 240000 --label sustained`) show the
 * steady state, where sealing keeps pace beside the writes; a labelled run writes
 * bench/results/ingest-<label>.json and leaves the summary to the standard run.
 *
 * INGEST_CPU_SPLIT=1 also prints each run's CPU split between this process and Postgres, the WAL it
 * wrote, and the event loop's delay and garbage collection while the writes were in flight;
 * INGEST_SEALER='{"maxDelayMs":1000}' runs the write path with other sealer options (to compare them).
 */
import pg from 'pg';
import { markedBackends, selfCpuSeconds } from './lib/cpu';
import { walPosition, watchLoop } from './lib/run-watch';
import { parseArgs } from 'node:util';
import { ACTION_COLUMNS, SCOPE_COLUMNS, actionRow, scopeRow } from '../store/rows';
import { openPostgresStore } from '../store/postgres';
import { Recorder } from '../worker/recorder';
import type { SealerOptions } from '../worker/sealer';
import { z } from 'zod';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import { copyRows } from '../store/copy';
import { dropSchema, freshStore } from './lib/fresh-store';
import { roundOrder, round, summarize, type Summary } from './lib/stats';
import { syntheticRange, syntheticSessions } from './lib/synthetic';
import { table, updateSummary, writeResult } from './lib/report';

const { values: args } = parseArgs({
  options: {
    actions: { type: 'string', default: '60000' },
    rounds: { type: 'string', default: '5' },
    batches: { type: 'string', default: '100,2000,all' },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    /** Runs sharing one database each need their own schema. */
    schema: { type: 'string', default: 'bench_ingest' },
    label: { type: 'string' },
  },
});
const LABEL = args.label;
if (LABEL !== undefined && !/^[a-z0-9-]+$/.test(LABEL)) throw new TypeError(`ingest: invalid field "label": "${LABEL}" must be lowercase letters, digits and dashes`);
const SEALER = sealerOptions(process.env.INGEST_SEALER);
/** Diagnostics beside each run's time (see the top of this file). */
const SPLIT = Boolean(process.env.INGEST_CPU_SPLIT);

function sealerOptions(text: string | undefined): SealerOptions | undefined {
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = z.record(z.string(), z.number()).safeParse(json);
  if (!parsed.success) throw new TypeError(`ingest: invalid INGEST_SEALER: ${JSON.stringify(text)} must be a JSON object of numeric sealer options`);
  return parsed.data as SealerOptions;
}
const ACTIONS = Number(args.actions);
const ROUNDS = Number(args.rounds);
const URL = args.database!;
const SCHEMA = args.schema!;
/** This run's own Postgres backends are marked, so their CPU can be read before they exit. */
const backends = markedBackends(URL, `bench_ingest_${process.pid}`);
const APP_URL = backends.url;
const backendCpu = backends.cpuSeconds;
const selfCpu = selfCpuSeconds;

/** One worker write: a scope's record with its actions. */
interface Write {
  scopes: ScopeRecord[];
  actions: ActionRecord[];
}

type Variant = 'copy' | 'scopetrail';

function load(): { writes: Write[]; scopes: number; actions: number } {
  const writes: Write[] = [];
  let actions = 0;
  let scopes = 0;
  for (const s of syntheticSessions({ seed: 7, namespace: 'default' })) {
    const byScope = new Map<string, ActionRecord[]>(s.scopes.map((scope) => [scope.scopeId, []]));
    for (const a of s.actions) byScope.get(a.scopeId)!.push(a);
    for (const scope of s.scopes) writes.push({ scopes: [scope], actions: byScope.get(scope.scopeId)! });
    actions += s.actions.length;
    scopes += s.scopes.length;
    if (actions >= ACTIONS) break;
  }
  return { writes, scopes, actions };
}

function batchRows(spec: string, total: number): number {
  if (spec === 'all') return total;
  const n = Number(spec);
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`ingest: invalid field "batches": "${spec}" must be a positive integer or "all"`);
  return Math.min(n, total);
}

const rowsOf = (w: Write) => w.scopes.length + w.actions.length;

/**
 * An empty schema, and no dirty pages left from the run before: a checkpoint that starts
 * during a run would charge that run for writing out its predecessor's rows. (A role
 * that may not CHECKPOINT runs without it, with that noise.)
 */
async function freshSchema(): Promise<void> {
  await (await freshStore(URL, SCHEMA, syntheticRange())).close();
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  try {
    await client.query('CHECKPOINT');
  } catch (err) {
    // 42501: the role may not checkpoint, so the run is measured without it; anything else is a real failure.
    if ((err as { code?: unknown }).code !== '42501') throw err;
  } finally {
    await client.end();
  }
}

/** Consecutive writes grouped into batches of about `size` rows. */
function batchesOf(writes: readonly Write[], size: number): Write[][] {
  const out: Write[][] = [];
  let current: Write[] = [];
  let rows = 0;
  for (const w of writes) {
    current.push(w);
    rows += rowsOf(w);
    if (rows >= size) {
      out.push(current);
      current = [];
      rows = 0;
    }
  }
  if (current.length) out.push(current);
  return out;
}

/** Raw COPY, one transaction per batch (scopes and actions of that batch). */
async function runCopy(writes: readonly Write[], size: number): Promise<{ ms: number; cpu: number }> {
  const client = new pg.Client({ connectionString: APP_URL });
  await client.connect();
  const batches = batchesOf(writes, size);
  const cpu0 = selfCpu();
  const started = performance.now();
  for (const batch of batches) {
    await client.query('BEGIN');
    await copyRows(client, `${SCHEMA}.scopes`, SCOPE_COLUMNS, batch.flatMap((w) => w.scopes.map((r) => scopeRow(r, r.sessionStartedAt!))));
    await copyRows(client, `${SCHEMA}.actions`, ACTION_COLUMNS, batch.flatMap((w) => w.actions.map((r) => actionRow(r, r.sessionStartedAt!))));
    await client.query('COMMIT');
  }
  const ms = performance.now() - started;
  const node = selfCpu() - cpu0;
  const postgres = await backendCpu();
  const cpu = node + postgres;
  if (SPLIT) console.error(`    CPU s: node ${node.toFixed(2)}, postgres ${postgres.toFixed(2)}`);
  await client.end();
  return { ms, cpu };
}

/** As a worker writes: one small write per scope, about `size` rows of them in flight, group-committed. */
async function runScopetrail(writes: readonly Write[], size: number): Promise<{ durable: number; sealed: number; cpu: number }> {
  const store = openPostgresStore(APP_URL, { schema: SCHEMA });
  const recorder = new Recorder(store, SEALER ? { sealer: SEALER } : {});
  let next = 0;
  let inFlight = 0;
  const cpu0 = selfCpu();
  const watch = SPLIT ? watchLoop() : undefined;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (next < writes.length && inFlight < size) {
        const w = writes[next++]!;
        inFlight += rowsOf(w);
        recorder.write(w).then(() => {
          inFlight -= rowsOf(w);
          if (next === writes.length && inFlight === 0) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  const durable = performance.now() - started;
  if (watch) console.error(`    while durable: ${watch.stop()}`);
  await recorder.drain();
  const sealed = performance.now() - started;
  const node = selfCpu() - cpu0;
  const postgres = await backendCpu();
  const cpu = node + postgres;
  if (SPLIT) console.error(`    CPU s: node ${node.toFixed(2)}, postgres ${postgres.toFixed(2)}`);
  recorder.stop();
  await store.close();
  return { durable, sealed, cpu };
}

interface BatchResult {
  batch_rows: number;
  copy_rows_per_s: Summary;
  scopetrail_rows_per_s: Summary;
  scopetrail_sealed_rows_per_s: Summary;
  ratio_vs_copy: Summary;
  sealed_ratio_vs_copy: Summary;
  /** CPU seconds (this process and its Postgres backends) of COPY ÷ of scopetrail to sealed. */
  cpu_ratio_vs_copy: Summary;
}

async function main(): Promise<void> {
  const data = load();
  const rows = data.scopes + data.actions;
  const sizes = args.batches!.split(',').map((s) => batchRows(s.trim(), rows));
  console.error(`ingest: ${data.scopes} scopes + ${data.actions} actions = ${rows} rows in ${data.writes.length} writes; batches of ${sizes.join(', ')} rows; ${ROUNDS} rounds`);
  const times = new Map(sizes.map((s) => [s, { copy: [] as number[], durable: [] as number[], sealed: [] as number[], ratio: [] as number[], sealedRatio: [] as number[], cpuRatio: [] as number[] }]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const size of sizes) {
      const t = times.get(size)!;
      const perRound: { copy?: number; durable?: number; sealed?: number; copyCpu?: number; cpu?: number } = {};
      for (const variant of roundOrder<Variant>(['copy', 'scopetrail'], r)) {
        await freshSchema();
        const wal0 = SPLIT ? await walPosition(URL) : 0n;
        if (variant === 'copy') {
          const m = await runCopy(data.writes, size);
          perRound.copy = m.ms;
          perRound.copyCpu = m.cpu;
        } else {
          const m = await runScopetrail(data.writes, size);
          perRound.durable = m.durable;
          perRound.sealed = m.sealed;
          perRound.cpu = m.cpu;
        }
        if (SPLIT) console.error(`    WAL MiB (${variant}): ${(Number((await walPosition(URL)) - wal0) / 2 ** 20).toFixed(1)}`);
      }
      t.copy.push(perRound.copy!);
      t.durable.push(perRound.durable!);
      t.sealed.push(perRound.sealed!);
      t.ratio.push(perRound.copy! / perRound.durable!);
      t.sealedRatio.push(perRound.copy! / perRound.sealed!);
      t.cpuRatio.push(perRound.copyCpu! / perRound.cpu!);
      const rate = (ms: number) => (rows / (ms / 1000)).toFixed(0);
      console.error(
        `  round ${r + 1}/${ROUNDS} batch ${String(size).padStart(6)}: COPY ${rate(perRound.copy!)} rows/s, durable ${rate(perRound.durable!)} (${t.ratio.at(-1)!.toFixed(3)}), sealed ${rate(perRound.sealed!)} (${t.sealedRatio.at(-1)!.toFixed(3)}); CPU s ${perRound.copyCpu!.toFixed(2)} vs ${perRound.cpu!.toFixed(2)}`,
      );
    }
  }
  const perSecond = (ms: number[]) => summarize(ms.map((x) => rows / (x / 1000)));
  const batches: BatchResult[] = sizes.map((size) => {
    const t = times.get(size)!;
    return {
      batch_rows: size,
      copy_rows_per_s: perSecond(t.copy),
      scopetrail_rows_per_s: perSecond(t.durable),
      scopetrail_sealed_rows_per_s: perSecond(t.sealed),
      ratio_vs_copy: summarize(t.ratio),
      sealed_ratio_vs_copy: summarize(t.sealedRatio),
      cpu_ratio_vs_copy: summarize(t.cpuRatio),
    };
  });
  const path = writeResult(LABEL ? `ingest-${LABEL}` : 'ingest', { rows, scopes: data.scopes, actions: data.actions, rounds: ROUNDS, sealer: SEALER ?? 'default', batches });
  // The requirement holds at every batch size, so the summary keeps the worst one.
  if (!LABEL && !SEALER) updateSummary(
    {
      ingest_ratio_vs_copy: round(Math.min(...batches.map((b) => b.ratio_vs_copy.median))),
      ingest_sealed_ratio_vs_copy: round(Math.min(...batches.map((b) => b.sealed_ratio_vs_copy.median))),
    },
    'ingest',
  );
  const ratio = (s: Summary) => `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})`;
  console.log(
    table(
      ['batch rows', 'COPY rows/s', 'durable rows/s', 'sealed rows/s', 'durable ÷ COPY', 'sealed ÷ COPY', 'CPU: COPY ÷ sealed'],
      batches.map((b) => [
        String(b.batch_rows),
        b.copy_rows_per_s.median,
        b.scopetrail_rows_per_s.median,
        b.scopetrail_sealed_rows_per_s.median,
        ratio(b.ratio_vs_copy),
        ratio(b.sealed_ratio_vs_copy),
        ratio(b.cpu_ratio_vs_copy),
      ]),
    ),
  );
  console.log(`→ ${path}`);
  await dropSchema(URL, SCHEMA);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
