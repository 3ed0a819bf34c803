/**
 * createWorker: wires agents (workflows), tools (activities), the scope interceptors
 * and the recorder into one Temporal worker, and registers the agents' manifests in
 * the store so roles and drift can be computed later.
 */
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { z } from 'zod';
import type { Manifest } from '../cim/schemas';
import type { Store } from '../store/types';
import type { ToolDefinition } from '../activities/tool';
import { ScriptedProvider, defineLlm, type LlmProvider } from '../activities/llm';
import { defineModelStep, type ModelProvider } from '../activities/model-step';
import { ScriptedModelProvider } from '../activities/scripted-model';
import { scopeActivityInterceptor, type RegisteredTool } from './activity-interceptor';
import { Recorder, type RecorderOptions } from './recorder';
import { TemporalSealAnchors } from './seal-anchor';
import { Spool, defaultSpoolDir, type SpoolOptions } from './spool';
import { join } from 'node:path';
import { scopetrailSinks } from './sinks';
import { Fingerprinter, loadFingerprintKey, type FingerprintKey } from './fingerprint-key';
import { invalidField } from '../cim/invalid-field';

const INTERCEPTORS_MODULE = require.resolve('../workflows/interceptors');

export const WorkerOptionsSchema = z.object({
  agents: z.string().min(1, 'give the path of the module that exports your agents'),
  taskQueue: z.string().min(1).max(200),
  namespace: z.string().min(1).default('default'),
  address: z.string().min(1).optional(),
  maxCachedWorkflows: z.number().int().min(0).optional(),
  maxConcurrentActivityTaskExecutions: z.number().int().min(1).optional(),
});

export interface CreateWorkerOptions extends z.input<typeof WorkerOptionsSchema> {
  tools: ToolDefinition<any, any>[];
  /** The provider behind the `llm` activity; the scripted provider by default. */
  llm?: LlmProvider;
  /** The provider behind model-driven agents' steps (`llm.generate`); a scripted model by default. */
  model?: ModelProvider;
  store: Store;
  connection?: NativeConnection;
  /** A pre-built bundle of `agents` (see bundleAgents), to skip bundling per worker. */
  workflowBundle?: WorkflowBundle;
  recorder?: RecorderOptions;
  /**
   * Where records wait while the store is down (default: a folder per namespace and task
   * queue under ~/.local/state/scopetrail/spool, 256 MiB). `false` disables it: then a
   * store outage holds workflow tasks until the store is back.
   */
  spool?: SpoolOptions | false;
  /**
   * The key output fingerprints are made with (default: $SCOPETRAIL_FINGERPRINT_KEY, else
   * the key file, see worker/fingerprint-key.ts). `false` records no fingerprints.
   */
  fingerprintKey?: FingerprintKey | false;
}

export interface ScopetrailWorker {
  readonly worker: Worker;
  readonly manifests: Manifest[];
  readonly recorder: Recorder;
  run(): Promise<void>;
  /** Stops polling, waits for running tasks and for every record to be committed. */
  shutdown(): Promise<void>;
}

