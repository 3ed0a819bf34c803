/**
 * ScopetrailPlugin: everything scopetrail adds to a Temporal worker, as one plugin a
 * user puts in `plugins: [...]` of their own `Worker.create` (and `Client`), beside
 * other plugins such as Temporal's OpenTelemetryPlugin. It registers the workflow
 * interceptor module, the activity interceptor, the record sink, the tools and the
 * `llm` activity, records the agents' manifests when the worker starts, and drains the
 * recorder when it stops, so every record the worker produced is committed.
 */
import { Client, type ClientOptions, type Connection, type WorkflowClientInterceptor } from '@temporalio/client';
import { SimplePlugin } from '@temporalio/plugin';
import type { BundleOptions, NativeConnection, ReplayWorkerOptions, Worker, WorkerOptions } from '@temporalio/worker';
import { z } from 'zod';
import type { Manifest } from '../cim/schemas';
import { STORE_MEMO, VISIBILITY_MEMO } from '../cim/names';
import { storeMark } from '../store/store-mark';
import { InvalidOptionError, fieldOf, invalidField, unknownOption } from '../cim/invalid-field';
import type { ServedToolSpec, Store } from '../store/types';
import type { ToolDefinition } from '../activities/tool';
import { ScriptedProvider, defineLlm, type LlmProvider } from '../activities/llm';
import { defineModelStep, type ModelProvider } from '../activities/model-step';
import { describeTool } from '../activities/tool-spec';
import { ServedToolSpecs } from './served-tool-specs';
import { ScriptedModelProvider } from '../activities/scripted-model';
import { Fingerprinter, KEY_ENV, MIN_KEY_BYTES, loadFingerprintKey, type FingerprintKey } from '../store/fingerprint-key';
import { manifestSigner } from '../store/manifest-key';
import type { Signer } from '../cim/keyed-signature';
import { hasSearchAttributes } from '../devserver/search-attributes';
import { scopeActivityInterceptor, type RegisteredTool } from './activity-interceptor';
import { Recorder, type RecorderOptions } from './recorder';
import { TemporalRunStatus, runsClosedWithoutAgent } from '../store/run-status';
import { EndedRuns, EndedRunsFirst, watchEndedRuns } from './ended-runs';
import { StoreOutageLog, periodicStoreJobLog } from './store-outage-log';
import { AgentTypes } from './agent-types';
import { answerWithin } from '../cim/answer-within';
import { TemporalSealAnchors } from '../store/seal-anchor';
import { Spool, defaultSpoolDir, type SpoolOptions } from './spool';
import { spoolFolder } from './spool-folder';
import { RECORDER_OPTION_KEYS, RecorderOption, SEALER_OPTION_KEYS } from './recorder-option';
import { SPOOL_OPTION_KEYS, SpoolOption, ensureSpoolDir, spoolDirProblem } from './spool-option';
import { scopetrailSinks } from './sinks';
import { loadManifests, unservedTools } from './manifests';
import { LiveOtel, OtelOption, type LiveOtelOptions } from './live-otel';
import { ScopetrailConfigError } from '../cim/errors';
import { DeploymentOption, workerDeploymentOptions, workerIdentity } from './deployment';
import type { DataConverter, Logger, PayloadCodec } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { temporalLogsQuieted } from './runtime-logging';
import { opaqueTextCodec, textCodec, type TextCodec } from '../store/text-codec';
import { decodingStore } from '../store/encoded-records';
import { reconcile } from '../client/reconcile';
import { UnendedScopes } from './unended-scopes';
import { isEncodedText } from '../cim/encoded-text';
import { runAndStop } from './settles';
import { checkToolNames } from './tool-names';
import { checkWorkflowBundle } from './bundle-check';

export const WORKFLOW_INTERCEPTORS_MODULE = require.resolve('../workflows/interceptors');

