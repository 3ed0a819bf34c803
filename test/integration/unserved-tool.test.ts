/**
 * A tool no worker of the queue registers: Temporal's worker fails each attempt before any
 * interceptor runs, so the attempts have no rows of their own. The workflow fills them in
 * saying what failed them, not that a worker was lost, and the worker said at start which
 * declared tools it does not serve.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { ghostCaller } from '../fixtures/agents';

let rt: TestRuntime;
const logged: string[] = [];
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools), log: (message: string) => logged.push(message) });
});
after(async () => rt?.stop());

test('the worker names, at start, the declared tools it does not register', async () => {
  // Said once the store is prepared, when it can also say which tools workers of other queues serve.
  const find = () => logged.find((m) => m.startsWith('agents declare tools this worker does not register'));
  for (const deadline = Date.now() + 5_000; !find() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  const warning = find();
  assert.ok(warning, logged.join('\n'));
  assert.match(warning, /ghostTool \(ghostCaller\)/);
});

test('every attempt of a call to an unregistered tool is recorded as failed by it, not as a lost worker', async () => {
  const s = await rt.client.startSession(ghostCaller, { input: {} });
  assert.match(String(await s.result()), /^failed: Activity function ghostTool is not registered on this Worker/);
  const calls = (await sessionRows(rt, s.sessionId)).actions.filter((a) => a.kind === 'tool_call');
  assert.deepEqual(calls.map((a) => [a.name, a.attempt, a.status]), [['ghostTool', 1, 'error'], ['ghostTool', 2, 'error'], ['ghostTool', 3, 'error']]);
  for (const c of calls) {
    assert.match(c.error ?? '', /^Activity function ghostTool is not registered on this Worker/, `attempt ${c.attempt}`);
    assert.deepEqual(c.resources, [], 'it never ran');
  }
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});
