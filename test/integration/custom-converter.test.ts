/**
 * Workers with a payload converter of their own (`payloadConverterPath`): what it can send
 * goes through, a BigInt included, and what it cannot send is refused where scopetrail
 * records it, so the store says what Temporal saw: a failed attempt or a failed run,
 * never a success Temporal then could not send.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { oddReader, oddResult } from '../fixtures/agents';
import { ScopeClient } from '../../client/scope-client';

const dataConverter = { payloadConverterPath: require.resolve('../fixtures/ledger-converter') };
let rt: TestRuntime;
/** A client that converts as the workers do. */
let client: ScopeClient;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools), dataConverter });
  client = await ScopeClient.connect({ address: rt.temporal.address, taskQueue: rt.taskQueue, store: rt.store, dataConverter });
});
after(async () => {
  await client?.close();
  await rt?.stop();
});

/** The session's result, or a note that it is still open (its workflow task failing over and over). */
function settled<T>(result: Promise<T>): Promise<T> {
  return Promise.race([result, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the run is still open after 15 s')), 15_000))]);
}

test('a tool output the worker\'s converter carries (a BigInt) is a success, and the agent gets the BigInt', async () => {
  const s = await client.startSession(oddReader, { input: { call: 'bigint' as const } });
  assert.deepEqual(await settled(s.result()), { n: 10n });
  const calls = (await sessionRows(rt, s.sessionId)).actions.filter((a) => a.kind === 'tool_call');
  assert.deepEqual(calls.map((a) => [a.name, a.attempt, a.status]), [['oddOutput', 1, 'success']]);
  assert.deepEqual((await client.reconcile(s.sessionId)).differences, []);
});

test('a tool output the worker\'s converter cannot send fails its one attempt with the converter\'s reason, never a success', { timeout: 30_000 }, async () => {
  const s = await client.startSession(oddReader, { input: { call: 'nan' as const } });
  const said = "tool oddOutput: its output cannot be sent to Temporal: the worker's payload converter says: NaN is not a number a ledger can hold";
  assert.equal(await settled(s.result()), `failed: ${said}`);
  const calls = (await sessionRows(rt, s.sessionId)).actions.filter((a) => a.kind === 'tool_call');
  assert.deepEqual(calls.map((a) => [a.name, a.attempt, a.status, a.error]), [['oddOutput', 1, 'error', said]], 'not retried: the same work gives the same output');
  assert.deepEqual((await client.reconcile(s.sessionId)).differences, []);
});

test('an agent result the workflow\'s converter carries (a BigInt) ends the run as a success', async () => {
  const s = await client.startSession(oddResult, { input: { kind: 'bigint' as const } });
  assert.deepEqual(await settled(s.result()), { total: 10n });
  assert.equal((await sessionRows(rt, s.sessionId)).scopes[0]?.status, 'success');
  assert.deepEqual((await client.reconcile(s.sessionId)).differences, []);
});

test('an agent result the workflow\'s converter cannot send fails the run with the converter\'s reason, and its scope is recorded an error', { timeout: 30_000 }, async () => {
  const s = await client.startSession(oddResult, { input: { kind: 'nan' as const } });
  const failure = await settled(
    s.result().then(
      (v) => assert.fail(`the session should fail, but returned ${String(v)}`),
      (err: Error & { cause?: Error }) => err.cause ?? err,
    ),
  );
  assert.equal(failure.message, "agent oddResult: its result cannot be sent to Temporal: the workflow's payload converter says: NaN is not a number a ledger can hold");
  const [scope] = (await sessionRows(rt, s.sessionId)).scopes;
  assert.deepEqual([scope?.status, scope?.error], ['error', failure.message]);
  assert.deepEqual((await client.reconcile(s.sessionId)).differences, []);
});
