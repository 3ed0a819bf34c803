/**
 * createWorker: a Temporal worker that runs only scopetrail agents and tools, with its
 * own connection. It is ScopetrailPlugin on a plain `Worker.create`; a project that
 * already has workers adds the plugin to them instead.
 */
import { NativeConnection, Worker, bundleWorkflowCode, type BundleOptions, type WorkflowBundle } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { z } from 'zod';
import type { Manifest } from '../cim/schemas';
import { fieldOf, invalidField, unknownOption } from '../cim/invalid-field';
import { TemporalUnreachableError, isUnreachable } from '../client/temporal-reachable';
import { ScopetrailConfigError } from '../cim/errors';
import { settlesWithin } from './settles';
import { PLUGIN_OPTION_KEYS, ScopetrailPlugin, checkPluginOptions, SHARED_SANDBOX_MODULES, WORKFLOW_INTERCEPTORS_MODULE, quietBundlerLogger, type ScopetrailPluginOptions } from './plugin';
import type { Recorder } from './recorder';
import { loadManifests } from './manifests';
import { checkNamespace } from './namespace-check';
import { DEFAULT_NAMESPACE, namespaceFromEnv } from '../cim/temporal-namespace';
import { TemporalAddressOption, addressFromEnv } from '../cim/temporal-address';

export { loadManifests };

export const WorkerOptionsSchema = z.object({
  agents: z.string().min(1, 'give the path of the module that exports your agents'),
  taskQueue: z.string().min(1).max(200),
  // Default: the store's (openStore's namespace, itself TEMPORAL_NAMESPACE or `default`); another is refused.
  namespace: z.string().min(1).optional(),
  address: TemporalAddressOption.optional(),
  maxCachedWorkflows: z.number().int().min(0).optional(),
  maxConcurrentActivityTaskExecutions: z.number().int().min(1).optional(),
});

export interface CreateWorkerOptions extends z.input<typeof WorkerOptionsSchema>, Omit<ScopetrailPluginOptions, 'agents' | 'tools'> {
  tools: NonNullable<ScopetrailPluginOptions['tools']>;
  connection?: NativeConnection;
  /** A pre-built bundle of `agents` (see bundleAgents), to skip bundling per worker. */
  workflowBundle?: WorkflowBundle;
  /**
   * The worker's data converter, e.g. with an encrypting payload codec. The clients that
   * start sessions and read their histories need the same codecs (docs/encryption.md).
   */
  dataConverter?: DataConverter;
}

export interface ScopetrailWorker {
  readonly worker: Worker;
  readonly manifests: Manifest[];
  readonly recorder: Recorder;
  run(): Promise<void>;
  /** Stops polling, waits for running tasks and for every record to be committed. */
  shutdown(): Promise<void>;
}

/** Every option createWorker takes: its own, the plugin's, and the Temporal parts it passes on. */
const CREATE_WORKER_KEYS = [...new Set([...Object.keys(WorkerOptionsSchema.shape), ...PLUGIN_OPTION_KEYS, 'connection', 'workflowBundle', 'dataConverter'])];

