/**
 * Scopes left `running` by runs Temporal closed without agent code, against a real server
 * and store: a terminated session (and the child Temporal terminated with it) and a child
 * that timed out get their end written by the worker from history, sealed, while a session
 * still running is left alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { createFixtureTools } from '../fixtures/tools';
import { waiter, waitingBoss } from '../fixtures/agents';
import { reconcile } from '../../client/reconcile';
import type { ScopeRecord } from '../../cim/schemas';

let rt: TestRuntime;
const LOOK_EVERY_MS = 300;

before(async () => {
  rt = await startTestRuntime({
    agents: require.resolve('../fixtures/agents'),
    tools: Object.values(createFixtureTools().tools),
    unendedScopes: { everyMs: LOOK_EVERY_MS, afterMs: 0 },
  });
});
after(async () => {
  await rt?.stop();
});

async function until<T>(what: string, read: () => Promise<T | undefined>, withinMs = 20_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const found = await read();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const scopes = (sessionId: string): Promise<ScopeRecord[]> => rt.store.scopesOfSession(sessionId);
const ended = (sessionId: string, count: number) => async () => {
  const found = await scopes(sessionId);
  return found.length === count && found.every((s) => s.status !== 'running') ? found : undefined;
};

test('a terminated session and the child terminated with it get their end from history; a running one is left alone', async () => {
  const stopped = await rt.client.startSession(waitingBoss, { input: { steps: 1_000 } });
  const going = await rt.client.startSession(waiter, { input: { steps: 1_000 } });
  await until('the delegate to start', async () => ((await scopes(stopped.sessionId)).length === 2 ? true : undefined));
  await rt.client.temporal.workflow.getHandle(stopped.sessionId).terminate('stopped by an operator');

  const [root, child] = await until('both scopes to end', ended(stopped.sessionId, 2));
  const byId = new Map([root, child].map((s) => [s!.scopeId, s!]));
  const boss = byId.get(stopped.sessionId)!;
  const delegate = [...byId.values()].find((s) => s.kind === 'delegation')!;
  assert.equal(boss.status, 'error');
  assert.match(boss.error ?? '', /^run terminated in Temporal \(reason: stopped by an operator\): no agent code recorded its end/);
  assert.equal(delegate.status, 'error');
  assert.match(delegate.error ?? '', /^run terminated in Temporal/);
  // Each ended when Temporal closed its run, not when the worker noticed.
  const { closeTime } = await rt.client.temporal.workflow.getHandle(stopped.sessionId).describe();
  assert.ok(Math.abs(Date.parse(boss.endedAt!) - closeTime!.getTime()) < 5, `${boss.endedAt} is the close time ${closeTime!.toISOString()}`);

  await rt.worker.recorder.drain();
  assert.deepEqual((await reconcile(rt.client.temporal, rt.store, stopped.sessionId)).differences, []);
  assert.deepEqual((await rt.client.verify(stopped.sessionId)).problems, [], 'the ends written are sealed');

  // The worker has looked several times meanwhile: an open run's scope is not touched.
  await new Promise((r) => setTimeout(r, LOOK_EVERY_MS * 3));
  assert.deepEqual((await scopes(going.sessionId)).map((s) => s.status), ['running']);
  await rt.client.temporal.workflow.getHandle(going.sessionId).terminate('done with it');
  await until('the second session to end', ended(going.sessionId, 1));
});

test('a delegate that timed out gets its end; its delegator, which went on, keeps its own', async () => {
  const s = await rt.client.startSession(waitingBoss, { input: { steps: 1_000, childTimeout: '2s' } });
  const answer = await s.result();
  assert.match(String(answer), /^the waiter did not finish/);
  const found = await until('the delegate to end', ended(s.sessionId, 2));
  const delegate = found.find((x) => x.kind === 'delegation')!;
  assert.equal(delegate.status, 'error');
  assert.match(delegate.error ?? '', /^run timed out in Temporal: no agent code recorded its end/);
  // Its own end, recorded by its code: its only delegation failed (the status rules' `error`), with its failure's text.
  const root = found.find((x) => x.kind === 'root')!;
  assert.equal(root.status, 'error');
  assert.doesNotMatch(root.error ?? '', /no agent code recorded/);
  await rt.worker.recorder.drain();
  assert.deepEqual((await reconcile(rt.client.temporal, rt.store, s.sessionId)).differences, []);
  assert.deepEqual((await rt.client.verify(s.sessionId)).problems, []);
});
