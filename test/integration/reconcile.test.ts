/**
 * reconcile() against real histories and a real store: every session the runtime
 * records reconciles with zero differences, and rows removed or changed behind the
 * recorder's back are named exactly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { TEST_DATABASE_URL, startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { runCliFor } from '../helpers/cli';
import { createExampleTools } from '../../examples/tools';
import { exampleLlm } from '../../examples/llm-script';
import { orchestrator } from '../../examples/agents';
import { createFixtureTools } from '../fixtures/tools';
import { canceller, chainA, deep, fanout, guarded, lateDelegator, quitter, responder, retrier, waiter } from '../fixtures/agents';
import { reconcile, SessionNotFoundError, type Difference, type ReconcileReport } from '../../client/reconcile';
import { UNHANDLED_SIGNAL_ERROR } from '../../cim/names';
import { Worker } from '@temporalio/worker';
import { bundleAgents } from '../../worker/create-worker';
import type { SinkEvent } from '../../workflows/sinks';

let examples: TestRuntime;
let fixtures: TestRuntime;

before(async () => {
  const { tools } = createExampleTools({ latencyMs: 50 });
  [examples, fixtures] = await Promise.all([
    startTestRuntime({ agents: require.resolve('../../examples/agents'), tools: Object.values(tools), llm: exampleLlm() }),
    startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) }),
  ]);
});
after(async () => {
  await Promise.all([examples?.stop(), fixtures?.stop()]);
});

async function reconciled(rt: TestRuntime, sessionId: string, onProgress?: (n: number) => void): Promise<ReconcileReport> {
  await rt.worker.recorder.drain();
  return reconcile(rt.client.temporal, rt.store, sessionId, { onProgress });
}

function brief(diffs: Difference[]): string[] {
  return diffs.map((d) => `${d.kind} ${d.record} ${d.id}`).sort();
}

function assertComplete(report: ReconcileReport, label: string, counts = true): void {
  assert.deepEqual(report.differences, [], `${label}: ${JSON.stringify(report.differences, null, 1)}`);
  assert.equal(report.expected.scopes, report.stored.scopes, `${label}: scopes`);
  if (counts) assert.equal(report.expected.actions, report.stored.actions, `${label}: actions`);
}

/** Changes rows directly in Postgres, behind the recorder's back. */
async function tamper(rt: TestRuntime, statements: Array<[string, unknown[]]>): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const [sql, params] of statements) {
      const res = await client.query(sql.replaceAll('{{schema}}', `"${rt.schema}"`), params);
      assert.equal(res.rowCount, 1, `${sql} ${JSON.stringify(params)} changes one row`);
    }
  } finally {
    await client.end();
  }
}

test('the example session reconciles with zero differences; deleted rows are missing, a changed status is mismatched', async (t) => {
  const s = await examples.client.startSession(orchestrator, { input: { question: 'what does reconcile prove?' } });
  await s.result();
  const progress: number[] = [];
  const report = await reconciled(examples, s.sessionId, (n) => progress.push(n));
  assertComplete(report, 'example');
  // Orchestrator, its handoff to the reviewer, researcher, verifier, citer, analyst, translator.
  assert.equal(report.runs, 7);
  assert.deepEqual(report.expected, { scopes: 7, actions: 19 });
  assert.deepEqual(progress, [1, 2, 3, 4, 5, 6, 7], 'one progress call per history read');

  if (usesPglite()) {
    t.diagnostic('PGlite store: the tampering part needs Postgres and is skipped');
    return;
  }
  const sid = s.sessionId;
  const retriedFetch = `${sid}.2/a2#1`; // the analyst's page fetch failed once before it recovered
  const verifier = `${sid}.1.1`;
  await tamper(examples, [
    ['DELETE FROM {{schema}}.actions WHERE action_id = $1', [retriedFetch]],
    ['DELETE FROM {{schema}}.scopes WHERE scope_id = $1', [verifier]],
  ]);
  const missing = await reconciled(examples, sid);
  assert.deepEqual(brief(missing.differences), [`missing action ${retriedFetch}`, `missing scope ${verifier}`]);
  assert.equal(missing.differences.find((d) => d.record === 'action')!.scopeId, `${sid}.2`);

  const translation = `${sid}.3/a1#3`; // the translator's last attempt failed for good
  await tamper(examples, [[`UPDATE {{schema}}.actions SET status = 'success' WHERE action_id = $1`, [translation]]]);
  const changed = await reconciled(examples, sid);
  assert.deepEqual(brief(changed.differences), [
    `mismatched action ${translation}`,
    `missing action ${retriedFetch}`,
    `missing scope ${verifier}`,
  ]);
  assert.match(changed.differences.find((d) => d.kind === 'mismatched')!.detail, /status: store "success", history "error"/);

  // --repair writes only what the store never received: it says so rather than change nothing in silence.
  const cli = await runCliFor(examples, ['reconcile', sid, '--repair']);
  assert.equal(cli.code, 3);
  assert.match(cli.stderr, /^3 difference\(s\) --repair cannot mend: it only writes scopes the store never received, and never rewrites a row that is there or an action/m);
});

