/**
 * Crash harness: workers run as child processes (one, or several sharing the task
 * queue) and one of them is killed with SIGKILL at random moments while N example
 * sessions are in flight; each time a new worker takes its place.
 * When every session has finished, each one is reconciled against its Temporal
 * histories: nothing may be missing, duplicated or different.
 *
 *   npm run crash -- --sessions 100 --kills 10 --seed 42 [--workers 2]
 *
 * Needs TEMPORAL_ADDRESS (else a dev server is started) and DATABASE_URL (else the
 * local test database).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureTemporal } from '../../devserver/dev-server';
import { openStore } from '../../store';
import { ScopeClient } from '../../client/scope-client';
import { orchestrator } from '../../examples/agents';
import { prng } from '../helpers/prng';
import { dropSchema } from '../helpers/drop-schema';
import { spawnWorkerProcess, stopWorkerProcess } from '../helpers/worker-process';

export interface CrashOptions {
  sessions: number;
  kills: number;
  seed: number;
  databaseUrl: string;
  /** Worker processes polling the task queue at once (default 1). */
  workers?: number;
  log?: (line: string) => void;
}

export interface CrashReport {
  seed: number;
  sessions: number;
  /** Sessions whose workflow failed (e.g. a call lost its last attempt to a kill): a legitimate outcome. */
  failedSessions: number;
  kills: number;
  workersStarted: number;
  scopes: number;
  actions: number;
  runs: number;
  missing: number;
  extra: number;
  mismatched: number;
  seconds: number;
  differences: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runCrashHarness(o: CrashOptions): Promise<CrashReport> {
  const log = o.log ?? ((l: string) => console.error(l));
  const workers = o.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 16) throw new RangeError(`workers: use a whole number from 1 to 16, not ${o.workers}`);
  const random = prng(o.seed);
  const started = Date.now();
  log(`crash harness: seed ${o.seed}, ${o.sessions} sessions, ${o.kills} kills, ${workers} worker process(es)`);
  const temporal = await ensureTemporal({ log });
  let clean = false;
  const schema = `crash_${o.seed}_${Date.now().toString(36)}`;
  const store = await openStore({ url: o.databaseUrl, schema });
  const taskQueue = `crash-${o.seed}-${Date.now().toString(36)}`;
  const spoolDir = mkdtempSync(join(tmpdir(), 'scopetrail-crash-spool-'));
  let workersStarted = 0;

  const startWorker = (): Promise<ChildProcess> => {
    workersStarted += 1;
    return spawnWorkerProcess({ address: temporal.address, databaseUrl: o.databaseUrl, schema, taskQueue, env: { SCOPETRAIL_SPOOL_DIR: spoolDir } });
  };

  const pool = await Promise.all(Array.from({ length: workers }, () => startWorker()));
  const client = await ScopeClient.connect({ store, address: temporal.address, namespace: temporal.namespace, taskQueue });
  try {
    const handles = await Promise.all(
      Array.from({ length: o.sessions }, (_, i) =>
        client.startSession(orchestrator, { input: { question: `crash ${o.seed} #${i}` }, sessionId: `crash-${o.seed}-${taskQueue}-${i}` }),
      ),
    );
    let done = 0;
    let failedSessions = 0;
    // A session may legitimately fail (a kill can cost a call its last allowed attempt);
    // what must hold is that its record is complete, whatever the outcome.
    const results = Promise.all(
      handles.map((h) =>
        h.result().then(
          () => (done += 1),
          () => {
            done += 1;
            failedSessions += 1;
          },
        ),
      ),
    );

    for (let k = 1; k <= o.kills; k++) {
      await sleep(200 + random() * 2500);
      const victim = Math.floor(random() * pool.length);
      await stopWorkerProcess(pool[victim]!, 'SIGKILL');
      log(`  kill ${k}/${o.kills} (worker ${victim + 1}/${pool.length}) at ${((Date.now() - started) / 1000).toFixed(1)} s — sessions finished: ${done}/${o.sessions}`);
      await sleep(random() * 1000);
      pool[victim] = await startWorker();
    }
    await results;
    log(`  all ${o.sessions} sessions finished (${failedSessions} of them failed) at ${((Date.now() - started) / 1000).toFixed(1)} s; stopping the workers gracefully`);
    await Promise.all(pool.map((w) => stopWorkerProcess(w)));

    const report: CrashReport = {
      seed: o.seed, sessions: o.sessions, failedSessions, kills: o.kills, workersStarted, scopes: 0, actions: 0, runs: 0,
      missing: 0, extra: 0, mismatched: 0, seconds: 0, differences: [],
    };
    for (const [i, h] of handles.entries()) {
      const r = await client.reconcile(h.sessionId);
      report.runs += r.runs;
      report.scopes += r.stored.scopes;
      report.actions += r.stored.actions;
      for (const d of r.differences) {
        report[d.kind] += 1;
        report.differences.push(`${d.kind} ${d.record} ${d.id}: ${d.detail}`);
      }
      if ((i + 1) % 10 === 0) log(`  reconciled ${i + 1}/${handles.length}`);
    }
    report.seconds = Math.round((Date.now() - started) / 100) / 10;
    // A clean run leaves nothing behind; a run with differences keeps its schema to inspect.
    clean = report.missing + report.extra + report.mismatched === 0;
    if (!clean) log(`  differences found: the records stay in schema ${schema}`);
    return report;
  } finally {
    for (const w of pool) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await client.close();
    await store.close();
    // A clean run leaves nothing behind; a run with differences keeps its schema to inspect.
    if (clean) await dropSchema(o.databaseUrl, schema);
    await temporal.stop();
  }
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { sessions: { type: 'string' }, kills: { type: 'string' }, seed: { type: 'string' }, workers: { type: 'string' }, json: { type: 'boolean' } },
  });
  const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  runCrashHarness({
    sessions: Number(values.sessions ?? 20),
    kills: Number(values.kills ?? 5),
    workers: Number(values.workers ?? 1),
    seed,
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
  }).then(
    (r) => {
      if (values.json) console.log(JSON.stringify(r, null, 2));
      else {
        console.log(`seed ${r.seed}: ${r.sessions} sessions (${r.failedSessions} failed), ${r.kills} kills (${r.workersStarted} workers), ${r.runs} workflow runs, ` +
          `${r.scopes} scopes + ${r.actions} actions stored; missing ${r.missing}, extra ${r.extra}, mismatched ${r.mismatched}; ${r.seconds} s`);
        for (const d of r.differences.slice(0, 50)) console.log(`  ${d}`);
      }
      process.exitCode = r.missing + r.extra + r.mismatched === 0 ? 0 : 3;
    },
    (err) => {
      console.error(`crash harness failed: ${err instanceof Error ? err.stack : String(err)}`);
      process.exitCode = 1;
    },
  );
}
