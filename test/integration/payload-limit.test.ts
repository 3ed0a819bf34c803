/**
 * A tool result Temporal cannot take: the store must say what Temporal saw (a failed
 * attempt, with the reason), never a success Temporal refused or timed out.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { WorkflowNotFoundError } from '@temporalio/client';
import { bulkReader, loudFailer, oddReader, oddResult, waiter } from '../fixtures/agents';

let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
});
after(async () => rt?.stop());

for (const bytes of [3 * 1024 * 1024, 10 * 1024 * 1024]) {
  test(`a ${bytes / 1024 / 1024} MiB result fails its one attempt with the reason, and the store agrees with history`, async () => {
    const s = await rt.client.startSession(bulkReader, { input: { bytes } });
    const result = await s.result();
    assert.match(String(result), /^failed: the output of bulky is \d+\.\d MiB, over Temporal's payload limit of 2\.0 MiB/);
    const rows = await sessionRows(rt, s.sessionId);
    const calls = rows.actions.filter((a) => a.kind === 'tool_call');
    assert.deepEqual(calls.map((a) => [a.name, a.attempt, a.status]), [['bulky', 1, 'error']], 'not retried: the same work gives the same size');
    assert.match(calls[0]!.error ?? '', /return a reference to the data/);
    assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  });
}

test('a result under the limit goes through as a success', async () => {
  const s = await rt.client.startSession(bulkReader, { input: { bytes: 600 * 1024 } });
  assert.equal(await s.result(), 600 * 1024);
  const rows = await sessionRows(rt, s.sessionId);
  assert.deepEqual(rows.actions.filter((a) => a.kind === 'tool_call').map((a) => a.status), ['success']);
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});

for (const [call, reason] of <Array<['bigint' | 'cycle' | 'bytes' | 'map', RegExp]>>[
  ['bigint', /its output cannot be sent to Temporal as JSON: output\.n is a BigInt \(10n\), which JSON cannot hold/],
  ['cycle', /its output cannot be sent to Temporal as JSON: output\.self refers back to output: a cycle, which JSON cannot hold$/],
  // JSON would have sent these as something else: the agent got `{"0":5,"1":6}` for the bytes, `{}` for the Map.
  ['bytes', /its output cannot be sent to Temporal as JSON: output\.data is a Uint8Array, which JSON would turn into a plain object; send it as base64 text$/],
  ['map', /its output cannot be sent to Temporal as JSON: output\.index\[0\] is a Map, which JSON would turn into an empty object; send an object or an array of \[key, value\] pairs$/],
]) {
  test(`an output Temporal's converter cannot send (${call}) fails its one attempt with the reason, never a success`, async () => {
    const s = await rt.client.startSession(oddReader, { input: { call } });
    assert.match(String(await s.result()), /^failed: tool oddOutput: /);
    const calls = (await sessionRows(rt, s.sessionId)).actions.filter((a) => a.kind === 'tool_call');
    assert.deepEqual(calls.map((a) => [a.name, a.attempt, a.status]), [['oddOutput', 1, 'error']], 'not retried: the same work gives the same output');
    assert.match(calls[0]!.error ?? '', reason);
    assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  });
}

for (const [kind, why] of <Array<['bigint' | 'bytes' | 'map' | 'cycle', string]>>[
  ['bigint', 'result.total is a BigInt (10n), which JSON cannot hold'],
  ['bytes', 'result.blob.data is a Uint8Array, which JSON would turn into a plain object; send it as base64 text'],
  ['map', 'result is a Map, which JSON would turn into an empty object; send an object or an array of [key, value] pairs'],
  ['cycle', 'result.self refers back to result: a cycle, which JSON cannot hold'],
]) {
  test(`an agent whose result Temporal's converter cannot send as it is (${kind}) fails its run saying why, and its scope is recorded an error, never a success`, { timeout: 30_000 }, async () => {
    const s = await rt.client.startSession(oddResult, { input: { kind } });
    // Before, the scope was recorded a success and the run's workflow task failed over and over: result() never settled.
    const failure = await Promise.race([
      s.result().then(
        (v) => assert.fail(`the session should fail, but returned ${JSON.stringify(v)}`),
        (err: Error & { cause?: Error }) => err.cause ?? err,
      ),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the run is still open after 15 s')), 15_000)),
    ]);
    assert.equal(failure.message, `agent oddResult: its result cannot be sent to Temporal: ${why}`);
    assert.equal((failure as Error & { type?: string }).type, 'UnsendableAgentResult');
    assert.equal((failure as Error & { nonRetryable?: boolean }).nonRetryable, true);
    const [scope] = (await sessionRows(rt, s.sessionId)).scopes;
    assert.deepEqual([scope?.status, scope?.error], ['error', failure.message]);
    assert.equal((await rt.client.temporal.workflow.getHandle(s.sessionId).describe()).status.name, 'FAILED');
    assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  });
}

test('an agent whose result JSON carries ends as a success', async () => {
  const s = await rt.client.startSession(oddResult, { input: { kind: 'plain' as const } });
  assert.deepEqual(await s.result(), { total: 10 });
  assert.equal((await sessionRows(rt, s.sessionId)).scopes[0]?.status, 'success');
});

test('a tool failure with a 3 MiB message fails its attempts with the message cut, which the agent, the rows and history share', async () => {
  const s = await rt.client.startSession(oddReader, { input: { call: 'hugeError' as const } });
  const result = String(await s.result());
  // Before, Temporal refused each failure as too large and every attempt timed out instead.
  const said = `${result.slice(0, 60)}…${result.slice(-160)} (${result.length} characters)`;
  assert.ok(!/timeout/i.test(result), said);
  assert.ok(result.startsWith(`failed: upstream said: ${'x'.repeat(32_768 - 15)}… [`), said);
  assert.ok(result.endsWith("… [3112975 more characters cut: a failure message is kept to 32768 characters, so that Temporal can take it]"), said);
  const calls = (await sessionRows(rt, s.sessionId)).actions.filter((a) => a.kind === 'tool_call');
  assert.deepEqual(calls.map((a) => [a.attempt, a.status]), [[1, 'error'], [2, 'error'], [3, 'error']], 'retried as the tool\'s own failure is');
  for (const c of calls) assert.ok(c.error === result.slice('failed: '.length), `attempt ${c.attempt}: ${c.error?.length} characters`);
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});

test('an agent failing with a 3 MiB message: its run closes, failed with the message cut, which its scope\'s row and history share', async () => {
  const s = await rt.client.startSession(loudFailer, { input: { chars: 3 * 1024 * 1024 } });
  // Before, Temporal refused the run's failure as too large and its workflow task failed over and over: result() never settled.
  const failure = await s.result().then(
    () => assert.fail('the session should fail'),
    (err: Error & { cause?: Error }) => err.cause ?? err,
  );
  const cut = "… [3112969 more characters cut: a failure message is kept to 32768 characters, so that Temporal can take it]";
  assert.ok(failure.message.endsWith(cut) && failure.message.length < 33_000, failure.message.slice(-200));
  const [scope] = (await sessionRows(rt, s.sessionId)).scopes;
  assert.equal(scope?.status, 'error');
  assert.ok(scope?.error === failure.message, `${scope?.error?.length} characters stored`);
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});

test('a call whose input the tool\'s schema refuses never ran: its row touched nothing the tool declares', async () => {
  const s = await rt.client.startSession(oddReader, { input: { call: 'badInput' as const } });
  assert.match(String(await s.result()), /^failed: tool overrun: invalid field "input\.ms"/);
  const [call, ...more] = (await sessionRows(rt, s.sessionId)).actions.filter((a) => a.kind === 'tool_call');
  assert.deepEqual(more, [], 'not retried');
  assert.deepEqual([call?.status, call?.resources], ['error', []]);
  const touched = await rt.client.wasTouched(s.sessionId, 'api:slow-upstream');
  assert.equal(touched.touched, false);
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});

for (const [call, why] of <Array<['bigintInput' | 'cycleInput', string]>>[
  ['bigintInput', 'input.limit is a BigInt (10n), which JSON cannot hold'],
  ['cycleInput', 'input.self refers back to input: a cycle, which JSON cannot hold'],
]) {
  test(`a tool input Temporal's converter cannot send (${call}) is refused to the agent naming the value, no call is made, and the scope agrees with history`, async () => {
    const s = await rt.client.startSession(oddReader, { input: { call } });
    // Before, the agent got the converter's own words ("Do not know how to serialize a BigInt"), and the
    // scope counted a failed call history never had: a caught refusal left it degraded against history's success.
    assert.equal(String(await s.result()), `failed: tool oddOutput: its input cannot be sent to Temporal: ${why}`);
    const rows = await sessionRows(rt, s.sessionId);
    assert.deepEqual(rows.actions.filter((a) => a.kind === 'tool_call'), [], 'never scheduled');
    assert.equal(rows.scopes[0]?.status, 'success');
    assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  });
}

for (const mib of [3, 5]) {
  test(`a ${mib} MiB session input is refused naming input, its size and the limit, before anything starts`, async () => {
    const sessionId = `big-input-${mib}-${Date.now()}`;
    const started = Date.now();
    const input = { steps: 1, pad: 'x'.repeat(mib * 1024 * 1024) };
    await assert.rejects(rt.client.startSession(waiter, { input, sessionId }), (err: Error & { field?: string; bytes?: number; limitBytes?: number }) => {
      assert.equal(err.name, 'PayloadTooLargeError');
      assert.equal(err.field, 'input');
      assert.match(err.message, new RegExp(`^startSession: invalid field "input": it is ${mib}\\.0 MiB encoded, over Temporal's payload limit of 2\\.0 MiB; pass a reference`));
      assert.ok(err.bytes! > mib * 1024 * 1024 && err.limitBytes === 2 * 1024 * 1024);
      return true;
    });
    // Over the gRPC message limit the SDK retried for half a minute before it gave up.
    assert.ok(Date.now() - started < 5_000, `refused at once (${Date.now() - started} ms)`);
    await assert.rejects(rt.client.temporal.workflow.getHandle(sessionId).describe(), WorkflowNotFoundError, 'nothing started in Temporal');
    assert.deepEqual(await rt.store.scopesOfSession(sessionId), [], 'nothing recorded');
  });
}

test('a session input the data converter cannot send as it is (a BigInt, a cycle, nested bytes, a Map) is refused naming the value, before anything starts', async () => {
  const cyclic: Record<string, unknown> = { steps: 1 };
  cyclic.self = cyclic;
  for (const [input, why] of [
    [{ steps: 1, n: 10n }, 'input.n is a BigInt (10n), which JSON cannot hold'],
    [cyclic, 'input.self refers back to input: a cycle, which JSON cannot hold'],
    // Before, these started, and the agent got `{"0":5,"1":6}` and `{}`.
    [{ steps: 1, blob: new Uint8Array([5, 6]) }, 'input.blob is a Uint8Array, which JSON would turn into a plain object; send it as base64 text'],
    [{ steps: 1, seen: new Map([['a', 1]]) }, 'input.seen is a Map, which JSON would turn into an empty object; send an object or an array of [key, value] pairs'],
    // Before, it started with the function left out.
    [{ steps: 1, onDone: () => 1 }, 'input.onDone is a function, which JSON would drop; send data only'],
  ] as Array<[{ steps: number }, string]>) {
    const sessionId = `unencodable-${Date.now()}`;
    await assert.rejects(rt.client.startSession(waiter, { input, sessionId }), (err: Error & { field?: string }) => {
      assert.equal(err.name, 'UnencodableValueError');
      assert.equal(err.field, 'input');
      assert.equal(err.message, `startSession: invalid field "input": it cannot be sent to Temporal: ${why}`);
      return true;
    });
    await assert.rejects(rt.client.temporal.workflow.getHandle(sessionId).describe(), WorkflowNotFoundError, 'nothing started in Temporal');
  }
});

test('a handoff request whose input is too large is refused naming input; the agent never sees it and carries on', async () => {
  const s = await rt.client.startSession(waiter, { input: { steps: 4 } });
  await assert.rejects(
    rt.client.requestHandoff(s.sessionId, { to: 'chainC', reason: 'too much to carry', input: { hops: ['x'.repeat(3 * 1024 * 1024)] } }),
    (err: Error & { field?: string }) => {
      assert.equal(err.name, 'PayloadTooLargeError');
      assert.equal(err.field, 'input');
      assert.match(err.message, /^requestHandoff: invalid field "input": it is 3\.0 MiB encoded, over Temporal's payload limit of 2\.0 MiB/);
      return true;
    },
  );
  // A value JSON would change on the way is refused naming its place in the input, not in the request.
  await assert.rejects(rt.client.requestHandoff(s.sessionId, { to: 'chainC', reason: 'a set', input: { hops: ['a'], seen: new Set(['a']) } }), {
    name: 'UnencodableValueError',
    message: 'requestHandoff: invalid field "input": it cannot be sent to Temporal: input.seen is a Set, which JSON would turn into an empty object; send an array',
  });
  assert.equal(await s.result(), 'finished without handoff');
  const rows = await sessionRows(rt, s.sessionId);
  assert.deepEqual(rows.scopes.map((x) => x.kind), ['root']);
  assert.deepEqual(rows.actions.filter((a) => a.kind === 'signal'), [], 'no signal reached the agent');
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});