test('fixture sessions reconcile with zero differences: handoff chain, fan-out with failures, retries, depth 4', async () => {
  const sessions = await Promise.all([
    fixtures.client.startSession(chainA, { input: { hops: [] } }),
    fixtures.client.startSession(fanout, { input: { n: 5, failing: [1, 3] } }),
    fixtures.client.startSession(retrier, { input: { attempts: 3, failFirst: 2 } }),
    fixtures.client.startSession(deep, { input: { depth: 4 } }),
  ]);
  await Promise.all(sessions.map((s) => s.result()));
  const [chain, fan, retry, deepest] = await Promise.all(sessions.map((s) => reconciled(fixtures, s.sessionId)));
  assertComplete(chain!, 'chainA');
  assert.deepEqual([chain!.runs, chain!.expected.scopes, chain!.expected.actions], [3, 3, 5], 'three runs, three echoes, two handoffs');
  assertComplete(fan!, 'fanout');
  assert.deepEqual([fan!.runs, fan!.expected.scopes], [6, 6]);
  assertComplete(retry!, 'retrier');
  assert.deepEqual([retry!.runs, retry!.expected.scopes, retry!.expected.actions], [4, 4, 3], 'three delegation attempts');
  assertComplete(deepest!, 'deep');
  assert.deepEqual([deepest!.runs, deepest!.expected.scopes, deepest!.expected.actions], [5, 5, 9]);
});

test('signals, refusals, cancellation and LLM calls reconcile with zero differences', async () => {
  const signalled = await fixtures.client.startSession(waiter, { input: { steps: 100 } });
  const malformed = await fixtures.client.startSession(waiter, { input: { steps: 4 } });
  const [refused, cancelled, llmCall] = await Promise.all([
    fixtures.client.startSession(guarded, { input: { dataset: 'restricted/x', widenTo: 'data:*' } }),
    fixtures.client.startSession(canceller, { input: {} }),
    fixtures.client.startSession(responder, { input: { note: 'hello' } }),
  ]);
  const others = [refused!, cancelled!, llmCall!];
  await new Promise((r) => setTimeout(r, 700));
  await fixtures.client.requestHandoff(signalled.sessionId, { to: 'chainC', reason: 'a person takes over', input: { hops: ['router'] } });
  await fixtures.client.temporal.workflow.getHandle(malformed.sessionId).signal('scopetrail.handoff', { to: 'chainC' });
  await Promise.all([signalled, malformed, ...others].map((s) => s.result()));
  for (const s of [signalled, malformed, refused!, llmCall!]) assertComplete(await reconciled(fixtures, s.sessionId), s.sessionId);
  // The sleeper's activity was still running when its workflow was cancelled: history has no
  // attempt of it to compare, so its row is explained but not expected.
  const cancel = await reconciled(fixtures, cancelled!.sessionId);
  assertComplete(cancel, 'canceller', false);
  assert.deepEqual([cancel.expected.actions, cancel.stored.actions], [1, 2]);
  const rows = await sessionRows(fixtures, signalled.sessionId);
  assert.ok(rows.actions.some((a) => a.kind === 'signal'), 'the handoff signal was recorded and reconciled');
});

