/**
 * A session checked while it runs: its delegates may wait for a worker, so no row of their
 * scopes exists yet, and history may already hold a delegate's end that the
 * delegator's run has not yet taken in a workflow task, so no agent code has recorded it
 * and the store rightly still says `running`. Reconcile and verify must not call that a
 * difference. The window is held open here for as long as the test needs: the lead's
 * worker is stopped while its delegates, on a task queue of their own, finish.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { createWorker, type ScopetrailWorker } from '../../worker/create-worker';
import { scaleLead } from '../fixtures/scaleout-agents';
import { stamp } from '../fixtures/scaleout-tools';

const AGENTS = require.resolve('../fixtures/scaleout-agents');
const helperQueue = `unseen-helper-${randomBytes(4).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let rt: TestRuntime;
let helper: ScopetrailWorker | undefined;
let helperRun: Promise<void> | undefined;

before(async () => {
  rt = await startTestRuntime({ agents: AGENTS, tools: [stamp] });
});
after(async () => {
  await helper?.shutdown();
  await helperRun?.catch(() => undefined);
  await rt?.stop();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  for (const deadline = Date.now() + ms; ; await sleep(100)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** The lead run's history: its children's start and close events, and whether a workflow task completed after the last close. */
async function leadHistory(sessionId: string) {
  const { events } = await rt.client.temporal.workflow.getHandle(sessionId).fetchHistory();
  let started = 0;
  let closed = 0;
  let lastClose = 0;
  let lastTaskCompleted = 0;
  for (const e of events ?? []) {
    const id = Number(e.eventId);
    if (e.childWorkflowExecutionStartedEventAttributes) started++;
    if (e.childWorkflowExecutionCompletedEventAttributes) (closed++, (lastClose = id));
    if (e.workflowTaskCompletedEventAttributes) lastTaskCompleted = id;
  }
  return { started, closed, takenIn: lastTaskCompleted > lastClose };
}

test('delegates waiting for their first workflow task, or ended in history but not yet in their delegator\'s run, are no difference while the session runs', async () => {
  const handle = await rt.client.startSession(scaleLead, { input: { question: 'q', helperQueue } });
  const sessionId = handle.sessionId;
  // No worker serves the helpers' queue yet: both delegates start and wait.
  await until('both delegates to start', async () => ((await leadHistory(sessionId)).started === 2 ? true : undefined));
  await rt.worker.shutdown();
  // Started, but no worker has run them: their scopes are not written yet, and need not be.
  assert.deepEqual((await rt.store.scopesOfSession(sessionId)).map((s) => s.scopeId), [sessionId]);
  assert.deepEqual((await rt.client.reconcile(sessionId)).differences, [], 'delegates waiting for a worker are no difference');

  helper = await createWorker({
    agents: AGENTS,
    tools: [stamp],
    store: rt.store,
    taskQueue: helperQueue,
    address: rt.temporal.address,
    spool: { dir: join(tmpdir(), `scopetrail-spool-${helperQueue}`) },
  });
  helperRun = helper.run();
  await until('both delegates to end in the lead run\'s history', async () => ((await leadHistory(sessionId)).closed === 2 ? true : undefined));
  assert.equal((await leadHistory(sessionId)).takenIn, false, 'no workflow task of the lead has taken the ends in');

  const delegations = (await rt.store.actionsOfSession(sessionId)).filter((a) => a.kind === 'delegate' && a.scopeId === sessionId);
  assert.equal(delegations.length, 2);
  assert.deepEqual(delegations.map((a) => a.status), ['running', 'running'], 'the lead has not recorded the ends');
  const report = await rt.client.reconcile(sessionId);
  assert.deepEqual(report.differences, [], 'the store is as complete as the run that writes it');
  // The delegates' scopes are sealed by the helpers' worker once their runs closed.
  const problems = await until('the ended delegates to be sealed', async () => {
    const found = (await rt.client.verify(sessionId)).problems;
    return found.some((p) => p.problem === 'unsealed') ? undefined : found;
  });
  assert.deepEqual(problems, []);

  // The lead's worker comes back, takes the ends in and finishes: now the rows must say so.
  await rt.restartWorker();
  assert.equal(await handle.result(), 'q/0;q/1;q/2;q.1/0,q.1/1,check q.1/0;q.2/0,q.2/1,check q.2/0');
  const ended = (await rt.store.actionsOfSession(sessionId)).filter((a) => a.kind === 'delegate' && a.scopeId === sessionId);
  assert.deepEqual(ended.map((a) => a.status), ['success', 'success']);
  assert.deepEqual((await rt.client.reconcile(sessionId)).differences, []);
});
