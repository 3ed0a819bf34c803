/**
 * What every example run needs: a Temporal server (the dev server, or TEMPORAL_ADDRESS),
 * a store (Postgres from DATABASE_URL, or embedded), a worker with the example's agents
 * and tools, and a client — torn down in reverse order whatever happens.
 */
import { ensureTemporal } from '../devserver/dev-server';
import { openStore } from '../store';
import { createWorker, type CreateWorkerOptions, type ScopetrailWorker } from '../worker/create-worker';
import { ScopeClient } from '../client/scope-client';
import { quietTemporalLogs } from '../worker/runtime-logging';
import type { Store } from '../store/types';

export const step = (msg: string) => console.error(`» ${msg}`);

export interface ExampleRuntime {
  client: ScopeClient;
  worker: ScopetrailWorker;
  store: Store;
}

export async function withExampleRuntime<T>(
  options: { memory?: boolean; name: string } & Pick<CreateWorkerOptions, 'agents' | 'tools' | 'llm' | 'model'>,
  run: (rt: ExampleRuntime) => Promise<T>,
): Promise<T> {
  // Tool failures are part of the examples; the tree shows them, the log need not.
  quietTemporalLogs('ERROR');
  // The store first: one another process holds fails the run before a dev server is started for nothing.
  const store = await openStore({ memory: process.env.DATABASE_URL ? undefined : options.memory });
  step(`Store: ${store.description}`);
  let temporal: Awaited<ReturnType<typeof ensureTemporal>> | undefined;
  try {
    step('Starting Temporal…');
    temporal = await ensureTemporal({ log: (l) => console.error(`  ${l}`) });
    step(`Temporal: ${temporal.description}`);
    const taskQueue = `scopetrail-${options.name}-${process.pid}`;
    step('Bundling agents and starting the worker…');
    const worker = await createWorker({ ...options, store, taskQueue, address: temporal.address, namespace: temporal.namespace });
    const running = worker.run();
    const client = await ScopeClient.connect({ address: temporal.address, namespace: temporal.namespace, taskQueue, store });
    try {
      return await run({ client, worker, store });
    } finally {
      await client.close();
      await worker.shutdown();
      await running.catch(() => undefined);
    }
  } finally {
    await store.close();
    await temporal?.stop();
  }
}