test('signals no handler took are recorded as unhandled when their run ends or hands off, and reconcile', async () => {
  const [ends, handsOff] = await Promise.all([
    fixtures.client.startSession(waiter, { input: { steps: 3 } }),
    fixtures.client.startSession(waiter, { input: { steps: 100 } }),
  ]);
  for (const s of [ends, handsOff]) {
    const handle = fixtures.client.temporal.workflow.getHandle(s.sessionId);
    await handle.signal('note', { text: 'nobody listens' });
    await handle.signal('note', { text: 'still nobody' });
  }
  await fixtures.client.requestHandoff(handsOff.sessionId, { to: 'chainC', reason: 'a person takes over', input: { hops: ['waiter'] } });
  await Promise.all([ends.result(), handsOff.result()]);
  for (const s of [ends, handsOff]) {
    assertComplete(await reconciled(fixtures, s.sessionId), s.sessionId);
    const rows = await sessionRows(fixtures, s.sessionId);
    const notes = rows.actions.filter((a) => a.kind === 'signal' && a.name === 'note');
    assert.deepEqual(notes.map((a) => [a.scopeId, a.status, a.error]), [
      [s.sessionId, 'error', UNHANDLED_SIGNAL_ERROR],
      [s.sessionId, 'error', UNHANDLED_SIGNAL_ERROR],
    ], 'both recorded in the scope that was sent them');
    assert.ok(notes.every((a) => a.inputDigest !== null) && notes[0]!.inputDigest !== notes[1]!.inputDigest, 'each with what it carried');
    assert.deepEqual((await fixtures.client.verify(s.sessionId)).problems, []);
  }
  // Replayed, the run re-emits its end but not the signals it drained: its last task had them
  // committed, and a history written before they were recorded must add nothing to a sealed scope.
  const replayed: SinkEvent[] = [];
  const history = await fixtures.client.temporal.workflow.getHandle(ends.sessionId).fetchHistory();
  for await (const r of Worker.runReplayHistories(
    {
      workflowBundle: await bundleAgents(require.resolve('../fixtures/agents')),
      sinks: { scopetrail: { record: { fn: (_info, events: SinkEvent[]) => void replayed.push(...events), callDuringReplay: true } } },
    },
    [{ workflowId: ends.sessionId, history }],
  )) {
    assert.equal(r.error, undefined);
  }
  assert.ok(replayed.some((e) => e.type === 'scope' && e.record.status === 'success'), 'the end is re-emitted');
  assert.deepEqual(replayed.filter((e) => e.type === 'action' && (e.record as { kind: string }).kind === 'signal'), []);
});

test('a delegator that ends while a delegate still runs cancels it first: every scope and delegation records its end', async () => {
  const [failing, returning, handing, atOnce] = await Promise.all([
    fixtures.client.startSession(quitter, { input: { end: 'fail' as const } }),
    fixtures.client.startSession(quitter, { input: { end: 'return' as const } }),
    fixtures.client.startSession(quitter, { input: { end: 'handoff' as const } }),
    fixtures.client.startSession(quitter, { input: { end: 'at-once' as const } }),
  ]);
  await assert.rejects(failing.result(), (err: Error) => /leaf refused/.test(String((err.cause as Error | undefined)?.message)));
  assert.equal(await returning.result(), 'left the sleeper running');
  assert.deepEqual(await handing.result(), ['quitter', 'C']);
  assert.equal(await atOnce.result(), 'left the sleeper before it started');
  for (const [s, status] of [[failing, 'error'], [returning, 'success'], [handing, 'success'], [atOnce, 'success']] as const) {
    const rows = await sessionRows(fixtures, s.sessionId);
    assert.equal(rows.scope('').status, status);
    // Without the cancel, the server terminates the sleeper with its delegator and it stays `running`.
    const sleeperScope = rows.scope('.1');
    assert.equal(sleeperScope.agent, 'sleeper');
    assert.equal(sleeperScope.status, 'cancelled');
    assert.ok(sleeperScope.endedAt, 'the sleeper recorded its end');
    const delegation = rows.actions.find((a) => a.kind === 'delegate' && a.targetScopeId === sleeperScope.scopeId)!;
    assert.equal(delegation.status, 'cancelled');
    const run = await fixtures.client.temporal.workflow.getHandle(sleeperScope.scopeId).describe();
    assert.equal(run.status.name, 'CANCELLED');
    // The sleeper's activity was still running when its run was cancelled (see the test above).
    assertComplete(await reconciled(fixtures, s.sessionId), `quitter (${status})`, false);
  }
});

test('a delegation asked for in a cancelled scope never reaches Temporal, and nothing of it is recorded', async () => {
  const s = await fixtures.client.startSession(lateDelegator, { input: {} });
  assert.equal(await s.result(), 'refused');
  const rows = await sessionRows(fixtures, s.sessionId);
  assert.deepEqual(rows.actions.filter((a) => a.kind === 'delegate'), [], 'no delegation action: history has none to explain it');
  assert.deepEqual(rows.scopes.map((x) => x.scopeId), [s.sessionId]);
  assertComplete(await reconciled(fixtures, s.sessionId), 'lateDelegator');
});

