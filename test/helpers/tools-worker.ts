/** A worker with the plugin and no workflows, serving tools on a task queue of its own for agents elsewhere. */
import { randomBytes } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ScopetrailPlugin } from '../../worker/plugin';
import type { ToolDefinition } from '../../activities/tool';
import type { TestRuntime } from './runtime';

export interface ToolsWorker {
  toolQueue: string;
  worker: Worker;
  /** Stops the worker, waits for it, and closes its connection; once, however often it is called. */
  stop(): Promise<void>;
}

export async function startToolsWorker(rt: TestRuntime, tools: ToolDefinition<any, any>[]): Promise<ToolsWorker> {
  const connection = await NativeConnection.connect({ address: rt.temporal.address });
  const toolQueue = `tools-${randomBytes(4).toString('hex')}`;
  const plugin = new ScopetrailPlugin({ store: rt.store, tools, spool: false, log: () => undefined });
  const worker = await Worker.create({ connection, taskQueue: toolQueue, plugins: [plugin] });
  const running = worker.run();
  let stopped: Promise<void> | undefined;
  const stop = async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => undefined);
    await connection.close();
  };
  return { toolQueue, worker, stop: () => (stopped ??= stop()) };
}
