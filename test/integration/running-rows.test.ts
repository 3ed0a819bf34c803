/**
 * A tool attempt's `running` row: written once the attempt has run for a while, so that a
 * call in flight shows as running, and not at all for an attempt that ends sooner.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { createFixtureTools } from '../fixtures/tools';
import { pacer } from '../fixtures/agents';
import type { RecordBatch } from '../../worker/recorder';

const { tools } = createFixtureTools();
const agents = require.resolve('../fixtures/agents');

/** Every action status committed, by action id, in commit order. */
function committedStatuses() {
  const seen = new Map<string, string[]>();
  return {
    seen,
    onCommitted(batch: RecordBatch) {
      for (const a of batch.actions ?? []) seen.set(a.actionId, [...(seen.get(a.actionId) ?? []), a.status]);
    },
  };
}

let delayed: TestRuntime;
let immediate: TestRuntime;
const delayedLog = committedStatuses();
const immediateLog = committedStatuses();

before(async () => {
  delayed = await startTestRuntime({ agents, tools: Object.values(tools), recorder: { onCommitted: delayedLog.onCommitted } });
  immediate = await startTestRuntime({ agents, tools: Object.values(tools), recorder: { onCommitted: immediateLog.onCommitted }, runningRowAfterMs: 0 });
});
after(async () => {
  await delayed?.stop();
  await immediate?.stop();
});

test('a fast attempt is stored as its terminal row alone; a slow one shows as running while it runs', async () => {
  const s = await delayed.client.startSession(pacer, { input: { ms: 1_500 } });
  // The slow call's row appears as running while the tool still sleeps.
  let runningSeen = false;
  for (let i = 0; i < 100 && !runningSeen; i++) {
    const rows = await delayed.store.actionsOfSession(s.sessionId);
    runningSeen = rows.some((a) => a.name === 'slow' && a.status === 'running');
    if (!runningSeen) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(runningSeen, 'the slow call was stored as running before it ended');
  assert.equal(await s.result(), 'paced');
  const rows = await delayed.store.actionsOfSession(s.sessionId);
  const calls = rows.filter((a) => a.kind === 'tool_call');
  assert.deepEqual(calls.map((a) => `${a.name} ${a.status}`).sort(), ['echo success', 'echo success', 'slow success']);
  const history = (name: string) => calls.filter((a) => a.name === name).map((a) => delayedLog.seen.get(a.actionId));
  assert.deepEqual(history('echo'), [['success'], ['success']], 'the fast calls were never written as running');
  assert.deepEqual(history('slow'), [['running', 'success']]);
  assert.deepEqual((await delayed.client.reconcile(s.sessionId)).differences, [], 'the store holds every attempt Temporal ran');
});

test('runningRowAfterMs: 0 writes every attempt\'s running row as it starts', async () => {
  const s = await immediate.client.startSession(pacer, { input: { ms: 200 } });
  assert.equal(await s.result(), 'paced');
  const calls = (await immediate.store.actionsOfSession(s.sessionId)).filter((a) => a.kind === 'tool_call');
  assert.equal(calls.length, 3);
  for (const a of calls) assert.deepEqual(immediateLog.seen.get(a.actionId), ['running', 'success'], a.actionId);
});

test('a bad runningRowAfterMs is refused, naming the field', async () => {
  const { ScopetrailPlugin } = await import('../../worker/plugin');
  assert.throws(
    () => new ScopetrailPlugin({ store: delayed.store, runningRowAfterMs: -5 }),
    (err: Error) => /runningRowAfterMs/.test(err.message),
  );
});
