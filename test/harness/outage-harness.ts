/**
 * Outage harness: the worker's connection to Postgres goes through a loopback proxy
 * that is cut for a while in the middle of N sessions, then restored. Records wait in
 * the worker's disk spool; afterwards every session is reconciled against Temporal.
 *
 *   npm run outage -- --sessions 50 --outage-ms 8000 --seed 1
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureTemporal } from '../../devserver/dev-server';
import { openStore } from '../../store';
import { createWorker } from '../../worker/create-worker';
import { quietTemporalLogs } from '../../worker/runtime-logging';
import { ScopeClient } from '../../client/scope-client';
import { orchestrator } from '../../examples/agents';
import { createExampleTools } from '../../examples/tools';
import { exampleLlm } from '../../examples/llm-script';
import { proxyDatabase } from '../helpers/tcp-proxy';
import { TEST_DATABASE_URL } from '../helpers/runtime';
import { prng } from '../helpers/prng';
import { dropSchema } from '../helpers/drop-schema';

export interface OutageReport {
  seed: number;
  sessions: number;
  outageMs: number;
  /** Sessions that finished while the database was unreachable. */
  finishedDuringOutage: number;
  spooledRecords: number;
  scopes: number;
  actions: number;
  missing: number;
  extra: number;
  mismatched: number;
  seconds: number;
}

export async function runOutageHarness(o: { sessions: number; outageMs: number; seed: number; log?: (l: string) => void }): Promise<OutageReport> {
  const log = o.log ?? ((l: string) => console.error(l));
  const random = prng(o.seed);
  quietTemporalLogs('ERROR');
  const started = Date.now();
  const temporal = await ensureTemporal({ log });
  const { proxy, url } = await proxyDatabase(TEST_DATABASE_URL);
  let clean = false;
  const schema = `outage_${o.seed}_${Date.now().toString(36)}`;
  const store = await openStore({ url, schema });
  const taskQueue = `outage-${o.seed}-${Date.now().toString(36)}`;
  const worker = await createWorker({
    agents: require.resolve('../../examples/agents'),
    tools: Object.values(createExampleTools({ latencyMs: 100 }).tools),
    llm: exampleLlm(),
    store,
    taskQueue,
    address: temporal.address,
    spool: { dir: mkdtempSync(join(tmpdir(), 'scopetrail-outage-spool-')) },
    recorder: { drainEveryMs: 250, onError: () => undefined },
  });
  const running = worker.run();
  const client = await ScopeClient.connect({ store, address: temporal.address, taskQueue });
  try {
    log(`outage harness: seed ${o.seed}, ${o.sessions} sessions, outage ${o.outageMs} ms`);
    let done = 0;
    let doneDuring = 0;
    let down = false;
    const handles = await Promise.all(
      Array.from({ length: o.sessions }, (_, i) => client.startSession(orchestrator, { input: { question: `outage ${o.seed} #${i}` } })),
    );
    const results = Promise.all(
      handles.map((h) =>
        h.result().then(() => {
          done += 1;
          if (down) doneDuring += 1;
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 300 + random() * 1500));
    down = true;
    await proxy.cut();
    log(`  database cut at ${((Date.now() - started) / 1000).toFixed(1)} s (sessions finished: ${done})`);
    await new Promise((r) => setTimeout(r, o.outageMs));
    down = false;
    await proxy.restore();
    log(`  database back at ${((Date.now() - started) / 1000).toFixed(1)} s (sessions finished: ${done}, ${doneDuring} of them during the outage; ${worker.recorder.spooled} records spooled)`);
    await results;
    for (let i = 0; i < 200 && !(await worker.recorder.drainSpool()); i++) await new Promise((r) => setTimeout(r, 100));
    await worker.recorder.drain();
    const report: OutageReport = {
      seed: o.seed, sessions: o.sessions, outageMs: o.outageMs, finishedDuringOutage: doneDuring,
      spooledRecords: worker.recorder.spooled, scopes: 0, actions: 0, missing: 0, extra: 0, mismatched: 0, seconds: 0,
    };
    for (const h of handles) {
      const r = await client.reconcile(h.sessionId);
      report.scopes += r.stored.scopes;
      report.actions += r.stored.actions;
      for (const d of r.differences) report[d.kind] += 1;
    }
    report.seconds = Math.round((Date.now() - started) / 100) / 10;
    // A clean run leaves nothing behind; a run with differences keeps its schema to inspect.
    clean = report.missing + report.extra + report.mismatched === 0;
    if (!clean) log(`  differences found: the records stay in schema ${schema}`);
    return report;
  } finally {
    await client.close();
    await worker.shutdown();
    await running.catch(() => undefined);
    await store.close();
    await proxy.close();
    // A clean run leaves nothing behind; a run with differences keeps its schema to inspect.
    if (clean) await dropSchema(TEST_DATABASE_URL, schema);
    await temporal.stop();
  }
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { sessions: { type: 'string' }, 'outage-ms': { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log('usage: npm run outage -- [--sessions N (20)] [--outage-ms MS (5000)] [--seed S (random)]');
    process.exit(0);
  }
  const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  runOutageHarness({ sessions: Number(values.sessions ?? 20), outageMs: Number(values['outage-ms'] ?? 5000), seed }).then(
    (r) => {
      console.log(
        `seed ${r.seed}: ${r.sessions} sessions, database down ${r.outageMs} ms, ${r.finishedDuringOutage} sessions finished during the outage, ` +
          `${r.spooledRecords} records spooled; ${r.scopes} scopes + ${r.actions} actions stored; missing ${r.missing}, extra ${r.extra}, mismatched ${r.mismatched}; ${r.seconds} s`,
      );
      process.exitCode = r.missing + r.extra + r.mismatched === 0 ? 0 : 3;
    },
    (err) => {
      console.error(`outage harness failed: ${err instanceof Error ? err.stack : String(err)}`);
      process.exitCode = 1;
    },
  );
}