test('fan-out: a deleted delegation and a deleted scope are named by their ids, a changed scope status is mismatched', async (t) => {
  const s = await fixtures.client.startSession(fanout, { input: { n: 4, failing: [2] } });
  await s.result();
  assertComplete(await reconciled(fixtures, s.sessionId), 'fanout');
  if (usesPglite()) {
    t.diagnostic('PGlite store: the tampering part needs Postgres and is skipped');
    return;
  }
  const sid = s.sessionId;
  const rows = await sessionRows(fixtures, sid);
  const delegation = rows.actions.find((a) => a.kind === 'delegate' && a.targetScopeId === `${sid}.2`)!;
  await tamper(fixtures, [
    ['DELETE FROM {{schema}}.actions WHERE action_id = $1', [delegation.actionId]],
    ['DELETE FROM {{schema}}.scopes WHERE scope_id = $1', [`${sid}.4`]],
    [`UPDATE {{schema}}.scopes SET status = 'success' WHERE scope_id = $1`, [`${sid}.3`]],
  ]);
  const report = await reconciled(fixtures, sid);
  assert.deepEqual(brief(report.differences), [
    `mismatched scope ${sid}.3`,
    `missing action ${delegation.actionId}`,
    `missing scope ${sid}.4`,
  ]);
  assert.match(report.differences.find((d) => d.kind === 'mismatched')!.detail, /status: store "success", history "error"/);
});

test('a worker restarted in the middle of a session leaves nothing for reconcile to find', async () => {
  const s = await examples.client.startSession(orchestrator, { input: { question: 'restart' } });
  await new Promise((r) => setTimeout(r, 400));
  const { status } = await examples.client.temporal.workflow.getHandle(s.sessionId).describe();
  assert.equal(status.name, 'RUNNING', 'the restart happens mid-session');
  await examples.restartWorker();
  await s.result();
  assertComplete(await reconciled(examples, s.sessionId), 'restarted');
});

test('a terminated session: the scope the store still holds as running is a mismatch', async () => {
  const s = await fixtures.client.startSession(waiter, { input: { steps: 100 } });
  await new Promise((r) => setTimeout(r, 700));
  await fixtures.client.temporal.workflow.getHandle(s.sessionId).terminate('an operator stopped it');
  const report = await reconciled(fixtures, s.sessionId);
  // An echo still in flight when the run ended has no attempt in history and is not compared.
  assert.deepEqual(brief(report.differences), [`mismatched scope ${s.sessionId}`]);
  assert.match(report.differences[0]!.detail, /status: store "running", history "error" \(run terminated/);
  // History proves how the run ended: --repair writes it, and the session then reconciles.
  await new Promise((r) => setTimeout(r, 1_500));
  const repairStarted = Date.now();
  const repaired = await fixtures.client.reconcile(s.sessionId, { repair: true });
  assert.equal(repaired.repaired, 1);
  assert.deepEqual(repaired.differences, []);
  const scope = await fixtures.client.scope(s.sessionId);
  assert.equal(scope.status, 'error');
  assert.match(scope.error ?? '', /^run terminated in Temporal \(reason: an operator stopped it\): .*reconcile --repair/);
  // It ended when Temporal terminated it, not when the repair ran.
  const { closeTime } = await fixtures.client.temporal.workflow.getHandle(s.sessionId).describe();
  assert.ok(Date.parse(scope.endedAt!) < repairStarted, `${scope.endedAt} is before the repair`);
  assert.ok(Math.abs(Date.parse(scope.endedAt!) - closeTime!.getTime()) < 5, `${scope.endedAt} is the close time ${closeTime!.toISOString()}`);
  assert.deepEqual((await fixtures.client.verify(s.sessionId)).problems, [], 'the repaired scope is sealed');
});

test('a session Temporal does not know is an error naming it', async () => {
  await assert.rejects(reconcile(fixtures.client.temporal, fixtures.store, 'no-such-session-here'), (err: unknown) => {
    assert.ok(err instanceof SessionNotFoundError);
    assert.equal((err as Error).message, 'no session "no-such-session-here" in Temporal');
    return true;
  });
});
