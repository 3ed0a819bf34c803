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
    const { memory: _memory, name: _name, ...workerOptions } = options;
    const worker = await createWorker({ ...workerOptions, store, taskQueue, address: temporal.address, namespace: temporal.namespace });
    const running = worker.run();
    const client = await ScopeClient.connect({ address: temporal.address, namespace: temporal.namespace, taskQueue, store });
    const interruption = whenInterrupted();
    try {
      return await Promise.race([run({ client, worker, store }), interruption.signalled]);
    } catch (err) {
      // Interrupted: the example's sessions would wait for good on a task queue no worker polls again.
      if (err instanceof ExampleInterruptedError) err.cleanedUp(await terminateRunsOf(client, taskQueue, err.signal));
      throw err;
    } finally {
      interruption.dispose();
      await client.close();
      await worker.shutdown();
      await running.catch(() => undefined);
    }
  } finally {
    await store.close();
    await temporal?.stop();
  }
}

/** Ctrl-C or SIGTERM while an example runs. */
export class ExampleInterruptedError extends Error {
  terminated = 0;
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.name = 'ExampleInterruptedError';
  }
  /** Says what was cleaned up once it has been. */
  cleanedUp(terminated: number): this {
    this.terminated = terminated;
    this.message = `interrupted by ${this.signal}: ${terminated} running workflow(s) of the example terminated`;
    return this;
  }
}

function whenInterrupted(): { signalled: Promise<never>; dispose(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<never>((_, reject) => {
    onSignal = (signal) => reject(new ExampleInterruptedError(signal));
  });
  signalled.catch(() => undefined);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signalled,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * Terminates every run still open on the example's own task queue (named for this process),
 * roots and delegations alike. Visibility may list a run a moment after it starts: it is
 * asked until it lists none, for a few seconds at most.
 */
async function terminateRunsOf(client: ScopeClient, taskQueue: string, signal: NodeJS.Signals): Promise<number> {
  const terminated = new Set<string>();
  const until = Date.now() + 5_000;
  try {
    for (let quiet = 0; quiet < 2 && Date.now() < until; ) {
      let found = 0;
      for await (const wf of client.temporal.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
        if (terminated.has(`${wf.workflowId}/${wf.runId}`)) continue;
        found += 1;
        await client.temporal.workflow
          .getHandle(wf.workflowId, wf.runId)
          .terminate(`the example run was interrupted (${signal})`)
          .then(() => terminated.add(`${wf.workflowId}/${wf.runId}`))
          // Closed meanwhile (a child its parent's end terminated): nothing left to do.
          .catch(() => undefined);
      }
      quiet = found === 0 ? quiet + 1 : 0;
      if (quiet < 2) await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    step(`could not terminate the example's workflows: ${err instanceof Error ? err.message : String(err)}`);
  }
  return terminated.size;
}
