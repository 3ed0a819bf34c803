// Temporal (a local dev server unless TEMPORAL_ADDRESS is set) and the store (embedded unless DATABASE_URL is set).
import { join } from 'node:path';
import { createWorker, ensureTemporal, openStore, quietTemporalLogs } from 'scopetrail';
import { tools } from './tools.js';

export const TASK_QUEUE = 'starter';

export async function start() {
  quietTemporalLogs('ERROR');
  const temporal = await ensureTemporal();
  const store = await openStore(
    process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : { dataDir: join(process.cwd(), '.scopetrail', 'store') },
  );
  const worker = await createWorker({
    agents: require.resolve('./agents.js'),
    tools: Object.values(tools),
    store,
    taskQueue: TASK_QUEUE,
    address: temporal.address,
    namespace: temporal.namespace,
  });
  return { temporal, store, worker };
}