/**
 * Modules evaluated once per worker thread and shared by every workflow, instead of
 * once per workflow. zod builds hundreds of classes when it loads; evaluated per
 * workflow, that was the largest part of a short agent's CPU. It keeps no per-workflow
 * state, which is what sharing requires. So does '@temporalio/workflow': the SDK already
 * shares the modules its worker interface loads (the activator and the workflow API), and
 * keeps each workflow's state in that workflow's activator; only the package's index (its
 * re-exports, metrics, random streams, triggers, event groups, Nexus) was evaluated again
 * for every workflow, about half a millisecond of a loaded worker thread's CPU per run
 * (bench/optimizations.md). Our own schema modules cannot be shared: the
 * SDK freezes shared modules, and zod writes to a schema while it parses (lazily
 * computed internals, a pattern's `lastIndex`). The sandbox preload configures the
 * shared zod for schemas that live as long as one workflow.
 */
export const SHARED_SANDBOX_MODULES = ['zod', '@temporalio/workflow', require.resolve('../workflows/sandbox-preload')];

export interface ScopetrailPluginOptions {
  /** Where CIM records are written (see openStore). */
  store: Store;
  /** The tools (made with defineTool) this worker runs. */
  tools?: ToolDefinition<any, any>[];
  /** The provider behind the `llm` activity; the scripted provider by default. */
  llm?: LlmProvider;
  /** The provider behind model-driven agents' steps (`llm.generate`); a scripted model by default. */
  model?: ModelProvider;
  /**
   * The module that exports the agents, read for their manifests. Default: the worker's
   * `workflowsPath`; required when the worker runs a prebuilt `workflowBundle`. A worker
   * with neither serves tools alone (for agents on other workers) and needs none.
   */
  agents?: string;
  recorder?: RecorderOptions;
  /**
   * Where records wait while the store is down (default: a folder per namespace, task
   * queue and store under ~/.local/state/scopetrail/spool, 256 MiB; see worker/spool-folder.ts).
   * A `dir` given here is used as it is: give each store its own. `false` disables it: then a
   * store outage holds workflow tasks until the store is back.
   */
  spool?: SpoolOptions | false;
  /**
   * The key output fingerprints are made with (default: $SCOPETRAIL_FINGERPRINT_KEY, else
   * the key file, see store/fingerprint-key.ts). `false` records no fingerprints.
   */
  fingerprintKey?: FingerprintKey | false;
  /** Where scopetrail's own warnings go (default: console.error). */
  log?: (message: string, err?: unknown) => void;
  /**
   * Streams GenAI spans over OpenTelemetry as calls finish and scopes end, the same spans
   * `export-otel` sends later (see docs/opentelemetry.md). `true`: OTLP/HTTP configured by
   * the OTEL_* variables; or give your own spanProcessor, an exporter, an endpoint.
   */
  otel?: boolean | LiveOtelOptions;
  /**
   * The Worker Deployment this worker belongs to and its build (`{ name, buildId }`):
   * the worker is versioned, sessions are pinned to the build that started them (unless
   * `defaultVersioningBehavior: 'AUTO_UPGRADE'`), and every record says which build
   * wrote it. Make a build current with `scopetrail deployment set-current`.
   */
  deployment?: DeploymentOption;
  /**
   * The payload codecs (e.g. encryption) the store's text is encoded with. Default: the
   * `dataConverter.payloadCodecs` of the worker the plugin configures, so a codec is
   * configured once, where Temporal needs it (see docs/encryption.md).
   */
  payloadCodecs?: PayloadCodec[];
  /**
   * How long a tool attempt runs before its `running` row is written (default 100 ms; 0
   * writes it as the attempt starts). A faster attempt is recorded by its terminal row alone.
   */
  runningRowAfterMs?: number;
  /**
   * A run Temporal terminates or times out runs no agent code, so nothing records its
   * scope's end. The worker looks for scopes left `running` that way every `everyMs`
   * (default 60 s), once they are `afterMs` old (default 60 s), and writes their end from
   * history as `reconcile --repair` does (worker/unended-scopes.ts). `false`: only by hand.
   */
  unendedScopes?: { everyMs?: number; afterMs?: number } | false;
}

// Checked as the object unless it is `false` (which the plugin reads from the options as given), so
// an error names the field inside it (`unendedScopes.afterMs`) rather than the union as a whole.
const UnendedScopesOption = z.preprocess(
  (v) => (v === false ? undefined : v),
  z
    .object(
      { everyMs: z.number().int().min(100).max(86_400_000).optional(), afterMs: z.number().int().min(0).max(86_400_000).optional() },
      { error: 'give { everyMs, afterMs } (milliseconds) or false' },
    )
    .strict()
    .optional(),
);