export async function createWorker(options: CreateWorkerOptions): Promise<ScopetrailWorker> {
  const unknown = unknownOption('createWorker', options, CREATE_WORKER_KEYS);
  if (unknown) throw new ScopetrailConfigError(unknown.message, unknown.field);
  const parsed = WorkerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ScopetrailConfigError(invalidField('createWorker', parsed.error, 'options'), fieldOf(parsed.error, 'options'));
  }
  const o = { ...parsed.data, namespace: workerNamespace(parsed.data.namespace, options.store) };
  const { agents: _agents, taskQueue: _tq, namespace: _ns, address: _address, maxCachedWorkflows: _cache, maxConcurrentActivityTaskExecutions: _activities, connection: given, workflowBundle, dataConverter, ...pluginOptions } = options;
  // Checked here too, so that an error names the function the user called.
  checkPluginOptions({ ...pluginOptions, agents: o.agents }, 'createWorker');
  const plugin = new ScopetrailPlugin({ ...pluginOptions, agents: o.agents });
  const address = o.address ?? (given ? 'localhost:7233' : defaultAddress());
  const ownConnection = given
    ? undefined
    : await NativeConnection.connect({ address }).catch((err: unknown) => {
        // The SDK's TransportError names no option: say which address, and where it came from.
        if (!isUnreachable(err)) throw err;
        throw new TemporalUnreachableError(address, String((err as Error).message ?? err).split('\n')[0]!, 'start it, or give createWorker the address of one (address, or TEMPORAL_ADDRESS)');
      });
  const connection = given ?? ownConnection!;
  let worker: Worker;
  try {
    await checkNamespace(connection, o.namespace);
    worker = await Worker.create({
      connection,
      namespace: o.namespace,
      taskQueue: o.taskQueue,
      ...(workflowBundle ? { workflowBundle } : { workflowsPath: o.agents }),
      plugins: [plugin],
      ...(dataConverter ? { dataConverter } : {}),
      ...(o.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: o.maxCachedWorkflows }),
      ...(o.maxConcurrentActivityTaskExecutions === undefined ? {} : { maxConcurrentActivityTaskExecutions: o.maxConcurrentActivityTaskExecutions }),
    });
  } catch (err) {
    await ownConnection?.close();
    throw err;
  }
  const recorder = plugin.recorderFor(o.namespace, o.taskQueue)!;

  let running: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  // The connection createWorker opened is closed when the worker stops, however it is stopped
  // (SIGINT and SIGTERM stop it too): left open, it would keep the process alive.
  const closeOwn = () => (closing ??= ownConnection ? ownConnection.close().catch(() => undefined) : Promise.resolve());
  return {
    worker,
    manifests: loadManifests(o.agents),
    recorder,
    run() {
      running ??= worker.run().finally(closeOwn);
      return running;
    },
    // Once: a signal handler and the code after run() may both ask, and the connection closes once.
    shutdown() {
      stopping ??= (async () => {
        // A worker that never ran still holds its connection (and its recorder): it is run
        // and stopped at once, which releases both through the plugin's usual path.
        running ??= worker.run().finally(closeOwn);
        // Until the plugin has started the recorder (migrations, a predecessor's spool) the
        // SDK's worker is not running yet and cannot be told to stop: asked then, the stop
        // would be lost and the worker would run on. It is asked once it runs.
        while (worker.getState() === 'INITIALIZED' && !(await settlesWithin(running, 20)));
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
        await closeOwn();
      })();
      return stopping;
    },
  };
}

/**
 * Bundles the agents module once, e.g. for several workers in one test run, or for
 * production ahead of time (write `code` to a file and give workers `workflowBundle: { codePath }`).
 * `workflowsPath` may be an app's own workflows module that exports the agents beside its
 * other workflows; `options` are bundleWorkflowCode's others (`payloadConverterPath`, the
 * app's `workflowInterceptorModules`, `plugins`, ...), to which scopetrail's interceptors and
 * shared modules are added. Needs no store, key or plugin: nothing is opened or written.
 */
export function bundleAgents(workflowsPath: string, options: Omit<BundleOptions, 'workflowsPath'> = {}): Promise<WorkflowBundle> {
  if (typeof workflowsPath !== 'string' || workflowsPath === '') {
    throw new ScopetrailConfigError('bundleAgents: give workflowsPath, the path of the module that exports your agents (and any other workflows)', 'workflowsPath');
  }
  if (options === null || typeof options !== 'object') throw new ScopetrailConfigError('bundleAgents: options must be an object of bundleWorkflowCode options', 'options');
  if ('workflowsPath' in options) {
    throw new ScopetrailConfigError('bundleAgents: give workflowsPath as the first argument, not in options', 'options.workflowsPath');
  }
  return bundleWorkflowCode({
    logger: quietBundlerLogger,
    ...options,
    workflowsPath,
    // After the app's own, as the plugin adds them to a worker's.
    workflowInterceptorModules: [...new Set([...(options.workflowInterceptorModules ?? []), WORKFLOW_INTERCEPTORS_MODULE])],
    preloadModules: [...new Set([...(options.preloadModules ?? []), ...SHARED_SANDBOX_MODULES])],
  });
}

/**
 * The namespace a worker serves. Its rows are filed under it, while the store reads (its
 * sweeps, repairs and handoffs) the namespace openStore was given: a worker of another would
 * write rows its own store then never reads, so that is refused; without one given it takes the
 * store's. A store that does not say: TEMPORAL_NAMESPACE, else `default`.
 */
function workerNamespace(given: string | undefined, store: { namespace?: unknown } | undefined): string {
  const stores = typeof store?.namespace === 'string' ? store.namespace : undefined;
  if (given !== undefined && stores !== undefined && given !== stores) {
    throw new ScopetrailConfigError(
      `createWorker: invalid field "namespace": the store reads the records of namespace "${stores}", not "${given}": open the store with the same namespace ` +
        `(openStore({ namespace: ${JSON.stringify(given)} }) or TEMPORAL_NAMESPACE), or leave namespace out to use the store's`,
      'namespace',
    );
  }
  if (given !== undefined || stores !== undefined) return (given ?? stores)!;
  try {
    return namespaceFromEnv('createWorker', process.env) ?? DEFAULT_NAMESPACE;
  } catch (err) {
    throw new ScopetrailConfigError((err as Error).message, 'TEMPORAL_NAMESPACE');
  }
}

export function defaultAddress(): string {
  return addressFromEnv('createWorker') ?? 'localhost:7233';
}
