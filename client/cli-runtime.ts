/** `scopetrail worker` and `scopetrail dev`: a long-running worker, optionally with its own dev server. */
import { ensureTemporal } from '../devserver/dev-server';
import { openStore } from '../store';
import { EmbeddedFolderError } from '../store/embedded-folder';
import { WorkerOptionsSchema, createWorker } from '../worker/create-worker';
import { quietTemporalLogs } from '../worker/runtime-logging';
import type { ToolDefinition } from '../activities/tool';
import { LlmConfigError, describeLlmProvider, llmProviderFromEnv, modelProviderFromEnv } from '../activities/llm-env';
import type { LlmProvider } from '../activities/llm';
import { CliUsageError, dataConverterOf, givenDataConverter, namespaceOf, requireModule, resolveModule, storeOptions, type CommandContext } from './cli-context';
import { DeploymentOption } from '../worker/deployment';
import { terminalJson } from './visible-text';
import { toolsOfModule, type ToolsModule } from './tools-module';

const EXAMPLE_AGENTS = '../examples/agents';

export async function startWorkerCommand(ctx: CommandContext, options: { startServer: boolean }): Promise<number> {
  const agentsFlag = ctx.flags.agents as string | undefined;
  const toolsFlag = ctx.flags.tools as string | undefined;
  if (Boolean(agentsFlag) !== Boolean(toolsFlag)) {
    throw new CliUsageError('give both --agents <module> and --tools <module>, or neither to run the example agents');
  }
  const agents = agentsFlag ? resolveModule(agentsFlag, '--agents') : require.resolve(EXAMPLE_AGENTS);
  // Loaded here (the worker reads the agents' manifests from it) so that an error names the flag.
  if (agentsFlag) requireModule('--agents', agents);
  const toolsModule = toolsFlag ? resolveModule(toolsFlag, '--tools') : undefined;
  const llm = llmFromEnv(agentsFlag === undefined);
  if (ctx.flags.otel) checkOtlpVariables();
  const deployment = deploymentFlags(ctx);
  const storeSettings = storeOptions(ctx);
  const taskQueue = taskQueueFlag(ctx);
  const namespace = namespaceOf(ctx);
  const converter = dataConverterOf(ctx, namespace);
  quietTemporalLogs('WARN');
  // The store first: one another process holds fails the start before a dev server is started for nothing.
  const store = await openStore({
    ...storeSettings,
    // The worker prepares the store itself, once it answers: a store outage must not stop a start.
    migrate: false,
  }).catch((err: unknown) => {
    if (err instanceof EmbeddedFolderError && storeSettings.dataDir !== undefined) throw new CliUsageError(`invalid --data-dir: ${err.message}`);
    throw err;
  });
  // After the store, whose failure would otherwise leave the module's MCP connections open.
  const served = await (toolsModule ? loadTools(toolsModule) : exampleTools().then((tools) => ({ tools, close: async () => undefined }))).catch(async (err: unknown) => {
    await store.close().catch(() => undefined);
    throw err;
  });
  const tools = served.tools;
  // What started is stopped when a later step fails: a dev server left running keeps the process alive.
  let temporal: { address: string; stop(): Promise<void> } | undefined;
  let worker: Awaited<ReturnType<typeof createWorker>>;
  try {
    temporal = options.startServer
      ? await ensureTemporal({ namespace, log: (l) => ctx.out.err(l) })
      : { address: (ctx.flags.address as string) ?? process.env.TEMPORAL_ADDRESS ?? 'localhost:7233', stop: async () => undefined };
    worker = await createWorker({
      agents,
      tools,
      llm,
      // Model-driven agents' steps: the same provider settings as llm() (scripted unless configured).
      model: modelProviderFromEnv(),
      store,
      taskQueue,
      namespace,
      address: temporal.address,
      // Spans stream to the collector the standard OTEL_* variables name, as scopes and actions finish.
      ...(ctx.flags.otel ? { otel: true } : {}),
      ...(deployment ? { deployment } : {}),
      // A custom payload converter is bundled with the agents, as Worker.create does with its path.
      ...givenDataConverter(converter),
    });
  } catch (err) {
    await store.close().catch(() => undefined);
    await temporal?.stop().catch(() => undefined);
    await served.close();
    throw err;
  }
  ctx.out.err(
    `scopetrail ${options.startServer ? 'dev' : 'worker'}: ${worker.manifests.length} agents (${worker.manifests.map((m) => m.name).join(', ')}), ` +
      `${tools.length} tools, LLM ${describeLlmProvider(llm)}, task queue "${taskQueue}", Temporal ${temporal.address}, ` +
      (deployment ? `Worker Deployment "${deployment.name}" build "${deployment.buildId}" (pinned sessions), ` : '') +
      `store ${store.description} schema "${storeSettings.schema ?? 'scopetrail'}". Ctrl-C stops.`,
  );
  if (options.startServer) ctx.out.err(`  export TEMPORAL_ADDRESS=${temporal.address}`);
  // A long-running command's --json is one JSON line per event (ready, stopped) on stdout.
  const event = (body: Record<string, unknown>) => {
    if (ctx.flags.json) ctx.out.log(terminalJson(body));
  };
  // One shutdown whether a signal or the worker itself ends the run: a second would close a closed connection.
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= worker.shutdown());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Announced only once a signal can stop it cleanly: a script may send one as soon as it reads this.
  event({
    event: 'ready',
    agents: worker.manifests.map((m) => ({ name: m.name, version: m.version })),
    tools: tools.map((t) => t.spec.name),
    llm: { provider: llm.name, defaultModel: llm.defaultModel },
    taskQueue,
    namespace,
    temporalAddress: temporal.address,
    devServer: options.startServer,
    store: store.description,
    schema: storeSettings.schema ?? 'scopetrail',
    ...(deployment ? { deployment: { name: deployment.name, buildId: deployment.buildId } } : {}),
  });
  try {
    await worker.run();
  } finally {
    await stop();
    await served.close();
    await store.close();
    await temporal.stop();
  }
  event({ event: 'stopped' });
  return 0;
}