const PluginOptionsSchema = z.object({
  store: z.custom<Store>((v) => typeof (v as Store | undefined)?.upsertManifests === 'function', 'give a store made with openStore()'),
  tools: z.array(z.custom<ToolDefinition<any, any>>((t) => typeof (t as ToolDefinition<any, any>)?.spec?.name === 'string', 'give tools made with defineTool()')).default([]),
  agents: z.string().min(1).optional(),
  otel: OtelOption,
  deployment: DeploymentOption.optional(),
  runningRowAfterMs: z.number().int().min(0).max(3_600_000).optional(),
  unendedScopes: UnendedScopesOption.optional(),
  spool: SpoolOption.optional(),
  recorder: RecorderOption.optional(),
  // Objects with the provider's methods, not the name of one: `model: 'openai'` is modelProviderFromEnv's job.
  llm: z
    .custom<LlmProvider>((p) => typeof (p as LlmProvider)?.complete === 'function' && typeof (p as LlmProvider)?.name === 'string', 'give an LlmProvider (e.g. llmProviderFromEnv(), or new OpenAiCompatibleProvider({ … }))')
    .optional(),
  model: z
    .custom<ModelProvider>((p) => typeof (p as ModelProvider)?.languageModel === 'function' && typeof (p as ModelProvider)?.name === 'string', 'give a ModelProvider (e.g. modelProviderFromEnv(), or new OpenAiCompatibleModelProvider({ … }))')
    .optional(),
  payloadCodecs: z
    .array(z.custom<PayloadCodec>((c) => typeof (c as PayloadCodec)?.encode === 'function' && typeof (c as PayloadCodec)?.decode === 'function', 'give PayloadCodec objects (with encode and decode)'))
    .optional(),
  // Used only when there is something to say: a wrong value would fail then, far from here.
  log: z.custom<(message: string, err?: unknown) => void>((f) => typeof f === 'function', 'give a function (message, err?) => void').optional(),
  fingerprintKey: z
    .custom<FingerprintKey | false>(
      (k) => k === false || (Buffer.isBuffer((k as FingerprintKey | undefined)?.bytes) && (k as FingerprintKey).bytes.length >= MIN_KEY_BYTES && typeof (k as FingerprintKey).id === 'string'),
      `give false, or a key from loadFingerprintKey() (at least ${MIN_KEY_BYTES} bytes; set ${KEY_ENV} to a hex or base64 key to use your own)`,
    )
    .optional(),
});

/** Every option ScopetrailPluginOptions has (createWorker takes them too). */
export const PLUGIN_OPTION_KEYS = [
  'store', 'tools', 'llm', 'model', 'agents', 'recorder', 'spool', 'fingerprintKey', 'log', 'otel', 'deployment', 'payloadCodecs', 'runningRowAfterMs', 'unendedScopes',
] as const satisfies ReadonlyArray<keyof ScopetrailPluginOptions>;

/**
 * The keys of the plugin's options that are objects of options themselves: a misspelt one
 * is named with the key likely meant, as a misspelt option of the plugin is.
 */
const NESTED_OPTION_KEYS = {
  spool: SPOOL_OPTION_KEYS,
  recorder: RECORDER_OPTION_KEYS,
  unendedScopes: ['everyMs', 'afterMs'],
  deployment: Object.keys(DeploymentOption.shape),
} as const satisfies Partial<Record<keyof ScopetrailPluginOptions, readonly string[]>>;

/**
 * The plugin's options checked: a misspelled key (`fingerPrintKey`, `payloadCodec`) would
 * otherwise fall back to its default unseen. Errors name the field, and `context` (the
 * function the user called: createWorker passes these on).
 */
