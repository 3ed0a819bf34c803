/** `scopetrail worker` and `scopetrail dev`: a long-running worker, optionally with its own dev server. */
import { ensureTemporal } from '../devserver/dev-server';
import { openStore } from '../store';
import { createWorker } from '../worker/create-worker';
import { quietTemporalLogs } from '../worker/runtime-logging';
import type { ToolDefinition } from '../activities/tool';
import { CliUsageError, resolveModule, type CommandContext } from './cli-commands';

const EXAMPLE_AGENTS = '../examples/agents';

export async function startWorkerCommand(ctx: CommandContext, options: { startServer: boolean }): Promise<number> {
  const agentsFlag = ctx.flags.agents as string | undefined;
  const toolsFlag = ctx.flags.tools as string | undefined;
  if (Boolean(agentsFlag) !== Boolean(toolsFlag)) {
    throw new CliUsageError('give both --agents <module> and --tools <module>, or neither to run the example agents');
  }
  const agents = agentsFlag ? resolveModule(agentsFlag) : require.resolve(EXAMPLE_AGENTS);
  const tools = toolsFlag ? loadTools(resolveModule(toolsFlag)) : await exampleTools();
  quietTemporalLogs('WARN');
  const temporal = options.startServer
    ? await ensureTemporal({ log: (l) => ctx.out.err(l) })
    : { address: (ctx.flags.address as string) ?? process.env.TEMPORAL_ADDRESS ?? 'localhost:7233', stop: async () => undefined };
  const store = await openStore({
    url: (ctx.flags['database-url'] as string | undefined) ?? (process.env.DATABASE_URL || undefined),
    schema: ctx.flags.schema as string | undefined,
  });
  const taskQueue = (ctx.flags['task-queue'] as string | undefined) ?? 'scopetrail';
  const namespace = (ctx.flags.namespace as string | undefined) ?? 'default';
  const worker = await createWorker({ agents, tools, store, taskQueue, namespace, address: temporal.address });
  ctx.out.err(
    `scopetrail worker: ${worker.manifests.length} agents (${worker.manifests.map((m) => m.name).join(', ')}), ` +
      `${tools.length} tools, task queue "${taskQueue}", Temporal ${temporal.address}, store ${store.description}. Ctrl-C stops.`,
  );
  if (options.startServer) ctx.out.err(`  export TEMPORAL_ADDRESS=${temporal.address}`);
  const stop = () => void worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await worker.run();
  await worker.shutdown();
  await store.close();
  await temporal.stop();
  return 0;
}

function loadTools(path: string): ToolDefinition<any, any>[] {
  const mod = require(path) as Record<string, unknown>;
  const tools = Object.values(mod).filter(
    (v): v is ToolDefinition<any, any> => typeof v === 'object' && v !== null && 'spec' in v && 'activity' in v,
  );
  if (tools.length === 0) throw new CliUsageError(`tools module ${path} exports no tool made with defineTool()`);
  return tools;
}

async function exampleTools(): Promise<ToolDefinition<any, any>[]> {
  const { createExampleTools } = require('../examples/tools') as typeof import('../examples/tools');
  return Object.values(createExampleTools().tools);
}
