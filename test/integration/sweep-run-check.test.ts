/**
 * The sweep finds ended, unsealed scopes in the store (their worker died before sealing
 * them, or another worker is about to). Such a row may come from a run whose last task
 * Temporal can still refuse, so the sweep waits, like a worker that saw the end, for the
 * run the row names to close. A row naming a run Temporal cannot name must not hold up
 * sealing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sealState } from '../helpers/test-sql';
import { createFixtureTools } from '../fixtures/tools';
import { sleeper } from '../fixtures/agents';
import { scope } from '../unit/fixtures';

let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
});
after(async () => rt?.stop());

test('a swept scope waits for the run its row names to close; one naming a run Temporal cannot name is sealed at once', async () => {
  const s = await rt.client.startSession(sleeper, { input: undefined });
  const handle = rt.client.temporal.workflow.getHandle(s.sessionId);
  const { runId } = await handle.describe();
  const tag = randomBytes(4).toString('hex');
  const session = `swept-${tag}`;
  const now = new Date().toISOString();
  // Rows as a worker that died before sealing would have left them.
  const open = scope(`${session}-open`, { sessionId: session, workflowId: s.sessionId, runId, startedAt: now, endedAt: now, path: `/${session}-open/` });
  const unnamed = scope(`${session}-unnamed`, { sessionId: session, workflowId: `${session}-gone`, runId: 'not-a-run-id', startedAt: now, endedAt: now, path: `/${session}-unnamed/` });
  await rt.store.upsertScopes([open, unnamed]);
  const sealer = rt.worker.recorder.sealer;
  try {
    await sealer.sweep();
    await sealer.drain();
    assert.equal(await sealState(rt.store, session, unnamed.scopeId), 'sealed', 'a run Temporal cannot name holds nothing up');
    assert.equal(await sealState(rt.store, session, open.scopeId), 'unsealed', 'not sealed while its run is open');
    await sealer.sweep();
    await sealer.drain();
    assert.equal(await sealState(rt.store, session, open.scopeId), 'unsealed', 'a second sweep leaves it waiting');
  } finally {
    await handle.terminate('the test is done with it');
  }
  await sealer.drain();
  assert.equal(await sealState(rt.store, session, open.scopeId), 'sealed', 'sealed once its run has closed');
});
