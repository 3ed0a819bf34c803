/**
 * A Temporal address given to the API (ScopeClient.connect, createWorker) or through
 * TEMPORAL_ADDRESS is checked where it is given: a malformed one was the SDK's TypeError
 * naming no option, at the first call that needed the server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../store';
import { ScopeClient } from '../../client/scope-client';
import { createWorker } from '../../worker/create-worker';
import { TemporalAddressOption, addressFromEnv } from '../../cim/temporal-address';

const NOWHERE = 'postgres://127.0.0.1:1/none';

test('HOST:PORT and a host alone are taken; a scheme, a bad host or a bad port is refused, saying how to write one', () => {
  for (const ok of ['localhost:7233', 'temporal.internal', '10.0.0.5:7233', '[::1]:7233', 'my-host_1.example.com:443']) {
    assert.equal(TemporalAddressOption.safeParse(ok).success, true, ok);
  }
  for (const [bad, why] of [
    ['not a host:::', /is not a host name or IP address; give the Temporal server as HOST:PORT, e.g. localhost:7233/],
    ['http://localhost:7233', /give HOST:PORT without a scheme/],
    ['localhost:99999', /"99999" is not a port/],
    ['', /it is empty/],
  ] as Array<[string, RegExp]>) {
    const parsed = TemporalAddressOption.safeParse(bad);
    assert.equal(parsed.success, false, bad);
    assert.match(parsed.error!.issues[0]!.message, why);
  }
  assert.equal(addressFromEnv('x', {}), undefined);
  assert.equal(addressFromEnv('x', { TEMPORAL_ADDRESS: 'temporal:7233' }), 'temporal:7233');
  assert.throws(() => addressFromEnv('createWorker', { TEMPORAL_ADDRESS: 'a b:1' }), (err: Error & { field?: string }) => {
    assert.equal(err.field, 'TEMPORAL_ADDRESS');
    assert.match(err.message, /^createWorker: invalid TEMPORAL_ADDRESS \(from the environment\) "a b:1": "a b" is not a host name/);
    return true;
  });
});

test('ScopeClient.connect and createWorker refuse a malformed address naming the field, before anything connects', async () => {
  const store = await openStore({ url: NOWHERE, migrate: false });
  try {
    await assert.rejects(ScopeClient.connect({ store, taskQueue: 'q', address: 'not a host:::' }), (err: Error & { field?: string }) => {
      assert.equal(err.field, 'address');
      assert.match(err.message, /invalid field "address"/);
      return true;
    });
    await assert.rejects(createWorker({ store, taskQueue: 'q', agents: require.resolve('../fixtures/agents'), tools: [], address: 'http://x:1' }), (err: Error & { field?: string }) => {
      assert.equal(err.field, 'address');
      return true;
    });
    const saved = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = 'not a host:::';
    try {
      await assert.rejects(ScopeClient.connect({ store, taskQueue: 'q' }), (err: Error & { field?: string }) => err.field === 'TEMPORAL_ADDRESS');
    } finally {
      if (saved === undefined) delete process.env.TEMPORAL_ADDRESS;
      else process.env.TEMPORAL_ADDRESS = saved;
    }
  } finally {
    await store.close();
  }
});