export function checkPluginOptions(options: ScopetrailPluginOptions, context = 'ScopetrailPlugin'): z.output<typeof PluginOptionsSchema> {
  const unknown =
    unknownOption(context, options, PLUGIN_OPTION_KEYS) ??
    Object.entries(NESTED_OPTION_KEYS).reduce<InvalidOptionError | undefined>((found, [at, keys]) => found ?? unknownOption(context, options[at as keyof typeof NESTED_OPTION_KEYS], keys, at), undefined) ??
    unknownOption(context, (options.recorder as { sealer?: unknown } | undefined)?.sealer, SEALER_OPTION_KEYS, 'recorder.sealer');
  if (unknown) throw new ScopetrailConfigError(unknown.message, unknown.field);
  const parsed = PluginOptionsSchema.safeParse(options);
  if (!parsed.success) throw new ScopetrailConfigError(invalidField(context, parsed.error, 'options'), fieldOf(parsed.error, 'options'));
  checkToolNames(parsed.data.tools, context);
  if (parsed.data.spool?.dir) ensureSpoolDir(parsed.data.spool.dir, context);
  return parsed.data;
}

/** What the plugin holds for one worker: its own recorder, spooling under its own task queue. */
interface Binding {
  recorder: Recorder;
  manifests: Manifest[];
  /** What the worker's tools tell a model, registered for model steps on workers that do not define them. */
  toolSpecs: ServedToolSpec[];
  spool: Spool | undefined;
  /** The worker's connection, through which seals are anchored in Temporal. */
  connection: NativeConnection | undefined;
  /** Runs the binding's workers saw Temporal close: their scopes are sealed without asking it. */
  ended: EndedRuns;
  /** The worker's data converter: a repair reads histories with it (worker/unended-scopes.ts). */
  dataConverter?: DataConverter;
}

export class ScopetrailPlugin extends SimplePlugin {
  private readonly config: ScopetrailPluginOptions;
  private readonly registered: Map<string, RegisteredTool>;
  private readonly fingerprinter: Fingerprinter | undefined;
  private readonly manifestSigner: Signer | undefined;
  private readonly bindings = new Map<string, Binding>();
  /** Which workflow types are agents, for the memo a Client carrying the plugin adds to their starts. */
  private readonly agentTypes: AgentTypes;
  /** One look for unended scopes per namespace, however many of its task queues run here, with how many workers use it. */
  private readonly unended = new Map<string, { looker: UnendedScopes; workers: number }>();
  private readonly log: (message: string, err?: unknown) => void;
  private readonly deployment: z.output<typeof DeploymentOption> | undefined;
  /** The live span stream while a worker runs; made again for a later run. */
  private otel: LiveOtel | undefined;
  private runningWorkers = 0;
  /** The codec the store's text is encoded with: the option's, else the first configured worker's. */
  private textCodec: TextCodec | undefined;

  constructor(options: ScopetrailPluginOptions) {
    const checked = checkPluginOptions(options);
    const tools = checked.tools;
    const store = options.store;
    // A bad key is a configuration error worth stopping for; it is never discovered mid-workflow.
    const deploymentKey = options.fingerprintKey === false ? undefined : (options.fingerprintKey ?? loadFingerprintKey());
    // The same key signs the manifests and tool specs this worker registers, and checks the specs
    // other workers registered; a worker without one registers them unsigned and takes them unchecked.
    const signer = deploymentKey && manifestSigner(deploymentKey);
    // The tools of workers on other task queues are described by what those workers registered in the store.
    const servedTools = new ServedToolSpecs(async () => (await store.toolSpecs?.()) ?? [], {
      onError: (err) => this.log('could not read the tool specs other workers registered; model steps offer those tools by name alone until a later read', err),
      ...(signer ? { checker: signer } : {}),
      onRefused: (message) => this.log(`${message}; model steps offer that tool by name alone`),
    });
    const llmTools = [
      defineLlm(options.llm ?? new ScriptedProvider()),
      // A handoff keeps a long conversation in the store; the model step reads it back from there.
      defineModelStep(options.model ?? new ScriptedModelProvider(), tools, (scopeId) => this.handoffPayload(store, scopeId), {
        servedTools,
        warn: (message) => this.log(message),
      }),
    ];
    super({
      name: 'ScopetrailPlugin',
      activities: Object.fromEntries([...tools, ...llmTools].map((t) => [t.spec.name, t.activity])),
      workerInterceptors: { workflowModules: [WORKFLOW_INTERCEPTORS_MODULE] },
    });
    this.config = options;
    this.agentTypes = new AgentTypes(store, () => this.localAgentNames());
    this.deployment = checked.deployment;
    if (options.payloadCodecs?.length) this.textCodec = textCodec(options.payloadCodecs);
    this.registered = registerTools(tools, llmTools);
    this.log = options.log ?? ((message, err) => console.error(`scopetrail: ${message}`, ...(err === undefined ? [] : [err])));
    this.fingerprinter = deploymentKey && new Fingerprinter(deploymentKey);
    this.manifestSigner = signer;
    // Made now so a bad option or OTEL_* variable stops the start, not the first span.
    this.otel = this.makeOtel();
  }

