/**
 * A run's last workflow task whose completion the server refuses: a signal arrived while
 * the task ran, so Temporal fails the task (UnhandledCommand) and hands the run a new one
 * with the signal, in which the agent ends again. The first attempt's records were
 * committed before its completion went out; the store must end up as history has it.
 * The write of the scope's end is held, so that the signal arrives while the task runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { sealState } from '../helpers/test-sql';
import { createFixtureTools } from '../fixtures/tools';
import { leaf } from '../fixtures/agents';
import { UNHANDLED_SIGNAL_ERROR } from '../../cim/names';
import { delayCalls } from '../helpers/delayed-store';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

let rt: TestRuntime;
/** Which attempt of which session's end to hold, and what the test does meanwhile. */
let holdEnd: ((sessionId: string, attempt: number) => Promise<void> | undefined) | undefined;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
  const ends = new Map<string, number>();
  await rt.restartWorker({
    store: delayCalls(rt.store, 'writeBatch', (batch) => {
      const end = batch.scopes?.find((s) => s.status !== 'running' && s.kind === 'root');
      if (!end || !holdEnd) return undefined;
      const attempt = (ends.get(end.sessionId) ?? 0) + 1;
      ends.set(end.sessionId, attempt);
      return holdEnd(end.sessionId, attempt);
    }),
  });
});
after(async () => rt?.stop());

async function refusedCompletions(sessionId: string): Promise<number> {
  const history = await rt.client.temporal.workflow.getHandle(sessionId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
}

/** Runs a leaf session whose end is held until a signal has reached the run; `between` runs before the retried end is written. */
async function endRefused(between: (sessionId: string) => Promise<void>) {
  const firstHeld = deferred();
  const releaseFirst = deferred();
  const releaseSecond = deferred();
  let sessionId = '';
  holdEnd = (id, attempt) => {
    if (id !== sessionId) return undefined;
    if (attempt === 1) {
      firstHeld.resolve();
      return releaseFirst.promise;
    }
    return attempt === 2 ? releaseSecond.promise : undefined;
  };
  try {
    const s = await rt.client.startSession(leaf, { input: { text: 'last words' } });
    sessionId = s.sessionId;
    await firstHeld.promise;
    await rt.client.temporal.workflow.getHandle(s.sessionId).signal('note', { text: 'while the last task ran' });
    releaseFirst.resolve();
    await between(s.sessionId);
    releaseSecond.resolve();
    assert.equal(await s.result(), 'last words');
    return s.sessionId;
  } finally {
    releaseFirst.resolve();
    releaseSecond.resolve();
    holdEnd = undefined;
  }
}

async function assertAsHistoryHasIt(sessionId: string) {
  assert.equal(await refusedCompletions(sessionId), 1, 'the server refused the first completion');
  await rt.worker.recorder.drain();
  const rows = await sessionRows(rt, sessionId);
  const root = rows.scope('');
  assert.equal(root.status, 'success');
  const notes = rows.actions.filter((a) => a.kind === 'signal' && a.name === 'note');
  assert.deepEqual(notes.map((a) => [a.scopeId, a.status, a.error]), [[sessionId, 'error', UNHANDLED_SIGNAL_ERROR]], 'the signal is in the store');
  assert.deepEqual((await rt.client.reconcile(sessionId)).differences, []);
  assert.equal(await sealState(rt.store, sessionId, sessionId), 'sealed', 'sealed once the run closed');
  assert.deepEqual((await rt.client.verify(sessionId)).problems, []);
}

test('the last task is refused for a signal that came while it ran: the end it records again, with the signal, is what the store keeps', async () => {
  const sessionId = await endRefused(async () => undefined);
  await assertAsHistoryHasIt(sessionId);
});

test('while the run that recorded a scope\'s end is open, the scope is not sealed: the end it records again is the one sealed', async () => {
  const sessionId = await endRefused(async (id) => {
    // The held write keeps the write path busy, and the sealer waits for it to be quiet at
    // most 5 s (maxDelayMs), then 1 s between anchors: past that, the first end would be sealed.
    for (let i = 0; i < 70; i++) {
      assert.equal(await sealState(rt.store, id, id), 'unsealed', 'sealed while its run was still open');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  await assertAsHistoryHasIt(sessionId);
});
