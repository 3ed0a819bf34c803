/**
 * A tool result Temporal cannot take: the store must say what Temporal saw (a failed
 * attempt, with the reason), never a success Temporal refused or timed out.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { bulkReader } from '../fixtures/agents';

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