  /**
   * Names, once the store is prepared, the tools the agents declare that this worker does
   * not register and no worker of another task queue of this store has registered as served
   * (their specs, migration 021): a tool served on another queue is no mistake. A store that
   * cannot say leaves every tool this worker lacks named, as without it.
   */
  private async sayUnservedTools(manifests: readonly Manifest[], taskQueue: string): Promise<void> {
    if (!unservedTools(manifests, (tool) => this.registered.has(tool))) return;
    const specs = await answerWithin(Promise.resolve(this.config.store.toolSpecs?.()).catch(() => undefined), 2_000, undefined);
    const elsewhere = new Set((specs ?? []).filter((s) => s.taskQueue !== taskQueue).map((s) => s.tool));
    const unserved = unservedTools(manifests, (tool) => this.registered.has(tool) || elsewhere.has(tool));
    if (unserved) this.log(unserved);
  }

  private makeOtel(): LiveOtel | undefined {
    const otel = this.config.otel;
    if (!otel) return undefined;
    return new LiveOtel(this.config.store, otel === true ? {} : otel, this.log);
  }

  /** The agents of this process's workers: their manifests, read as each was configured. */
  private *localAgentNames(): Iterable<string> {
    for (const binding of this.bindings.values()) for (const m of binding.manifests) yield m.name;
  }

  /** The recorder of the worker on this namespace and task queue, once that worker is configured. */
  recorderFor(namespace: string, taskQueue: string): Recorder | undefined {
    return this.bindings.get(bindingKey(namespace, taskQueue))?.recorder;
  }

  /** A conversation a handoff kept by reference, decoded when the workers' codec encoded it. */
  private async handoffPayload(store: Store, scopeId: string): Promise<unknown> {
    const body = await store.handoffPayload(scopeId);
    if (!isEncodedText(body)) return body;
    if (!this.textCodec) throw new ScopetrailConfigError('a conversation in the store is encoded with a payload codec, but this worker has none: give Worker.create the same dataConverter.payloadCodecs', 'payloadCodecs');
    return this.textCodec.decodeJson(body);
  }

  override configureWorker(given: WorkerOptions): WorkerOptions {
    // The plugin cannot add its workflow interceptors to a bundle already made: one without them is refused here.
    if (given.workflowBundle) checkWorkflowBundle(given.workflowBundle);
    const options = this.withDeployment(given);
    const namespace = options.namespace ?? 'default';
    // The worker's rows are filed under its namespace; the store's reads (sweeps, repairs,
    // handoffs) return openStore's: a worker of another would write rows it never reads back.
    const stores = typeof this.config.store.namespace === 'string' ? this.config.store.namespace : undefined;
    if (stores !== undefined && stores !== namespace) {
      throw new ScopetrailConfigError(
        `ScopetrailPlugin: the worker's namespace is "${namespace}" but its store reads the records of namespace "${stores}": ` +
          `give Worker.create namespace: ${JSON.stringify(stores)}, or open the store with openStore({ namespace: ${JSON.stringify(namespace)} }) (or TEMPORAL_NAMESPACE)`,
        'namespace',
      );
    }
    const codecs = options.dataConverter?.payloadCodecs;
    const text = this.config.payloadCodecs?.length ? this.textCodec : codecs?.length ? textCodec(codecs) : undefined;
    this.textCodec ??= text;
    const binding = this.bind(namespace, options.taskQueue, options.workflowsPath, options.workflowBundle !== undefined, text);
    binding.connection ??= options.connection;
    binding.dataConverter ??= options.dataConverter;
    const configured = super.configureWorker({
      ...options,
      // A prebuilt bundle was made with its own options (see bundleAgents); giving bundler options too only earns a warning.
      ...(options.workflowBundle
        ? {}
        : {
            bundlerOptions: {
              ...options.bundlerOptions,
              preloadModules: [...new Set([...(options.bundlerOptions?.preloadModules ?? []), ...SHARED_SANDBOX_MODULES])],
            },
          }),
      sinks: {
        ...options.sinks,
        ...scopetrailSinks(binding.recorder, this.log, this.fingerprinter, (tool) => this.registered.get(tool)?.resources),
      },
    });
    return {
      ...configured,
      interceptors: {
        ...configured.interceptors,
        activity: [...(configured.interceptors?.activity ?? []), scopeActivityInterceptor(binding.recorder, this.registered, { fingerprinter: this.fingerprinter, worker: workerIdentity(options), runningRowAfterMs: this.config.runningRowAfterMs, payloadConverter: loadDataConverter(options.dataConverter).payloadConverter })],
      },
    };
  }

