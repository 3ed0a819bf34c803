/**
 * A scopetrail worker running the benchmark agents in its own process (the memory and
 * scale-out benchmarks fork it). Arguments: address, task queue, database URL, schema,
 * and optionally a file holding a pre-built workflow bundle, so several workers started
 * together do not each bundle the same code.
 */
import { readFileSync } from 'node:fs';
import { NativeConnection } from '@temporalio/worker';
import { createWorker } from '../../worker/create-worker';
import { openPostgresStore } from '../../store/postgres';
import { quietTemporalLogs } from '../../worker/runtime-logging';
import { benchTools } from '../workloads/scopetrail-tools';

async function main(): Promise<void> {
  const [address, taskQueue, database, schema, bundleFile] = process.argv.slice(2);
  // The SDK's state-change lines of several workers would bury the benchmark's own output.
  quietTemporalLogs('WARN');
  const store = openPostgresStore(database!, { schema });
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({
    connection, store, taskQueue: taskQueue!, agents: require.resolve('../workloads/scopetrail-agents'), tools: Object.values(benchTools), spool: false,
    ...(bundleFile ? { workflowBundle: { code: readFileSync(bundleFile, 'utf8') } } : {}),
  });
  const running = worker.run();
  process.send?.('ready');
  process.on('SIGTERM', () => void worker.shutdown());
  await running;
  await store.close();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
