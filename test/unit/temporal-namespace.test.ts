/**
 * The namespace a store reads and the one its client or worker works in are one: TEMPORAL_NAMESPACE
 * gives it wherever TEMPORAL_ADDRESS gives the address (an explicit option or flag wins), the
 * client and the worker take the store's when given none, and a different one is refused at
 * connect, not found later as another namespace's rows answering for this one's sessions.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../store';
import { ScopeClient } from '../../client/scope-client';
import { createWorker } from '../../worker/create-worker';
import { EXIT, runCli } from '../../client/cli';
import { namespaceFromEnv } from '../../cim/temporal-namespace';

/** A Postgres store opened without preparing it connects to nothing: its namespace is all these need. */
const NOWHERE = 'postgres://127.0.0.1:1/none';
const saved = process.env.TEMPORAL_NAMESPACE;
afterEach(() => {
  if (saved === undefined) delete process.env.TEMPORAL_NAMESPACE;
  else process.env.TEMPORAL_NAMESPACE = saved;
});

test('TEMPORAL_NAMESPACE: unset or empty is none, a name is taken, a value no namespace has is refused by its name', () => {
  assert.equal(namespaceFromEnv('x', {}), undefined);
  assert.equal(namespaceFromEnv('x', { TEMPORAL_NAMESPACE: '' }), undefined);
  assert.equal(namespaceFromEnv('x', { TEMPORAL_NAMESPACE: 'ns2' }), 'ns2');
  assert.throws(() => namespaceFromEnv('openStore', { TEMPORAL_NAMESPACE: 'ns 2' }), (err: Error & { field?: string }) => {
    assert.equal(err.field, 'TEMPORAL_NAMESPACE');
    assert.match(err.message, /^openStore: invalid TEMPORAL_NAMESPACE \(from the environment\) "ns 2": a namespace name has no spaces or control characters$/);
    return true;
  });
  assert.throws(() => namespaceFromEnv('x', { TEMPORAL_NAMESPACE: 'n'.repeat(256) }), /invalid TEMPORAL_NAMESPACE .*too long/);
});

test("openStore reads TEMPORAL_NAMESPACE's namespace when not given one; the option wins; a bad value is named", async () => {
  delete process.env.TEMPORAL_NAMESPACE;
  const plain = await openStore({ url: NOWHERE, migrate: false });
  assert.equal(plain.namespace, 'default');
  await plain.close();
  process.env.TEMPORAL_NAMESPACE = 'ns2';
  const fromEnv = await openStore({ url: NOWHERE, migrate: false });
  assert.equal(fromEnv.namespace, 'ns2');
  await fromEnv.close();
  const given = await openStore({ url: NOWHERE, migrate: false, namespace: 'ns3' });
  assert.equal(given.namespace, 'ns3');
  await given.close();
  process.env.TEMPORAL_NAMESPACE = 'ns\t2';
  await assert.rejects(openStore({ url: NOWHERE, migrate: false }), (err: Error & { field?: string }) => err.field === 'TEMPORAL_NAMESPACE' && /TEMPORAL_NAMESPACE/.test(err.message));
});

test("ScopeClient.connect takes the store's namespace, and refuses another, naming namespace and how to open the store", async () => {
  const store = await openStore({ url: NOWHERE, migrate: false });
  try {
    await assert.rejects(
      ScopeClient.connect({ store, taskQueue: 'q', address: '127.0.0.1:1', namespace: 'ns2' }),
      (err: Error & { field?: string }) => {
        assert.equal(err.field, 'namespace');
        assert.match(err.message, /^ScopeClient\.connect: invalid field "namespace": the store reads the records of namespace "default", not "ns2": open the store with the same namespace \(openStore\(\{ namespace: "ns2" \}\) or TEMPORAL_NAMESPACE\)/);
        return true;
      },
    );
    const same = await ScopeClient.connect({ store, taskQueue: 'q', address: '127.0.0.1:1', namespace: 'default' });
    assert.equal(same.temporal.options.namespace, 'default');
    await same.close();
  } finally {
    await store.close();
  }
  const ns2 = await openStore({ url: NOWHERE, migrate: false, namespace: 'ns2' });
  try {
    const client = await ScopeClient.connect({ store: ns2, taskQueue: 'q', address: '127.0.0.1:1' });
    assert.equal(client.temporal.options.namespace, 'ns2', "the store's, not default");
    await client.close();
  } finally {
    await ns2.close();
  }
  // Both from the environment, as a deployment sets them: one namespace.
  process.env.TEMPORAL_NAMESPACE = 'ns4';
  const envStore = await openStore({ url: NOWHERE, migrate: false });
  try {
    const client = await ScopeClient.connect({ store: envStore, taskQueue: 'q', address: '127.0.0.1:1' });
    assert.equal(client.temporal.options.namespace, 'ns4');
    await client.close();
  } finally {
    await envStore.close();
  }
});

test("createWorker takes the store's namespace and refuses another before it connects", async () => {
  const store = await openStore({ url: NOWHERE, migrate: false });
  try {
    await assert.rejects(
      createWorker({ agents: require.resolve('../fixtures/agents'), tools: [], store, taskQueue: 'q', address: '127.0.0.1:1', namespace: 'ns2' }),
      (err: Error & { field?: string }) => {
        assert.equal(err.field, 'namespace');
        assert.match(err.message, /^createWorker: invalid field "namespace": the store reads the records of namespace "default", not "ns2"/);
        return true;
      },
    );
  } finally {
    await store.close();
  }
});

test('the CLI refuses a TEMPORAL_NAMESPACE no namespace has as a usage error naming it, before opening anything', async () => {
  process.env.TEMPORAL_NAMESPACE = 'bad ns';
  for (const argv of [['sessions', '--data-dir', mkdtempSync(join(tmpdir(), 'ns-env-'))], ['worker', '--data-dir', mkdtempSync(join(tmpdir(), 'ns-env-'))]]) {
    const err: string[] = [];
    const code = await runCli(argv, { log: () => undefined, err: (t) => err.push(t) });
    assert.equal(code, EXIT.usage, `${argv[0]}: ${err.join('\n')}`);
    assert.match(err.join('\n'), /invalid TEMPORAL_NAMESPACE \(from the environment\) "bad ns": a namespace name has no spaces or control characters/);
  }
  // --namespace wins over it.
  const err: string[] = [];
  const code = await runCli(['sessions', '--data-dir', mkdtempSync(join(tmpdir(), 'ns-env-')), '--namespace', 'ns2', '--address', '127.0.0.1:1'], { log: () => undefined, err: (t) => err.push(t) });
  assert.doesNotMatch(err.join('\n'), /TEMPORAL_NAMESPACE/);
  assert.notEqual(code, EXIT.usage);
});

test("a worker made with the plugin is refused a namespace other than its store's, naming both", async () => {
  const { ScopetrailPlugin } = await import('../../worker/plugin');
  const store = await openStore({ url: NOWHERE, migrate: false, namespace: 'ns2' });
  try {
    const plugin = new ScopetrailPlugin({ store, fingerprintKey: false, spool: false, log: () => undefined });
    assert.throws(() => plugin.configureWorker({ taskQueue: 'q' }), (err: Error & { field?: string }) => {
      assert.equal(err.field, 'namespace');
      assert.match(err.message, /the worker's namespace is "default" but its store reads the records of namespace "ns2": give Worker\.create namespace: "ns2"/);
      return true;
    });
    assert.equal(plugin.configureWorker({ taskQueue: 'q', namespace: 'ns2' }).namespace, 'ns2');
  } finally {
    await store.close();
  }
});
