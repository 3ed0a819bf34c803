/** The worker process the memory benchmark watches: a scopetrail worker running the benchmark agents. */
import { NativeConnection } from '@temporalio/worker';
import { createWorker } from '../../worker/create-worker';
import { openPostgresStore } from '../../store/postgres';
import { benchTools } from '../workloads/scopetrail-tools';

async function main(): Promise<void> {
  const [address, taskQueue, database, schema] = process.argv.slice(2);
  const store = openPostgresStore(database!, { schema });
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({
    connection, store, taskQueue: taskQueue!, agents: require.resolve('../workloads/scopetrail-agents'), tools: Object.values(benchTools), spool: false,
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
