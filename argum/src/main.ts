// A worker and a client in one process: run a session, print its scope tree, check it against Temporal.
import { ScopeClient, renderTree } from 'scopetrail';
import { TASK_QUEUE, start } from './runtime.js';
import { triage } from './agents.js';

async function main(): Promise<void> {
  const { temporal, store, worker } = await start();
  const running = worker.run();
  const client = await ScopeClient.connect({ store, taskQueue: TASK_QUEUE, address: temporal.address, namespace: temporal.namespace });
  try {
    const session = await client.startSession(triage, { input: { ticket: 'T-42' }, objective: 'triage ticket T-42' });
    console.log('result:', JSON.stringify(await session.result()));
    await worker.recorder.drain();
    console.log(renderTree(await client.scopeTree(session.sessionId)));
    const paged = await client.wasTouched(session.sessionId, 'api:pager');
    console.log(`was api:pager touched under ${session.sessionId}? ${paged.touched ? 'yes' : 'no'}`);
    const report = await client.reconcile(session.sessionId);
    console.log(`reconcile against Temporal history: ${report.differences.length} differences`);
  } finally {
    await client.close();
    await worker.shutdown();
    await running.catch(() => undefined);
    await store.close();
    await temporal.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
