/**
 * What one small group commit costs, alone on an idle machine: scopetrail's write path
 * (SqlStore.writeBatch, as the recorder calls it with a loaded worker's two or three
 * records) against the smallest durable write of the same records (one INSERT … SELECT
 * FROM unnest of their JSON into a keyed table), interleaved, one commit at a time.
 * Client CPU is this process's; Postgres's is every backend's, read from /proc.
 *
 *   npx tsx bench/commit-cpu.ts [--commits 1000] [--rounds 4] [--per-commit 3] [--database postgres://...] [--schema bench_commit_cpu]
 *
 * It answers how much of what a loaded session pays for its durable writes is the write
 * path's own work, and how much is the machine being busier (bench/optimizations.md).
 */
import pg from 'pg';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { SqlStore } from '../store/sql-store';
import { cpuSince, cpuSnapshot } from './lib/cpu';
import { dropSchema, freshStore } from './lib/fresh-store';
import { median, round, roundOrder } from './lib/stats';
import { syntheticRange, syntheticSessions } from './lib/synthetic';
import { table, writeResult } from './lib/report';

const { values: raw } = parseArgs({
  options: {
    commits: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '4' },
    'per-commit': { type: 'string', default: '3' },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    schema: { type: 'string', default: 'bench_commit_cpu' },
  },
});
const count = (name: string) => {
  const message = `commit-cpu: invalid field "${name}": give a whole number of at least 1`;
  return z.coerce.number({ error: message }).int(message).min(1, message);
};
const parsed = z
  .object({
    commits: count('commits'),
    rounds: count('rounds'),
    'per-commit': count('per-commit'),
    database: z.string().min(1, 'commit-cpu: invalid field "database": give a Postgres URL'),
    schema: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'commit-cpu: invalid field "schema": lowercase letters, digits and underscores'),
  })
  .safeParse(raw);
if (!parsed.success) {
  console.error(parsed.error.issues.map((i) => i.message).join('; '));
  process.exit(2);
}
const args = parsed.data;

type Batch = { scopes?: ScopeRecord[]; actions?: ActionRecord[] };
const VARIANTS = ['scopetrail', 'minimal'] as const;
type Variant = (typeof VARIANTS)[number];

/** Commits as a loaded worker makes them: a scope's start, then its actions a few at a time. */
function commits(n: number, perCommit: number): Batch[] {
  const out: Batch[] = [];
  const sessions = syntheticSessions({ seed: 11, namespace: 'default' });
  while (out.length < n) {
    const s = sessions.next().value!;
    for (const scope of s.scopes) out.push({ scopes: [scope] });
    for (let i = 0; i < s.actions.length; i += perCommit) out.push({ actions: s.actions.slice(i, i + perCommit) });
  }
  return out.slice(0, n);
}

async function main(): Promise<void> {
  const store: SqlStore = await freshStore(args.database, args.schema, syntheticRange());
  const db = new pg.Client({ connectionString: args.database });
  await db.connect();
  const minimalTable = `${args.schema}.minimal`;
  await db.query(`CREATE TABLE ${minimalTable} (id text PRIMARY KEY, body jsonb NOT NULL)`);
  const writes: Record<Variant, (b: Batch) => Promise<unknown>> = {
    scopetrail: (b) => store.writeBatch!(b),
    minimal: (b) => {
      const rows: Array<ScopeRecord | ActionRecord> = b.actions ?? b.scopes ?? [];
      return db.query({
        name: 'minimal',
        text: `INSERT INTO ${minimalTable} SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT (id) DO UPDATE SET body = excluded.body`,
        values: [rows.map((r) => ('actionId' in r ? r.actionId : r.scopeId)), rows.map((r) => JSON.stringify(r))],
      });
    },
  };
  // Every variant writes records of its own (fresh ids), so neither updates what the other wrote.
  const all = commits(args.commits * (args.rounds + 1) * VARIANTS.length, args['per-commit']);
  let next = 0;
  const take = () => all.slice(next, (next += args.commits));
  // A warm-up round, not counted: the first statements plan and the partitions open.
  for (const v of VARIANTS) for (const b of take()) await writes[v](b);

  const per: Record<Variant, { client: number[]; postgres: number[]; wall: number[] }> = {
    scopetrail: { client: [], postgres: [], wall: [] },
    minimal: { client: [], postgres: [], wall: [] },
  };
  for (let r = 0; r < args.rounds; r++) {
    for (const v of roundOrder(VARIANTS, r)) {
      const batch = take();
      const cpu = cpuSnapshot();
      const t0 = performance.now();
      for (const b of batch) await writes[v](b);
      const wall = performance.now() - t0;
      const used = cpuSince(cpu);
      per[v].client.push((used.self * 1000) / batch.length);
      per[v].postgres.push((used.postgres * 1000) / batch.length);
      per[v].wall.push(wall / batch.length);
      process.stderr.write(`  round ${r + 1}/${args.rounds} ${v}: ${round((used.self * 1000) / batch.length)} ms client CPU per commit\n`);
    }
  }
  await db.end();
  await store.close?.();
  await dropSchema(args.database, args.schema);

  const m = (v: Variant, k: 'client' | 'postgres' | 'wall') => round(median(per[v][k]));
  const result = {
    commits_per_round: args.commits,
    records_per_commit: args['per-commit'],
    rounds: args.rounds,
    per_commit_ms: Object.fromEntries(VARIANTS.map((v) => [v, { client_cpu: m(v, 'client'), postgres_cpu: m(v, 'postgres'), wall: m(v, 'wall') }])),
    client_cpu_ratio: round(median(per.scopetrail.client) / median(per.minimal.client)),
    postgres_cpu_ratio: round(median(per.scopetrail.postgres) / median(per.minimal.postgres)),
    wall_ratio: round(median(per.scopetrail.wall) / median(per.minimal.wall)),
  };
  console.log(
    table(
      ['write', 'client CPU ms/commit', 'Postgres CPU ms/commit', 'wall ms/commit'],
      VARIANTS.map((v) => [v, String(m(v, 'client')), String(m(v, 'postgres')), String(m(v, 'wall'))]),
    ),
  );
  console.log(`scopetrail ÷ minimal: client CPU ${result.client_cpu_ratio}, Postgres CPU ${result.postgres_cpu_ratio}, wall ${result.wall_ratio}`);
  console.log(`written to ${writeResult('commit-cpu', result)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
