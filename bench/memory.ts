/**
 * Memory: a scopetrail worker in its own process under sustained load (short sessions,
 * as many in flight as the dev server completes steadily) for --minutes; its resident
 * set size is sampled every 5 s. Growth compares the last minute with the first minute
 * after a one-minute warm-up.
 *
 *   npx tsx bench/memory.ts [--minutes 10] [--concurrency 16]
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { ensureTemporal } from '../devserver/dev-server';
import { ScopeClient } from '../client/scope-client';
import { SHORT_ACTIONS } from './workloads/shape';
import { dropSchema, freshStore } from './lib/fresh-store';
import { round, summarize } from './lib/stats';
import { table, updateSummary, writeResult } from './lib/report';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const MINUTES = Number(args.minutes);
const SCHEMA = 'bench_memory';

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function main(): Promise<void> {
  const temporal = await ensureTemporal({ log: (l) => console.error(l) });
  const store = await freshStore(args.database!, SCHEMA);
  const taskQueue = `bench-memory-${randomBytes(3).toString('hex')}`;
  const child = fork(require.resolve('./lib/memory-worker'), [temporal.address, taskQueue, args.database!, SCHEMA], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
  const connection = await Connection.connect({ address: temporal.address });
  const client = await ScopeClient.connect({ store, taskQueue, connection });

  const samples: Array<{ t: number; rssMiB: number; sessions: number }> = [];
  let sessions = 0;
  let failures = 0;
  const started = Date.now();
  const end = started + MINUTES * 60_000;
  const sampler = setInterval(() => {
    const s = { t: (Date.now() - started) / 1000, rssMiB: rssMiB(child.pid!), sessions };
    samples.push(s);
    if (samples.length % 6 === 0) {
      console.error(`  ${s.t.toFixed(0)} s: worker RSS ${s.rssMiB.toFixed(0)} MiB, ${sessions} sessions (${(sessions / s.t).toFixed(1)}/s), ${failures} failed`);
    }
  }, 5_000);
  await Promise.all(
    Array.from({ length: Number(args.concurrency) }, async (_, lane) => {
      let i = 0;
      while (Date.now() < end) {
        try {
          const s = await client.startSession('benchShort', { input: { query: `m-${lane}-${i++}` } });
          await s.result();
          sessions += 1;
        } catch {
          failures += 1;
        }
      }
    }),
  );
  clearInterval(sampler);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));

  // Warm-up (bundle, JIT, pools) is the first minute; compare the next minute with the last.
  const warm = samples.filter((s) => s.t > 60 && s.t <= 120).map((s) => s.rssMiB);
  const last = samples.filter((s) => s.t > samples.at(-1)!.t - 60).map((s) => s.rssMiB);
  const first = summarize(warm.length ? warm : samples.slice(0, 3).map((s) => s.rssMiB));
  const final = summarize(last);
  const growth = ((final.median - first.median) / first.median) * 100;
  const elapsed = samples.at(-1)?.t ?? 0;
  const path = writeResult('memory', {
    minutes: MINUTES,
    concurrency: Number(args.concurrency),
    sessions,
    failures,
    sessions_per_s: sessions / elapsed,
    actions_per_s: (sessions * SHORT_ACTIONS) / elapsed,
    rss_after_warmup_mib: first,
    rss_last_minute_mib: final,
    rss_growth_pct: growth,
    samples,
  });
  updateSummary({ worker_rss_growth_pct: round(growth, 2) }, 'memory');
  console.log(
    table(['window', 'median MiB', 'min MiB', 'max MiB'], [
      ['minute 2 (after warm-up)', first.median, first.min, first.max],
      ['last minute', final.median, final.min, final.max],
    ]),
  );
  console.log(`${sessions} sessions (${(sessions / elapsed).toFixed(1)}/s), ${failures} failed; RSS growth ${growth.toFixed(2)}% → ${path}`);
  await connection.close();
  await temporal.stop();
  await store.close();
  await dropSchema(args.database!, SCHEMA);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