/** `--task-queue NAME`, checked as createWorker checks it, so that a bad one is a usage error naming the flag. */
function taskQueueFlag(ctx: CommandContext): string {
  const given = ctx.flags['task-queue'] as string | undefined;
  if (given === undefined) return 'scopetrail';
  const parsed = WorkerOptionsSchema.shape.taskQueue.safeParse(given);
  if (!parsed.success) {
    const why = given === '' ? 'must not be empty' : given.length > 200 ? 'too long (at most 200 characters)' : parsed.error.issues[0]?.message;
    throw new CliUsageError(`invalid --task-queue ${JSON.stringify(given)}: ${why}`);
  }
  return given;
}

/** `--deployment NAME --build-id ID`: a versioned worker (both or neither). */
function deploymentFlags(ctx: CommandContext): { name: string; buildId: string } | undefined {
  const name = ctx.flags.deployment as string | undefined;
  const buildId = ctx.flags['build-id'] as string | undefined;
  if (name === undefined && buildId === undefined) return undefined;
  if (!name || !buildId) throw new CliUsageError('give both --deployment <name> and --build-id <id> for a versioned worker, or neither');
  const parsed = DeploymentOption.safeParse({ name, buildId });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const [option, given] = issue?.path[0] === 'name' ? ['--deployment', name] : ['--build-id', buildId];
    throw new CliUsageError(`invalid ${option} ${JSON.stringify(given)}: ${issue?.message}`);
  }
  return { name, buildId };
}

/** The example agents get their scripted answers unless a real provider is configured. */
function llmFromEnv(example: boolean): LlmProvider {
  try {
    if (!example) return llmProviderFromEnv();
    const { exampleLlm } = require('../examples/llm-script') as typeof import('../examples/llm-script');
    return llmProviderFromEnv(process.env, { scripted: exampleLlm });
  } catch (err) {
    if (err instanceof LlmConfigError) throw new CliUsageError(err.message);
    throw err;
  }
}

/**
 * With --otel, a malformed OTLP variable is a usage error said before the store opens or a dev
 * server starts (the worker would refuse it too, but later and as a failure).
 */
function checkOtlpVariables(): void {
  const { OtelExportError, resolveTracesEndpoint } = require('./otel-export') as typeof import('./otel-export');
  const { OtlpVariableError, readOtlpVariables } = require('./otlp-env') as typeof import('./otlp-env');
  try {
    resolveTracesEndpoint(undefined);
    readOtlpVariables();
  } catch (err) {
    if (err instanceof OtlpVariableError) throw new CliUsageError(err.message, err.field);
    if (err instanceof OtelExportError) throw new CliUsageError(err.message);
    throw err;
  }
}

async function loadTools(path: string): Promise<ToolsModule> {
  return toolsOfModule(path, requireModule('--tools', path));
}

async function exampleTools(): Promise<ToolDefinition<any, any>[]> {
  const { createExampleTools } = require('../examples/tools') as typeof import('../examples/tools');
  return Object.values(createExampleTools().tools);
}