export async function createWorker(options: CreateWorkerOptions): Promise<ScopetrailWorker> {
  const parsed = WorkerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new TypeError(invalidField('createWorker', parsed.error, 'options'));
  }
  const o = parsed.data;
  const manifests = loadManifests(o.agents);
  const llmTools = [defineLlm(options.llm ?? new ScriptedProvider()), defineModelStep(options.model ?? new ScriptedModelProvider(), options.tools, (scopeId) => options.store.handoffPayload(scopeId))];
  const registered = registerTools(options.tools, llmTools);
  // A bad key is a configuration error worth stopping for; it is never discovered mid-workflow.
  const fingerprinter = options.fingerprintKey === false ? undefined : new Fingerprinter(options.fingerprintKey ?? loadFingerprintKey());

  const spool =
    options.spool === false
      ? undefined
      : new Spool({ dir: join(defaultSpoolDir(), `${safeName(o.namespace)}--${safeName(o.taskQueue)}`), ...options.spool });
  let lastErrorLog = 0;
  const recorder = new Recorder(options.store, {
    spool,
    onError: (err) => {
      // One line per 5 s is enough to say the store is failing; the spool keeps the records.
      if (Date.now() - lastErrorLog < 5_000) return;
      lastErrorLog = Date.now();
      console.error(`scopetrail: store write failed: ${err.message}${spool ? ` (records spooled in ${spool.dir})` : ''}`);
    },
    onAlert: (message) => console.error(`scopetrail: ${message}`),
    ...options.recorder,
  });
  // Migrates the store and registers the manifests, or (store down) spools until it can.
  await recorder.start({ manifests });
  const ownConnection = options.connection ? undefined : await NativeConnection.connect({ address: o.address ?? defaultAddress() });
  const connection = options.connection ?? ownConnection!;
  recorder.sealer.useAnchors(new TemporalSealAnchors(connection));
  // Scopes a previous worker ended but died before sealing.
  recorder.sealer.startSweeping();
  const activities = Object.fromEntries(
    [...options.tools, ...llmTools].map((t) => [t.spec.name, t.activity]),
  );
  const worker = await Worker.create({
    connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: o.agents, bundlerOptions: { preloadModules: SHARED_SANDBOX_MODULES } }),
    activities,
    interceptors: {
      workflowModules: [INTERCEPTORS_MODULE],
      activity: [scopeActivityInterceptor(recorder, registered, fingerprinter)],
    },
    sinks: scopetrailSinks(recorder, (msg, err) => console.error(`scopetrail: ${msg}`, err), fingerprinter),
    maxCachedWorkflows: o.maxCachedWorkflows,
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivityTaskExecutions,
  });

  let running: Promise<void> | undefined;
  return {
    worker,
    manifests,
    recorder,
    run() {
      running ??= worker.run();
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running?.catch(() => undefined);
      await recorder.drain();
      await recorder.drainSpool();
      recorder.stop();
      await ownConnection?.close();
    },
  };
}

/** Bundles the agents module once, e.g. for several workers in one test run. */
export function bundleAgents(agentsPath: string): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: agentsPath,
    workflowInterceptorModules: [INTERCEPTORS_MODULE],
    preloadModules: SHARED_SANDBOX_MODULES,
    logger: quietBundlerLogger,
  });
}

/**
 * Modules evaluated once per worker thread and shared by every workflow, instead of
 * once per workflow. zod builds hundreds of classes when it loads; evaluated per
 * workflow, that was the largest part of a short agent's CPU. It keeps no per-workflow
 * state, which is what sharing requires. Our own schema modules cannot be shared: the
 * SDK freezes shared modules, and zod fills in schema properties lazily on first use.
 */
const SHARED_SANDBOX_MODULES = ['zod'];

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function defaultAddress(): string {
  return process.env.TEMPORAL_ADDRESS || 'localhost:7233';
}

/**
 * The agents module is also loaded in the worker process (outside the sandbox) to
 * read the manifests. The workflow type Temporal registers is the export name, so an
 * agent exported under another name than its manifest's would be unreachable by name.
 */
export function loadManifests(agentsPath: string): Manifest[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(agentsPath) as Record<string, unknown>;
  const manifests: Manifest[] = [];
  for (const [exportName, value] of Object.entries(mod)) {
    const manifest = (value as { manifest?: Manifest } | undefined)?.manifest;
    if (typeof value !== 'function' || !manifest) continue;
    if (manifest.name !== exportName) {
      throw new TypeError(
        `agents module ${agentsPath}: agent "${manifest.name}" is exported as "${exportName}"; export it under its manifest name`,
      );
    }
    manifests.push(manifest);
  }
  if (manifests.length === 0) {
    throw new TypeError(`agents module ${agentsPath} exports no agent made with defineAgent()`);
  }
  return manifests;
}

function registerTools(tools: ToolDefinition<any, any>[], llm: ToolDefinition<any, any>[]): Map<string, RegisteredTool> {
  const map = new Map<string, RegisteredTool>();
  const add = (t: ToolDefinition<any, any>, kind: RegisteredTool['kind']) => {
    if (map.has(t.spec.name)) throw new TypeError(`createWorker: two tools are named "${t.spec.name}"`);
    map.set(t.spec.name, { name: t.spec.name, kind, resources: t.spec.resources, recordPayloads: t.spec.recordPayloads });
  };
  tools.forEach((t) => add(t, 'tool_call'));
  llm.forEach((t) => add(t, 'llm_call'));
  return map;
}

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (msg: string, meta?: unknown) => console.warn(msg, meta ?? ''),
  error: (msg: string, meta?: unknown) => console.error(msg, meta ?? ''),
  log: () => undefined,
} as never;
