/**
 * Ids a caller chooses: a session id may not collide with another session's scope ids,
 * and tool names may look like the remote operations they stand for.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { apiCaller, fanout } from '../fixtures/agents';
import { InvalidArgumentError } from '../../client/scope-client';

let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
});
after(async () => rt?.stop());

test('a session id with . or ~ is refused by the client, and by the root agent when started around the client; the other session is untouched', async () => {
  const a = await rt.client.startSession(fanout, { input: { n: 2 } });
  await a.result();
  const before = await sessionRows(rt, a.sessionId);

  for (const sessionId of [`${a.sessionId}.1`, `${a.sessionId}~1`]) {
    await assert.rejects(rt.client.startSession(fanout, { input: { n: 1 } , sessionId }), (err: Error) => {
      assert.ok(err instanceof InvalidArgumentError, err.message);
      assert.match(err.message, /startSession: invalid field "sessionId".*no \. or ~/);
      return true;
    });
  }
  // Started directly through Temporal, under the id of session A's first delegation.
  const raw = await rt.client.temporal.workflow.start('fanout', { workflowId: `${a.sessionId}.1x`, taskQueue: rt.taskQueue, args: [{ n: 1 }] });
  const failure = (pattern: RegExp) => (err: Error & { cause?: Error }) => {
    assert.match(err.cause?.message ?? '', pattern);
    return true;
  };
  await assert.rejects(raw.result(), failure(/invalid session id ".*\.1x" \(the workflow id of a root agent\)/));
  const collide = await rt.client.temporal.workflow.start('fanout', {
    workflowId: `${a.sessionId}.1`,
    taskQueue: rt.taskQueue,
    args: [{ n: 1 }],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  }).catch((err: Error) => err);
  if (!(collide instanceof Error)) await assert.rejects(collide.result(), failure(/invalid session id/));

  await rt.worker.recorder.drain();
  const after_ = await sessionRows(rt, a.sessionId);
  assert.deepEqual(after_.scopes, before.scopes, 'session A\'s scopes are unchanged');
  assert.deepEqual(after_.actions, before.actions, 'session A\'s actions are unchanged');
  assert.deepEqual(await rt.store.scopesOfSession(`${a.sessionId}.1x`), [], 'the refused run wrote nothing');
  assert.deepEqual((await rt.client.reconcile(a.sessionId)).differences, []);
});

test('tools named db.read and github/search-issues run, are recorded under their names, and reconcile', async () => {
  const s = await rt.client.startSession(apiCaller, { input: { table: 'users', q: 'bug' } });
  assert.equal(await s.result(), 8);
  const rows = await sessionRows(rt, s.sessionId);
  assert.deepEqual(
    rows.actions.filter((a) => a.kind === 'tool_call').map((a) => [a.name, a.status, a.resources.map((r) => r.uri).join()]),
    [
      ['db.read', 'success', 'db:main'],
      ['github/search-issues', 'success', 'api:github'],
    ],
  );
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  assert.deepEqual((await rt.client.drift('apiCaller')).filter((d) => d.drifted), [], 'no drift: the manifest names them the same way');
});