  private withDeployment(options: WorkerOptions): WorkerOptions {
    if (!this.deployment) return options;
    if (options.workerDeploymentOptions) {
      throw new ScopetrailConfigError(
        'ScopetrailPlugin: the worker sets workerDeploymentOptions and the plugin `deployment`; give one of them',
        'deployment',
      );
    }
    return { ...options, workerDeploymentOptions: workerDeploymentOptions(this.deployment) };
  }

  override configureReplayWorker(options: ReplayWorkerOptions): ReplayWorkerOptions {
    // A replay re-emits records under the ids they already have; nothing needs writing.
    return super.configureReplayWorker({
      ...options,
      sinks: { ...options.sinks, scopetrail: { record: { fn: () => undefined, callDuringReplay: false } } },
    });
  }

  override configureBundler(options: BundleOptions): BundleOptions {
    const configured = super.configureBundler(options);
    return {
      ...configured,
      // quietTemporalLogs() quiets a bundle made with bundleWorkflowCode({ plugins }) too, unless it has a logger of its own.
      ...(configured.logger === undefined && temporalLogsQuieted() ? { logger: quietBundlerLogger } : {}),
      preloadModules: [...new Set([...(configured.preloadModules ?? []), ...SHARED_SANDBOX_MODULES])],
    };
  }

  override configureClient(options: ClientOptions): ClientOptions {
    const configured = super.configureClient(options);
    const interceptor = visibilityMemoInterceptor(options, storeMark(this.config.store), this.agentTypes);
    const existing = configured.interceptors?.workflow;
    if (existing !== undefined && !Array.isArray(existing)) {
      throw new ScopetrailConfigError('ScopetrailPlugin: the client uses old-style workflow interceptors (an object); pass an array', 'interceptors.workflow');
    }
    return { ...configured, interceptors: { ...configured.interceptors, workflow: [...(existing ?? []), interceptor] } };
  }

