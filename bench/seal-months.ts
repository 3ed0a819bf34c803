/**
 * Sealing as the months kept grow: the partitioned tables have a partition per month, and
 * a statement that reaches them without the partition key is planned over all of them.
 * For each count of months kept, a fresh schema with that many monthly partitions gets
 * `--sessions` sessions of one scope and two tool calls in the current month, each
 * written as a worker writes it (start, calls, end), then each scope is sealed in a
 * transaction of its own, as a worker with little load seals: half of them with keys that
 * carry the session's start, as a worker's do, and half without (keys of runs from before
 * the start was carried, or from reconcile), whose month is looked up; then the client's
 * probe of a given session id (`startSession` with `sessionId`) is run as often. Reported
 * per scope: wall time and the Postgres backends' CPU.
 *
 *   npx tsx bench/seal-months.ts [--months 1,12,36] [--sessions 1000] [--print-only]
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ActionRecord, ScopeRecord } from '../cim/schemas';
import { dropSchema, freshStore } from './lib/fresh-store';
import { markedBackends } from './lib/cpu';
import { table, updateSummary, writeResult } from './lib/report';

const { values: args } = parseArgs({
  options: {
    months: { type: 'string', default: '1,12,36' },
    sessions: { type: 'string', default: '1000' },
    'print-only': { type: 'boolean', default: false },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const MONTHS = args.months!.split(',').map(Number);
const SESSIONS = Number(args.sessions);
if (MONTHS.some((m) => !Number.isInteger(m) || m < 1) || !Number.isInteger(SESSIONS) || SESSIONS < 1) {
  throw new Error('--months: whole numbers from 1, comma separated; --sessions: a whole number from 1');
}
const SCHEMA = 'bench_seal_months';

interface Row {
  months: number;
  seal_ms_per_scope: number;
  seal_postgres_cpu_ms_per_scope: number;
  /** Keys without the session's start. */
  seal_unplaced_ms_per_scope: number;
  seal_unplaced_postgres_cpu_ms_per_scope: number;
  probe_ms: number;
  probe_postgres_cpu_ms: number;
}

function records(i: number, run: string): { start: ScopeRecord; end: ScopeRecord; calls: ActionRecord[] } {
  const sessionId = `ses-${run}-${i}`;
  const scopeId = `${sessionId}.root`;
  const at = new Date().toISOString();
  const end = ScopeRecord.parse({
    scopeId, sessionId, namespace: 'default', parentScopeId: null, handoffFromScopeId: null, kind: 'root', agent: 'agent',
    agentVersion: '1.0.0', delegatedBy: null, objective: null, allowance: null, depth: 0, path: `/${scopeId}/`, status: 'success',
    recovered: false, error: null, startedAt: at, endedAt: at, workflowId: sessionId, runId: `run-${i}`, sessionStartedAt: at,
  });
  const calls = [1, 2].map((n) =>
    ActionRecord.parse({
      actionId: `${scopeId}/t${n}#1`, scopeId, sessionId, namespace: 'default', agent: 'agent', kind: 'tool_call', name: 'lookup',
      attempt: 1, resources: [{ uri: 'api:search', mode: 'read' }], inputDigest: null, outputDigest: null, status: 'success', error: null,
      startedAt: at, endedAt: at, workflowId: sessionId, runId: `run-${i}`, activityId: String(n), targetScopeId: null, attributes: {},
      sessionStartedAt: at,
    }),
  );
  return { start: { ...end, status: 'running', endedAt: null }, end, calls };
}

async function measure(months: number): Promise<Row> {
  const backends = markedBackends(args.database!, `bench_seal_${months}`);
  // The months before this one, as a store kept that long has them.
  const now = new Date();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (months - 1), 1));
  const store = await freshStore(backends.url, SCHEMA, { from, to: now });
  try {
    const run = randomBytes(3).toString('hex');
    const written = Array.from({ length: SESSIONS }, (_, i) => records(i, run));
    for (const r of written) {
      await store.writeBatch!({ scopes: [r.start] });
      await store.writeBatch!({ actions: r.calls });
      await store.writeBatch!({ scopes: [r.end] });
    }
    process.stderr.write(`  ${months} month(s): ${SESSIONS} sessions written; sealing...\n`);
    const sealed = async (half: typeof written, placed: boolean) => {
      const cpu = await backends.cpuSeconds();
      const t = performance.now();
      for (const { end } of half) {
        await store.sealScopes!([{ namespace: 'default', scopeId: end.scopeId, ...(placed ? { sessionStartedAt: end.sessionStartedAt } : {}) }]);
      }
      return { ms: (performance.now() - t) / half.length, cpuMs: (((await backends.cpuSeconds()) - cpu) * 1000) / half.length };
    };
    const placed = await sealed(written.filter((_, i) => i % 2 === 0), true);
    const unplaced = await sealed(written.filter((_, i) => i % 2 === 1), false);
    const cpu = await backends.cpuSeconds();
    const t = performance.now();
    for (const r of written) await store.sessionHasScopes(r.end.sessionId);
    const probeMs = performance.now() - t;
    const probeCpu = (await backends.cpuSeconds()) - cpu;
    return {
      months,
      seal_ms_per_scope: placed.ms,
      seal_postgres_cpu_ms_per_scope: placed.cpuMs,
      seal_unplaced_ms_per_scope: unplaced.ms,
      seal_unplaced_postgres_cpu_ms_per_scope: unplaced.cpuMs,
      probe_ms: probeMs / SESSIONS,
      probe_postgres_cpu_ms: (probeCpu * 1000) / SESSIONS,
    };
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const months of MONTHS) rows.push(await measure(months));
  await dropSchema(args.database!, SCHEMA);
  const fixed = (n: number) => n.toFixed(2);
  console.log(`\nsealing one scope per transaction, and the session-id probe, by months kept (${SESSIONS} sessions each)`);
  console.log(
    table(
      ['months kept', 'seal ms/scope', 'seal Postgres CPU ms/scope', 'key without start: ms/scope', 'key without start: Postgres CPU ms/scope', 'probe ms', 'probe Postgres CPU ms'],
      rows.map((r) => [
        String(r.months),
        fixed(r.seal_ms_per_scope),
        fixed(r.seal_postgres_cpu_ms_per_scope),
        fixed(r.seal_unplaced_ms_per_scope),
        fixed(r.seal_unplaced_postgres_cpu_ms_per_scope),
        fixed(r.probe_ms),
        fixed(r.probe_postgres_cpu_ms),
      ]),
    ),
  );
  if (args['print-only']) return;
  writeResult('seal-months', { sessions: SESSIONS, rows });
  const first = rows[0]!;
  const last = rows.at(-1)!;
  if (rows.length > 1) updateSummary({ seal_cpu_ratio_most_to_fewest_months: Number((last.seal_postgres_cpu_ms_per_scope / first.seal_postgres_cpu_ms_per_scope).toFixed(3)) }, 'seal-months');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
