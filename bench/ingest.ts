/**
 * Ingest: rows/s of scopetrail's write path (recorder → group commit → SqlStore
 * upserts) against raw COPY of the same rows into the same tables, interleaved. The
 * write path is timed to durable (every writer released, as a workflow task or an
 * activity waits) and, separately, to sealed (hash chains computed behind it).
 *
 *   npx tsx bench/ingest.ts [--actions 60000] [--rounds 5] [--database postgres://...]
 */
import pg from 'pg';
import { parseArgs } from 'node:util';
import { ACTION_COLUMNS, SCOPE_COLUMNS, actionRow, scopeRow } from '../store/rows';
import { openPostgresStore } from '../store/postgres';
import { Recorder } from '../worker/recorder';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import { copyRows } from '../store/copy';
import { dropSchema, freshStore } from './lib/fresh-store';
import { roundOrder, round, summarize } from './lib/stats';
import { syntheticRange, syntheticSessions } from './lib/synthetic';
import { table, updateSummary, writeResult } from './lib/report';

const { values: args } = parseArgs({
  options: {
    actions: { type: 'string', default: '60000' },
    rounds: { type: 'string', default: '5' },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const ACTIONS = Number(args.actions);
const ROUNDS = Number(args.rounds);
const URL = args.database!;
const SCHEMA = 'bench_ingest';

type Variant = 'copy' | 'scopetrail';
type Measure = Variant | 'scopetrail_sealed';

interface Data {
  sessions: Array<{ scopes: ScopeRecord[]; actions: ActionRecord[] }>;
  scopes: number;
  actions: number;
}

function load(): Data {
  const sessions: Data['sessions'] = [];
  let actions = 0;
  let scopes = 0;
  for (const s of syntheticSessions({ seed: 7, namespace: 'default' })) {
    sessions.push(s);
    actions += s.actions.length;
    scopes += s.scopes.length;
    if (actions >= ACTIONS) break;
  }
  return { sessions, scopes, actions };
}

async function freshSchema(): Promise<void> {
  await (await freshStore(URL, SCHEMA, syntheticRange())).close();
}

async function runCopy(data: Data): Promise<number> {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  const started = performance.now();
  await copyRows(client, `${SCHEMA}.scopes`, SCOPE_COLUMNS, (function* () {
    for (const s of data.sessions) for (const r of s.scopes) yield scopeRow(r, r.sessionStartedAt!);
  })());
  await copyRows(client, `${SCHEMA}.actions`, ACTION_COLUMNS, (function* () {
    for (const s of data.sessions) for (const r of s.actions) yield actionRow(r, r.sessionStartedAt!);
  })());
  const ms = performance.now() - started;
  await client.end();
  return ms;
}

/** As a worker writes: one small write per scope (its record and its actions), many in flight, group-committed. */
async function runScopetrail(data: Data): Promise<{ durable: number; sealed: number }> {
  const store = openPostgresStore(URL, { schema: SCHEMA });
  const recorder = new Recorder(store);
  const started = performance.now();
  const writes: Promise<void>[] = [];
  for (const s of data.sessions) {
    for (const scope of s.scopes) {
      writes.push(recorder.write({ scopes: [scope], actions: s.actions.filter((a) => a.scopeId === scope.scopeId) }));
    }
  }
  await Promise.all(writes);
  const durable = performance.now() - started;
  await recorder.drain();
  const sealed = performance.now() - started;
  recorder.stop();
  await store.close();
  return { durable, sealed };
}

async function main(): Promise<void> {
  const data = load();
  const rows = data.scopes + data.actions;
  console.error(`ingest: ${data.sessions.length} sessions, ${data.scopes} scopes + ${data.actions} actions = ${rows} rows; ${ROUNDS} rounds`);
  const times: Record<Measure, number[]> = { copy: [], scopetrail: [], scopetrail_sealed: [] };
  const ratios: number[] = [];
  const sealedRatios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const perRound: Partial<Record<Measure, number>> = {};
    for (const variant of roundOrder<Variant>(['copy', 'scopetrail'], r)) {
      await freshSchema();
      if (variant === 'copy') {
        perRound.copy = await runCopy(data);
        times.copy.push(perRound.copy);
      } else {
        const t = await runScopetrail(data);
        perRound.scopetrail = t.durable;
        perRound.scopetrail_sealed = t.sealed;
        times.scopetrail.push(t.durable);
        times.scopetrail_sealed.push(t.sealed);
      }
      const ms = perRound[variant]!;
      console.error(`  round ${r + 1}/${ROUNDS} ${variant.padEnd(10)} ${(rows / (ms / 1000)).toFixed(0)} rows/s (${ms.toFixed(0)} ms)`);
    }
    ratios.push(perRound.copy! / perRound.scopetrail!);
    sealedRatios.push(perRound.copy! / perRound.scopetrail_sealed!);
  }
  const rate = (v: Measure) => summarize(times[v].map((ms) => rows / (ms / 1000)));
  const ratio = summarize(ratios);
  const sealedRatio = summarize(sealedRatios);
  const result = {
    rows,
    scopes: data.scopes,
    actions: data.actions,
    rounds: ROUNDS,
    copy_rows_per_s: rate('copy'),
    scopetrail_rows_per_s: rate('scopetrail'),
    scopetrail_sealed_rows_per_s: rate('scopetrail_sealed'),
    ratio_vs_copy: ratio,
    sealed_ratio_vs_copy: sealedRatio,
  };
  const path = writeResult('ingest', result);
  updateSummary({ ingest_ratio_vs_copy: round(ratio.median) }, 'ingest');
  console.log(
    table(
      ['variant', 'rows/s median', 'min', 'max'],
      (['copy', 'scopetrail', 'scopetrail_sealed'] as const).map((v) => [v, rate(v).median, rate(v).min, rate(v).max]),
    ),
  );
  console.log(`scopetrail / COPY throughput (durable): median ${ratio.median.toFixed(3)} (min ${ratio.min.toFixed(3)}, max ${ratio.max.toFixed(3)})`);
  console.log(`scopetrail / COPY throughput (sealed):  median ${sealedRatio.median.toFixed(3)} (min ${sealedRatio.min.toFixed(3)}, max ${sealedRatio.max.toFixed(3)})`);
  console.log(`→ ${path}`);
  await dropSchema(URL, SCHEMA);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
