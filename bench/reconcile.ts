/**
 * Reconcile cost: one session of 1 000 scopes (a fan-out of 999 delegations, each with
 * one tool call) run on the dev server, then reconciled against its Temporal histories
 * several times; also the "was it touched?" proof, which carries the same reconcile.
 *
 *   npx tsx bench/reconcile.ts [--scopes 1000] [--repeats 5]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensureTemporal } from '../devserver/dev-server';
import { ScopeClient } from '../client/scope-client';
import { createWorker } from '../worker/create-worker';
import { benchTools } from './workloads/scopetrail-tools';
import { dropSchema, freshStore } from './lib/fresh-store';
import { round, summarize } from './lib/stats';
import { table, updateSummary, writeResult } from './lib/report';
import { progress } from '../client/progress';

const { values: args } = parseArgs({
  options: {
    scopes: { type: 'string', default: '1000' },
    repeats: { type: 'string', default: '5' },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const SCOPES = Number(args.scopes);
const REPEATS = Number(args.repeats);
const SCHEMA = 'bench_reconcile';

async function main(): Promise<void> {
  const temporal = await ensureTemporal({ log: (l) => console.error(l) });
  const store = await freshStore(args.database!, SCHEMA);
  const connection = await NativeConnection.connect({ address: temporal.address });
  const taskQueue = `bench-reconcile-${randomBytes(3).toString('hex')}`;
  const worker = await createWorker({
    connection, store, taskQueue, agents: require.resolve('./workloads/scopetrail-agents'), tools: Object.values(benchTools), spool: false,
  });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = await ScopeClient.connect({ store, taskQueue, connection: clientConnection });

  const sessionStarted = Date.now();
  const session = await client.startSession('benchFanout', { input: { count: SCOPES - 1, parallel: 50 } });
  const bar = progress({ label: `running a ${SCOPES}-scope session`, total: SCOPES });
  const poll = setInterval(async () => {
    bar.set((await store.scopesOfSession(session.sessionId)).length);
  }, 1_000);
  await session.result();
  clearInterval(poll);
  bar.done();
  await worker.recorder.drain();
  const sessionSeconds = (Date.now() - sessionStarted) / 1000;
  const scopes = (await store.scopesOfSession(session.sessionId)).length;
  console.error(`  session ${session.sessionId}: ${scopes} scopes in ${sessionSeconds.toFixed(1)} s`);

  const reconcileTimes: number[] = [];
  const touchedTimes: number[] = [];
  let differences = -1;
  for (let i = 0; i < REPEATS; i++) {
    let t = performance.now();
    const report = await client.reconcile(session.sessionId);
    reconcileTimes.push((performance.now() - t) / 1000);
    differences = report.differences.length;
    t = performance.now();
    const touched = await client.wasTouched(session.sessionId, 'db:never-touched');
    touchedTimes.push((performance.now() - t) / 1000);
    console.error(`  repeat ${i + 1}/${REPEATS}: reconcile ${reconcileTimes.at(-1)!.toFixed(2)} s (${differences} differences), wasTouched ${touchedTimes.at(-1)!.toFixed(2)} s (complete: ${touched.complete})`);
  }
  const rec = summarize(reconcileTimes);
  const touched = summarize(touchedTimes);
  const path = writeResult('reconcile', {
    scopes,
    session_seconds: sessionSeconds,
    differences,
    reconcile_s: rec,
    was_touched_s: touched,
  });
  updateSummary({ reconcile_1000_scopes_s: round(rec.median, 2) }, 'reconcile');
  console.log(
    table(['measure', 'median s', 'min s', 'max s', 'scopes/s'], [
      ['reconcile', rec.median, rec.min, rec.max, scopes / rec.median],
      ['wasTouched (with reconcile)', touched.median, touched.min, touched.max, scopes / touched.median],
    ]),
  );
  console.log(`→ ${path}`);
  await worker.shutdown();
  await running;
  await clientConnection.close();
  await connection.close();
  await temporal.stop();
  await store.close();
  await dropSchema(args.database!, SCHEMA);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
