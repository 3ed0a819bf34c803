/**
 * Stopping a worker at any point of its start: before it runs, and while the plugin still
 * prepares the store (migrations, manifests), when the SDK's worker is not running yet.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { bundleAgents, createWorker } from '../../worker/create-worker';
import type { Store } from '../../store/types';
import { dropTestSchema, openTestStore } from '../helpers/runtime';
import { createFixtureTools } from '../fixtures/tools';
import { delayCalls } from '../helpers/delayed-store';

const AGENTS = require.resolve('../fixtures/agents');
let temporal: TemporalEndpoint;
let store: Store;
let schema: string;
before(async () => {
  temporal = await ensureTemporal({ log: () => undefined });
  ({ store, schema } = await openTestStore());
});
after(async () => {
  await store?.close();
  if (schema) await dropTestSchema(schema);
});

/** The store with its migration held until `release` is called. */
function slowToPrepare(inner: Store): { store: Store; migrating: Promise<void>; release: () => void } {
  let release!: () => void;
  let started!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const migrating = new Promise<void>((r) => (started = r));
  const store = delayCalls(inner, 'migrate', () => {
    started();
    return released;
  });
  return { store, migrating, release };
}

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const options = async (s: Store) => ({
  store: s,
  agents: AGENTS,
  workflowBundle: await bundleAgents(AGENTS),
  tools: Object.values(createFixtureTools().tools),
  taskQueue: `lifecycle-${randomBytes(4).toString('hex')}`,
  address: temporal.address,
  spool: false as const,
});

test('a worker told to stop while its store is still being prepared stops once it runs, rather than running on', async () => {
  const slow = slowToPrepare(store);
  const worker = await createWorker(await options(slow.store));
  const running = worker.run();
  await slow.migrating;
  assert.equal(worker.worker.getState(), 'INITIALIZED', 'the SDK worker does not run before the store is ready');
  const stopped = worker.shutdown();
  slow.release();
  await within(30_000, 'shutdown', stopped);
  await within(1_000, 'run', running);
  assert.equal(worker.worker.getState(), 'STOPPED');
});

test('a worker that never ran stops at once, and one stopped right after run() stops too', async () => {
  const never = await createWorker(await options(store));
  await within(30_000, 'shutdown of a worker that never ran', never.shutdown());
  assert.equal(never.worker.getState(), 'STOPPED');
  const quick = await createWorker(await options(store));
  const running = quick.run();
  await within(30_000, 'shutdown right after run()', quick.shutdown());
  await running;
  assert.equal(quick.worker.getState(), 'STOPPED');
});
