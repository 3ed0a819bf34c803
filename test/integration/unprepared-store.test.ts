/**
 * ScopeClient given a store no worker has prepared (a mistyped schema or URL, an embedded
 * store beside a Postgres worker) says so, as the CLI does, and creates nothing; a client
 * connected before any worker started works once one has.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { openStore } from '../../store';
import type { Store } from '../../store/types';
import { ScopeClient } from '../../client/scope-client';
import { NoStoreError } from '../../index';
import { leaf } from '../fixtures/agents';
import { createFixtureTools } from '../fixtures/tools';
import { TEST_DATABASE_URL, dropTestSchema, startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import { quietTemporalLogs } from '../../worker/runtime-logging';

const schema = `t_${randomBytes(5).toString('hex')}`;
let temporal: TemporalEndpoint | undefined;
let store: Store | undefined;
let client: ScopeClient | undefined;
let rt: TestRuntime | undefined;

after(async () => {
  await client?.close();
  await rt?.stop();
  await store?.close();
  await temporal?.stop();
  await dropTestSchema(schema);
});

const noStore = (err: Error & { field?: string }) => {
  assert.ok(err instanceof NoStoreError, `${err.name}: ${err.message}`);
  assert.equal(err.name, 'NoStoreError');
  assert.equal(err.field, 'store');
  assert.match(err.message, new RegExp(`^ScopeClient: no scopetrail store in .*schema ${schema}.*workers create the store when they start`));
  return true;
};

test('queries and startSession on a store no worker prepared name the store, and create nothing; once a worker prepares it, the same client works', async () => {
  quietTemporalLogs('ERROR');
  temporal = await ensureTemporal({ namespace: 'default', log: () => undefined });
  store = usesPglite() ? await openStore({ memory: true, url: undefined, schema, migrate: false }) : await openStore({ url: TEST_DATABASE_URL, schema, migrate: false });
  const taskQueue = `test-${randomBytes(5).toString('hex')}`;
  client = await ScopeClient.connect({ store, address: temporal.address, taskQueue });
  await assert.rejects(client.scopeTree('ses-x'), noStore);
  await assert.rejects(client.actionsOfSession('ses-x'), noStore);
  await assert.rejects(client.scope('ses-x'), noStore);
  await assert.rejects(client.sessions(), noStore);
  await assert.rejects(client.roles(), noStore);
  // An id Temporal does not know either: the store's absence is the finding, not the id.
  await assert.rejects(client.reconcile('ses-x'), noStore);
  await assert.rejects(client.startSession(leaf, { input: { text: 'nowhere' } }), noStore);
  await assert.rejects(client.startSession(leaf, { input: { text: 'nowhere' }, sessionId: `ses-${randomBytes(4).toString('hex')}` }), noStore);
  assert.equal(await store.prepared!(), false, 'the client created no tables');

  // A worker starts on that store and prepares it: the client connected before it now answers.
  const { tools } = createFixtureTools();
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(tools), schema });
  const later = await ScopeClient.connect({ store, address: temporal.address, taskQueue: rt.taskQueue });
  try {
    const handle = await later.startSession(leaf, { input: { text: 'here' } });
    assert.equal(await handle.result(), 'here');
  } finally {
    await later.close();
  }
  assert.deepEqual(await client.actionsOfSession('ses-x'), []);
  assert.ok((await client.sessions()).length >= 1);
});
