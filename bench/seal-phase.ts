/**
 * The sealing phase alone: the ingest benchmark's rows are written with everything in
 * flight, as bench/ingest.ts does with `--batches all`, and then the time to seal them
 * (`recorder.drain()`) is measured with the CPU it took in this process and in its own
 * Postgres backends. The ingest ratios mix the write path, the sealer and the machine's
 * other work; this isolates the part the sealed ratio adds, for before/after comparisons.
 * The first round warms the JIT; the summary is the median of the others.
 *
 *   npx tsx bench/seal-phase.ts [--actions 20000] [--rounds 6] [--database postgres://...] [--schema bench_seal_phase]
 */
import { markedBackends, selfCpuSeconds } from './lib/cpu';
import { parseArgs } from 'node:util';
import { openPostgresStore } from '../store/postgres';
import { Recorder } from '../worker/recorder';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import { dropSchema, freshStore } from './lib/fresh-store';
import { syntheticRange, syntheticSessions } from './lib/synthetic';

const { values: args } = parseArgs({
  options: {
    actions: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '6' },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    /** Runs sharing one database each need their own schema. */
    schema: { type: 'string', default: 'bench_seal_phase' },
  },
});
const positive = (name: string, value: string | undefined): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`seal-phase: invalid field "${name}": ${JSON.stringify(value)} must be a positive integer`);
  return n;
};
const ACTIONS = positive('actions', args.actions);
const ROUNDS = positive('rounds', args.rounds);
const URL = args.database!;
const SCHEMA = args.schema!;
/** This run's own Postgres backends are marked, so their CPU can be read before they exit. */
const backends = markedBackends(URL, `bench_seal_phase_${process.pid}`);
const APP_URL = backends.url;
const backendCpu = backends.cpuSeconds;
const selfCpu = selfCpuSeconds;

function load(): Array<{ scopes: ScopeRecord[]; actions: ActionRecord[] }> {
  const writes: Array<{ scopes: ScopeRecord[]; actions: ActionRecord[] }> = [];
  let actions = 0;
  for (const s of syntheticSessions({ seed: 7, namespace: 'default' })) {
    const byScope = new Map<string, ActionRecord[]>(s.scopes.map((scope) => [scope.scopeId, []]));
    for (const a of s.actions) byScope.get(a.scopeId)!.push(a);
    for (const scope of s.scopes) writes.push({ scopes: [scope], actions: byScope.get(scope.scopeId)! });
    actions += s.actions.length;
    if (actions >= ACTIONS) break;
  }
  return writes;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const writes = load();
  const rounds: Array<{ sealMs: number; nodeMs: number; postgresMs: number }> = [];
  for (let r = 0; r < ROUNDS; r++) {
    await (await freshStore(URL, SCHEMA, syntheticRange())).close();
    const store = openPostgresStore(APP_URL, { schema: SCHEMA });
    const recorder = new Recorder(store);
    await Promise.all(writes.map((w) => recorder.write(w)));
    const postgres0 = await backendCpu();
    const node0 = selfCpu();
    const started = performance.now();
    await recorder.drain();
    const sealMs = performance.now() - started;
    const nodeMs = (selfCpu() - node0) * 1000;
    const postgresMs = ((await backendCpu()) - postgres0) * 1000;
    rounds.push({ sealMs, nodeMs, postgresMs });
    console.error(`  round ${r + 1}/${ROUNDS}: sealed in ${sealMs.toFixed(0)} ms; CPU ms: node ${nodeMs.toFixed(0)}, postgres ${postgresMs.toFixed(0)}`);
    recorder.stop();
    await store.close();
  }
  await dropSchema(URL, SCHEMA);
  const warm = rounds.length > 1 ? rounds.slice(1) : rounds;
  console.log(
    `seal phase, median of ${warm.length} warm rounds: ${median(warm.map((r) => r.sealMs)).toFixed(0)} ms wall; ` +
      `CPU ms: node ${median(warm.map((r) => r.nodeMs)).toFixed(0)}, postgres ${median(warm.map((r) => r.postgresMs)).toFixed(0)}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