  override async runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    const binding = this.bindings.get(bindingKey(worker.options.namespace, worker.options.taskQueue));
    if (!binding) return super.runWorker(worker, next);
    const { recorder, manifests, toolSpecs, connection, ended } = binding;
    // Migrates the store and registers the manifests and tool specs, or (store down) spools until it can.
    try {
      await recorder.start({ manifests, toolSpecs, ...(this.manifestSigner ? { manifestSigner: this.manifestSigner } : {}) });
    } catch (err) {
      // A store that answers but cannot be prepared stops the start; the SDK's worker is
      // still run and stopped, or it would hold the process and its connection for good.
      await runAndStop(worker, next);
      throw err;
    }
    await this.sayUnservedTools(manifests, worker.options.taskQueue);
    // Seals are anchored in Temporal, where a database writer cannot rewrite them.
    if (connection) {
      recorder.sealer.useAnchors(new TemporalSealAnchors(connection));
      recorder.sealer.useRunStatus(new EndedRunsFirst(ended, new TemporalRunStatus(connection)));
    }
    const unwatch = watchEndedRuns(worker, ended);
    // Scopes a previous worker ended but died before sealing.
    recorder.sealer.startSweeping();
    const namespace = worker.options.namespace;
    const lookingForUnended = connection !== undefined && this.config.unendedScopes !== false;
    if (lookingForUnended) this.lookForUnendedScopes(namespace, connection, binding.dataConverter);
    this.runningWorkers += 1;
    this.otel ??= this.makeOtel();
    try {
      await super.runWorker(worker, next);
    } finally {
      await recorder.drain();
      await recorder.drainSpool();
      this.runningWorkers -= 1;
      // Every committed record's span is out before the worker reports it stopped.
      const otel = this.otel;
      if (otel && this.runningWorkers === 0) {
        this.otel = undefined;
        await otel.shutdown().catch((err: unknown) => this.log('live OpenTelemetry: could not flush the last spans', err));
      } else await otel?.flush().catch((err: unknown) => this.log('live OpenTelemetry: could not flush the spans', err));
      recorder.stop();
      unwatch();
      if (lookingForUnended) this.stopLookingForUnendedScopes(namespace);
    }
  }

  /** Scopes left running by runs Temporal terminated or timed out get their end from history (worker/unended-scopes.ts). */
  private lookForUnendedScopes(namespace: string, connection: NativeConnection, dataConverter: DataConverter | undefined): void {
    const running = this.unended.get(namespace);
    if (running) {
      running.workers += 1;
      return;
    }
    const store = this.config.store;
    // Made at the first repair: a data converter the client cannot load is then a logged error, not a failed start.
    let client: Client | undefined;
    const status = new TemporalRunStatus(connection);
    const looker = new UnendedScopes(
      {
        store,
        namespace,
        closes: (runs) => status.closes(runs),
        closedWithoutAgentSince: (since) => runsClosedWithoutAgent(connection, namespace, since),
        isAgent: (type) => this.agentTypes.isAgent(type),
        // Stored text is compared and written as the workers encode it, as `reconcile --repair` does.
        repair: async (sessionId) => {
          client ??= new Client({ connection, namespace, ...(dataConverter ? { dataConverter } : {}) });
          return (await reconcile(client, decodingStore(store, this.textCodec ?? opaqueTextCodec()), sessionId, { repair: true, repairedBy: 'a worker' })).repaired;
        },
      },
      {
        ...(this.config.unendedScopes || {}),
        ...periodicStoreJobLog((line) => this.log(line), 'looking for scopes whose run Temporal terminated or timed out'),
        onRepaired: (sessionId, n) =>
          this.log(`session ${sessionId}: completed ${n} scope${n === 1 ? '' : 's'} whose run Temporal terminated or timed out (the end, or for a run that never ran the whole row), from its history`),
      },
    );
    looker.start();
    this.unended.set(namespace, { looker, workers: 1 });
  }

  private stopLookingForUnendedScopes(namespace: string): void {
    const running = this.unended.get(namespace);
    if (!running || --running.workers > 0) return;
    running.looker.stop();
    this.unended.delete(namespace);
  }

  private bind(namespace: string, taskQueue: string, workflowsPath: string | undefined, prebuilt: boolean, text: TextCodec | undefined): Binding {
    const key = bindingKey(namespace, taskQueue);
    const existing = this.bindings.get(key);
    if (existing) return existing;
    const agents = this.config.agents ?? workflowsPath;
    if (!agents && prebuilt) {
      throw new ScopetrailConfigError(
        'ScopetrailPlugin: give `agents` (the path of the module that exports your agents) when the worker runs a prebuilt workflowBundle',
        'agents',
      );
    }
    // A worker with no workflows (no workflowsPath, no bundle) serves tools alone: it runs no agent, so registers none.
    // Nor does one whose workflows module (the default for `agents`) holds only workflows of the user's own.
    const manifests = agents ? loadManifests(agents, { required: this.config.agents !== undefined }) : [];
    const spool = this.config.spool === false ? undefined : this.openSpool(namespace, taskQueue);
    // An outage is said once, reminded of once a minute and said to be over; other failures as they come.
    const outage = new StoreOutageLog({ log: (line) => this.log(line), spool });
    const hooks = outage.recorderHooks();
    const recorder = new Recorder(this.config.store, {
      spool,
      onError: hooks.onError,
      onSealError: hooks.onSealError,
      onAlert: hooks.onAlert,
      ...this.config.recorder,
      ...(text ? { textCodec: text } : {}),
      onCommitted: (batch) => {
        hooks.onCommitted();
        this.otel?.committed(batch);
        this.config.recorder?.onCommitted?.(batch);
      },
    });
    outage.watch(recorder);
    const toolSpecs = (this.config.tools ?? []).map((t): ServedToolSpec => ({ taskQueue, tool: t.spec.name, ...describeTool(t) }));
    const binding: Binding = { recorder, manifests, toolSpecs, spool, connection: undefined, ended: new EndedRuns() };
    this.bindings.set(key, binding);
    return binding;
  }

  /** A folder of the user's choosing is used as given; the default is keyed by namespace, queue and store. */
  private openSpool(namespace: string, taskQueue: string): Spool {
    const options = this.config.spool || {};
    if (options.dir) return new Spool(options);
    const folder = spoolFolder(defaultSpoolDir(), namespace, taskQueue, this.config.store);
    const problem = spoolDirProblem(folder.dir);
    if (problem !== undefined) {
      throw new ScopetrailConfigError(
        `ScopetrailPlugin: cannot use ${folder.dir} as the spool's folder (${problem}); set SCOPETRAIL_SPOOL_DIR to a folder this worker can write, or give spool.dir`,
        'spool.dir',
      );
    }
    return new Spool({ ...options, dir: folder.dir, ...(folder.earlier ? { adoptFrom: [folder.earlier] } : {}) });
  }
}

