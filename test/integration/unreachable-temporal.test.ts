/**
 * A ScopeClient whose Temporal address answers nothing: what reads only the store still
 * works, what needs Temporal fails within seconds naming the address and the fix (not
 * after the SDK's half minute of retries, as a bare UNAVAILABLE), and a server that
 * comes up later is used by the same client.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '@temporalio/client';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { leaf } from '../fixtures/agents';
import { ScopeClient, TemporalUnreachableError } from '../../client/scope-client';

let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
});
after(async () => rt?.stop());

/** Port 1 on loopback: nothing listens there, so every connection is refused at once. */
const NOWHERE = '127.0.0.1:1';

/** `call` fails with TemporalUnreachableError for `address` within `ms`; the error it threw. */
async function refusedPromptly(call: () => Promise<unknown>, address: string, ms: number): Promise<TemporalUnreachableError> {
  const started = Date.now();
  const err = await call().then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  const took = Date.now() - started;
  assert.ok(err instanceof TemporalUnreachableError, `${(err as Error).name}: ${(err as Error).message}`);
  assert.ok(took < ms, `failed after ${took} ms`);
  assert.equal(err.name, 'TemporalUnreachableError');
  assert.equal(err.field, 'address');
  assert.equal(err.address, address);
  return err;
}

test('with nothing at the address, calls that need Temporal fail at once naming it and the fix; store queries answer', async () => {
  const client = await ScopeClient.connect({ store: rt.store, address: NOWHERE, taskQueue: rt.taskQueue });
  try {
    assert.deepEqual(await client.sessions(), []);
    // The first attempt to connect is refused at once, and says so.
    const err = await refusedPromptly(() => client.startSession(leaf, { input: { text: 'hi' } }), NOWHERE, 3_000);
    assert.match(
      err.message,
      /^Temporal at 127\.0\.0\.1:1 is not reachable \(.*ECONNREFUSED.*\): start it, or give its address with ScopeClient\.connect\(\{ address \}\) or TEMPORAL_ADDRESS$/,
    );
    // Each later call waits for the channel's next attempt (about 3 s: a server started since
    // would answer it), no longer; the bound leaves room for a loaded machine, far below the SDK's retries.
    await refusedPromptly(() => client.reconcile('ses-none'), NOWHERE, 8_000);
    await refusedPromptly(() => client.verify('ses-none'), NOWHERE, 8_000);
    await refusedPromptly(() => client.requestHandoff('ses-none', { to: 'leaf', reason: 'r' }), NOWHERE, 8_000);
    await refusedPromptly(() => client.visibility(), NOWHERE, 8_000);
  } finally {
    await client.close();
  }
});

test('a connection the caller made is checked too, within the deadline, and the fix names the connection', async () => {
  const connection = Connection.lazy({ address: NOWHERE });
  const client = await ScopeClient.connect({ store: rt.store, connection, taskQueue: rt.taskQueue });
  try {
    // Only the SDK's public calls reach that connection: its retries wait out the deadline.
    const err = await refusedPromptly(() => client.startSession(leaf, { input: { text: 'hi' } }), NOWHERE, 10_000);
    assert.match(err.message, /^Temporal at 127\.0\.0\.1:1 is not reachable \(.+\): start it, or give ScopeClient\.connect a connection to a server that answers$/);
  } finally {
    await client.close();
    await connection.close();
  }
});

test('a server that answers only later is used by the same client, sessions publishing their scopes as usual', async () => {
  const [host, port] = rt.temporal.address.split(':');
  const proxy: TcpProxy = await startTcpProxy(host!, Number(port));
  const address = `127.0.0.1:${proxy.port}`;
  await proxy.cut();
  const client = await ScopeClient.connect({ store: rt.store, address, taskQueue: rt.taskQueue });
  try {
    await refusedPromptly(() => client.startSession(leaf, { input: { text: 'early' } }), address, 3_000);
    await proxy.restore();
    // The refusal was not kept: neither the connection's nor visibility's.
    assert.equal(await client.visibility(), true, 'the dev server has scopetrail\'s search attributes');
    const session = await client.startSession(leaf, { input: { text: 'late' } });
    assert.equal(await session.result(), 'late');
    await sessionRows(rt, session.sessionId);
    assert.deepEqual((await client.reconcile(session.sessionId)).differences, []);
  } finally {
    await client.close();
    await proxy.close();
  }
});

test('a gRPC server that is not Temporal is named as such, not left to a bare UNIMPLEMENTED', async () => {
  // @grpc/grpc-js comes with the Temporal SDK: a server with no services answers every method UNIMPLEMENTED.
  const grpc = await import('@grpc/grpc-js');
  const server = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = `127.0.0.1:${port}`;
  const client = await ScopeClient.connect({ store: rt.store, address, taskQueue: rt.taskQueue });
  try {
    const err = await refusedPromptly(() => client.startSession(leaf, { input: { text: 'hi' } }), address, 3_000);
    assert.match(err.message, new RegExp(`^Temporal at ${address.replace(/\./g, '\\.')} is not reachable \\(a gRPC server answers there, but not Temporal's: .*GetSystemInfo\\): `));
  } finally {
    await client.close();
    server.forceShutdown();
  }
});

test('bad ids and agents are named as such before or instead of the SDK\'s own errors', async () => {
  for (const agent of [undefined, null, 42, {}]) {
    await assert.rejects(rt.client.startSession(agent as never, { input: {} }), (err: Error & { field?: string }) => {
      assert.equal(err.name, 'InvalidArgumentError');
      assert.equal(err.field, 'agent');
      assert.match(err.message, /^startSession: invalid field "agent": give an agent made with defineAgent or defineModelAgent, or its name$/);
      return true;
    });
  }
  await assert.rejects(rt.client.requestHandoff('ses-nobody', { to: 'leaf', reason: 'r' }), (err: Error & { field?: string }) => {
    assert.equal(err.name, 'UnknownIdError');
    assert.equal(err.field, 'workflowId');
    assert.match(err.message, /^no agent "ses-nobody" in Temporal \(namespace default\): give the id of a session or of a delegation in one/);
    return true;
  });
});

test('a named session id the store cannot check (the store down) is refused saying so, not with a driver error', async () => {
  const down = new Proxy(rt.store, {
    get(target, key) {
      if (key === 'sessionHasScopes') return async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432\n    at stack'));
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const client = await ScopeClient.connect({ store: down, address: rt.temporal.address, taskQueue: rt.taskQueue });
  try {
    await assert.rejects(client.startSession(leaf, { input: { text: 'hi' }, sessionId: 'ses-named-while-down' }), (err: Error & { field?: string }) => {
      assert.equal(err.name, 'SessionIdUncheckedError');
      assert.equal(err.field, 'sessionId');
      assert.equal(err.message, 'startSession: session id "ses-named-while-down" cannot be checked, because the store does not answer (connect ECONNREFUSED 127.0.0.1:5432): start without a sessionId (a generated id needs no check), or retry once the store is back');
      return true;
    });
    // Without an id there is nothing to check: the session starts and runs.
    const s = await client.startSession(leaf, { input: { text: 'hi' } });
    await s.result();
  } finally {
    await client.close();
  }
});
