/**
 * A real runtime for integration tests: the Temporal server the test runner started
 * (TEMPORAL_ADDRESS) or a dev server of our own, a store in a fresh Postgres schema
 * (or PGlite when the runner found no Postgres), a worker and a client.
 */
import { randomBytes } from 'node:crypto';
import { dropSchema } from './drop-schema';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowBundle } from '@temporalio/worker';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { openStore } from '../../store';
import type { Store } from '../../store/types';
import { bundleAgents, createWorker, type CreateWorkerOptions, type ScopetrailWorker } from '../../worker/create-worker';
import { quietTemporalLogs } from '../../worker/runtime-logging';
import { ScopeClient } from '../../client/scope-client';
import type { DelegationKey } from '../../store/delegation-key';

export const TEST_DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export interface TestRuntime {
  temporal: TemporalEndpoint;
  store: Store;
  schema: string;
  worker: ScopetrailWorker;
  client: ScopeClient;
  taskQueue: string;
  /** Stops and replaces the worker (same store and task queue), e.g. to simulate a restart. */
  restartWorker(overrides?: Partial<CreateWorkerOptions>): Promise<ScopetrailWorker>;
  stop(): Promise<void>;
}

const bundles = new Map<string, Promise<WorkflowBundle>>();

export function usesPglite(): boolean {
  return process.env.SCOPETRAIL_TEST_STORE === 'pglite';
}

export async function openTestStore(
  namespace = 'default',
  url = TEST_DATABASE_URL,
  schema = `t_${randomBytes(5).toString('hex')}`,
): Promise<{ store: Store; schema: string }> {
  const store = usesPglite()
    ? await openStore({ memory: true, url: undefined, schema, namespace })
    : await openStore({ url, schema, namespace });
  return { store, schema };
}

export async function startTestRuntime(
  options: Omit<CreateWorkerOptions, 'store' | 'taskQueue' | 'address' | 'namespace'> & {
    namespace?: string;
    /** Reach Postgres through this URL (e.g. a proxy the test can cut). */
    databaseUrl?: string;
    /** Share another runtime's store schema (the schema is then dropped by whoever created it). */
    schema?: string;
    /** The key the client checks MCP receipts with (the test's MCP servers sign with it). */
    delegationKey?: DelegationKey;
  },
): Promise<TestRuntime> {
  const { delegationKey, databaseUrl: _url, schema: _schema, ...workerOptions } = options;
  quietTemporalLogs('ERROR');
  const namespace = options.namespace ?? 'default';
  const temporal = await ensureTemporal({ namespace, log: () => undefined });
  const { store, schema } = await openTestStore(namespace, options.databaseUrl, options.schema);
  const ownsSchema = !options.schema;
  const taskQueue = `test-${randomBytes(5).toString('hex')}`;
  const converterPath = options.dataConverter?.payloadConverterPath;
  const bundleKey = converterPath ? `${options.agents}\0${converterPath}` : options.agents;
  let bundle = bundles.get(bundleKey);
  if (!bundle) {
    bundle = bundleAgents(options.agents, converterPath ? { payloadConverterPath: converterPath } : {});
    bundles.set(bundleKey, bundle);
  }
  const workflowBundle = await bundle;
  // Each runtime spools into its own folder so tests never drain each other's records.
  const spool = options.spool ?? { dir: join(tmpdir(), `scopetrail-spool-${taskQueue}`) };
  const make = (overrides: Partial<CreateWorkerOptions> = {}) =>
    createWorker({ ...workerOptions, spool, workflowBundle, store, taskQueue, address: temporal.address, namespace, ...overrides });
  let worker = await make();
  let running = worker.run();
  const client = await ScopeClient.connect({ address: temporal.address, namespace, taskQueue, store, ...(delegationKey ? { delegationKey } : {}) });
  const runtime: TestRuntime = {
    temporal,
    store,
    schema,
    get worker() {
      return worker;
    },
    client,
    taskQueue,
    async restartWorker(overrides) {
      await worker.shutdown();
      await running.catch(() => undefined);
      worker = await make(overrides);
      running = worker.run();
      return worker;
    },
    async stop() {
      await client.close();
      await worker.shutdown();
      await running.catch(() => undefined);
      await store.close();
      if (ownsSchema) await dropTestSchema(schema);
      await temporal.stop();
    },
  } as TestRuntime;
  return runtime;
}

export async function dropTestSchema(schema: string): Promise<void> {
  if (usesPglite() || process.env.SCOPETRAIL_KEEP_TEST_DATA) return;
  await dropSchema(TEST_DATABASE_URL, schema);
}
