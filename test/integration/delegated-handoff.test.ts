/**
 * A delegate that hands off: the handoff target finishes the delegated work, so it
 * belongs to the delegator's subtree. Every question that walks a subtree — actions
 * under a scope, footprint, touched, root cause, status, the tree, the OTel export
 * and reconcile — must count what the target (and its own delegates) did.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows, type SessionRows } from '../helpers/session';
import { CLI_STORE_SKIP, runCliFor } from '../helpers/cli';
import { createFixtureTools } from '../fixtures/tools';
import { relayBoss } from '../fixtures/agents';
import { sessionToGenAiSpans } from '../../cim/otel-genai';

let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
});
after(async () => rt?.stop());

describe('a delegate hands off twice and its finisher succeeds', () => {
  let sid: string;
  let rows: SessionRows;
  before(async () => {
    const s = await rt.client.startSession(relayBoss, { input: { dataset: 'ledger-2026', again: true } });
    assert.equal(await s.result(), 'rows 42');
    sid = s.sessionId;
    rows = await sessionRows(rt, sid);
  });

  test('each handoff target keeps the delegator as parent, sits beside the scope it took over from, and has its own path', () => {
    const [mid, passer, first, second] = ['.1', '.1.1', '.1.1~1', '.1.1~2'].map((x) => rows.scope(x));
    assert.deepEqual(
      [passer!, first!, second!].map((s) => [s.kind, s.parentScopeId, s.handoffFromScopeId, s.depth]),
      [
        ['delegation', mid!.scopeId, null, 2],
        ['handoff', mid!.scopeId, passer!.scopeId, 2],
        ['handoff', mid!.scopeId, first!.scopeId, 2],
      ],
    );
    assert.equal(first!.path, `/${sid}/${sid}.1/${sid}.1.1~1/`);
    assert.equal(rows.scope('.1.1~2.1').path, `/${sid}/${sid}.1/${sid}.1.1~2/${sid}.1.1~2.1/`);
    assert.equal(rows.scope('.1.1~2.1').parentScopeId, second!.scopeId, "the finisher's own delegate is its child");
  });

  test('actions under the root and the middle delegator include the finisher and its delegate; the passer\'s own subtree does not', async () => {
    const finisherActions = rows.actions.filter((a) => a.scopeId.startsWith(`${sid}.1.1~`)).map((a) => a.actionId).sort();
    assert.ok(finisherActions.length >= 4, `finisher actions: ${finisherActions.join(', ')}`);
    for (const scopeId of [sid, `${sid}.1`]) {
      const under = new Set((await rt.client.actionsUnder(scopeId, { descendants: true })).map((a) => a.actionId));
      assert.deepEqual(finisherActions.filter((id) => !under.has(id)), [], `missing under ${scopeId}`);
    }
    const passerUnder = await rt.client.actionsUnder(`${sid}.1.1`, { descendants: true });
    assert.deepEqual([...new Set(passerUnder.map((a) => a.scopeId))], [`${sid}.1.1`], 'a scope that handed off does not own its successor');
  });

  test('footprint and touched of the root see the resource the finisher read, with a complete record', { skip: CLI_STORE_SKIP }, async () => {
    const fp = await rt.client.footprint(sid, { descendants: true });
    assert.ok(fp.resources.some((r) => r.uri === 'data:ledger-2026' && r.mode === 'read'), JSON.stringify(fp.resources));
    const touched = await rt.client.wasTouched(sid, 'data:ledger-2026');
    assert.equal(touched.touched, true);
    assert.equal(touched.complete, true, JSON.stringify(touched.evidence.differences));
    const cli = await runCliFor(rt, ['touched', sid, 'data:ledger-2026']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^YES/m);
  });

  test('the tree shows the handoff targets under the delegator, marked as handoffs', { skip: CLI_STORE_SKIP }, async () => {
    const tree = await rt.client.scopeTree(sid);
    const mid = tree.roots[0]!.children[0]!;
    assert.deepEqual(mid.children.map((c) => [c.scope.scopeId, c.scope.kind]), [
      [`${sid}.1.1`, 'delegation'],
      [`${sid}.1.1~1`, 'handoff'],
      [`${sid}.1.1~2`, 'handoff'],
    ]);
    const cli = await runCliFor(rt, ['tree', sid]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`⇢ \\[${sid}\\.1\\.1~2\\] relayFinisher@1\\.0\\.0 · handoff from ${sid}\\.1\\.1~1`));
  });

  test('the OTel export parents the finisher\'s span under the delegator and links it to the scope it took over from', async () => {
    const trace = sessionToGenAiSpans(sid, rows.scopes, rows.actions, {
      hash: (t) => createHash('sha256').update(t).digest('hex'),
      now: new Date().toISOString(),
    });
    const span = (id: string) => trace.spans.find((s) => s.source.record === 'scope' && s.source.id === id)!;
    assert.equal(span(`${sid}.1.1~2`).parentSpanId, span(`${sid}.1`).spanId);
    assert.equal(span(`${sid}.1.1~2`).links[0]?.spanId, span(`${sid}.1.1~1`).spanId);
  });

  test('reconcile against history finds no difference', async () => {
    const report = await rt.client.reconcile(sid);
    assert.deepEqual(report.differences, []);
    assert.equal(report.expected.scopes, 6);
  });
});

describe('a delegate hands off and its finisher fails', () => {
  let sid: string;
  before(async () => {
    const s = await rt.client.startSession(relayBoss, { input: { dataset: 'ledger-2027', fail: 'ledger totals do not balance' } });
    await assert.rejects(s.result());
    sid = s.sessionId;
    await rt.worker.recorder.drain();
  });

  test('root cause is the finisher, with its message, and the chain runs through the handoff and both delegations', async () => {
    const rc = (await rt.client.rootCause(sid))!;
    assert.equal(rc.scope.scopeId, `${sid}.1.1~1`);
    assert.equal(rc.agent, 'relayFinisher');
    assert.match(rc.scope.error ?? '', /ledger totals do not balance/);
    assert.deepEqual(rc.chain.map((s) => s.scopeId), [`${sid}.1.1~1`, `${sid}.1.1`, `${sid}.1`, sid]);
    assert.deepEqual(rc.links, ['handoff', 'delegation', 'delegation']);
  });

  test('status of the delegator reports its delegation by the outcome of the handoff chain', { skip: CLI_STORE_SKIP }, async () => {
    const st = await rt.client.status(`${sid}.1`);
    assert.equal(st.scope.status, 'error');
    assert.equal(st.children.length, 1, 'one delegation, not one entry per scope');
    const [d] = st.children;
    assert.equal(d!.scopeId, `${sid}.1.1`);
    assert.equal(d!.status, 'success', 'the passer itself ended by handing off');
    assert.deepEqual(d!.handoffs.map((h) => h.scopeId), [`${sid}.1.1~1`]);
    assert.deepEqual([d!.outcome.scopeId, d!.outcome.status], [`${sid}.1.1~1`, 'error']);
    const cli = await runCliFor(rt, ['status', `${sid}.1`]);
    assert.match(cli.stdout, /⇢ \S+\.1\.1~1 relayFinisher: error — outcome error/);
  });

  test('reconcile against history finds no difference', async () => {
    assert.deepEqual((await rt.client.reconcile(sid)).differences, []);
  });

  test('each delegator up the chain says what failed once, not once more per level it passed', async () => {
    const scopes = (await rt.store.scopesOfSession(sid)).filter((s) => s.status === 'error');
    assert.deepEqual(scopes.map((s) => s.scopeId).sort(), [sid, `${sid}.1`, `${sid}.1.1~1`]);
    for (const s of scopes) {
      assert.equal(s.error?.split('ledger totals do not balance').length, 2, `${s.scopeId}: ${s.error}`);
    }
    const root = scopes.find((s) => s.scopeId === sid)!;
    assert.ok(root.error!.length < 400, root.error!);
  });
});

test('a recovery before a delegate hands off reaches its delegators, though the finisher itself recovered from nothing', async () => {
  const s = await rt.client.startSession(relayBoss, { input: { dataset: 'ledger-2026', flaky: 1 } });
  assert.equal(await s.result(), 'rows 42');
  const rows = await sessionRows(rt, s.sessionId);
  const state = (x: string) => [rows.scope(x).status, rows.scope(x).recovered];
  assert.deepEqual(state('.1.1'), ['success', true], 'the passer retried its call');
  assert.deepEqual(state('.1.1~1'), ['success', false], 'the finisher recovered from nothing itself');
  assert.deepEqual(state('.1'), ['success', true], 'the delegator that got the chain\'s result');
  assert.deepEqual(state(''), ['success', true], 'and the one above it');
  // What carried it (the header of the next run) is not part of any record.
  await rt.worker.recorder.sealer.drain();
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  assert.deepEqual((await rt.client.verify(s.sessionId)).problems, []);
});