/**
 * Sessions started through a plain Temporal Client that carries this plugin publish
 * their scopes to visibility exactly as ScopeClient's do: the memo says whether the
 * namespace has scopetrail's search attributes (asked once per client). Only agents'
 * starts get it; a type the store cannot be asked about gets it too, as an agent's would.
 */
function visibilityMemoInterceptor(options: ClientOptions, mark: string | undefined, agents: AgentTypes): WorkflowClientInterceptor {
  let check: Promise<boolean> | undefined;
  // Only a full Connection has the operator service; a bare ConnectionLike skips the check.
  const connection = options.connection && 'operatorService' in options.connection ? (options.connection as Connection) : undefined;
  const namespace = options.namespace ?? 'default';
  return {
    async start(input, next) {
      if (!connection || input.options.memo?.[VISIBILITY_MEMO] !== undefined) return next(input);
      if ((await agents.isAgent(input.workflowType)) === false) return next(input);
      check ??= hasSearchAttributes(connection, namespace);
      const store = mark && input.options.memo?.[STORE_MEMO] === undefined ? { [STORE_MEMO]: mark } : {};
      return next({ ...input, options: { ...input.options, memo: { ...input.options.memo, [VISIBILITY_MEMO]: await check, ...store } } });
    },
  };
}

/** The worker's tools and model call activities by name (checkToolNames has made the names unique). */
function registerTools(tools: ToolDefinition<any, any>[], llm: ToolDefinition<any, any>[]): Map<string, RegisteredTool> {
  const map = new Map<string, RegisteredTool>();
  const add = (t: ToolDefinition<any, any>, kind: RegisteredTool['kind']) =>
    map.set(t.spec.name, { name: t.spec.name, kind, resources: t.spec.resources, recordPayloads: t.spec.recordPayloads });
  llm.forEach((t) => add(t, 'llm_call'));
  tools.forEach((t) => add(t, 'tool_call'));
  return map;
}

function bindingKey(namespace: string, taskQueue: string): string {
  return `${namespace}\u0000${taskQueue}`;
}

/** The bundler's logger when Temporal's logs are quieted: its warnings and errors, not its module list. */
export const quietBundlerLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (msg: string, meta?: unknown) => console.warn(msg, meta ?? ''),
  error: (msg: string, meta?: unknown) => console.error(msg, meta ?? ''),
  log: () => undefined,
};
