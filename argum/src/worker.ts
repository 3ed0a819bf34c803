// A long-running worker: Ctrl-C stops it after the running tasks finish.
import { start } from './runtime.js';

async function main(): Promise<void> {
  const { temporal, store, worker } = await start();
  console.error(`worker on task queue "starter", Temporal ${temporal.address}. Ctrl-C stops.`);
  process.once('SIGINT', () => void worker.shutdown());
  process.once('SIGTERM', () => void worker.shutdown());
  await worker.run();
  await worker.shutdown();
  await store.close();
  await temporal.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
