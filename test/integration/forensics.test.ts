/**
 * The forensic questions on a realistic session — depth 3, parallel siblings calling
 * the same tool, a tool that fails for good, one that recovers on retry, an LLM call
 * and a handoff — through the client API and through the CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import { runCliFor } from '../helpers/cli';
import { createFixtureTools } from '../fixtures/tools';
import { sneaky } from '../fixtures/agents';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { testSql } from '../helpers/test-sql';
import { renderTouched } from '../../client/format-forensics';

let rt: TestRuntime;
let sid: string;

before(async () => {
  rt = await startExampleRuntime();
  ({ sessionId: sid } = await runExampleSession(rt, 'Why did it fail?', 'answer'));
});
after(async () => rt?.stop());

describe('client queries', () => {
  test('sessions lists the session with its rolled-up status, checked against Temporal, and filters', async () => {
    const [listed] = await rt.client.sessions({ crossCheck: true });
    assert.equal(listed?.sessionId, sid);
    assert.equal(listed?.status, 'degraded');
    assert.equal(listed?.rootAgent, 'orchestrator');
    assert.equal(listed?.finalAgent, 'reviewer');
    assert.equal(listed?.scopes, 7);
    assert.equal(listed?.inTemporal, true);
    assert.deepEqual([listed?.temporalStatus, listed?.agrees], ['COMPLETED', true]);
    assert.deepEqual(await rt.client.sessions({ status: 'success' }), []);
    assert.equal((await rt.client.sessions({ agent: 'citer' })).length, 1);
    assert.deepEqual(await rt.client.sessions({ agent: 'nobody' }), []);
    await assert.rejects(rt.client.sessions({ status: 'bad' as never }), /sessions: invalid field "status"/);
    await assert.rejects(rt.client.sessions({ since: 'yesterday' }), /sessions: invalid field "since"/);
  });

  test("sessions names a session whose status in the store Temporal's run does not bear out", { skip: usesPglite() && 'edits a row through the Postgres server' }, async () => {
    const status = (await testSql<{ status: string }>(`SELECT status FROM "${rt.schema}".scopes WHERE scope_id = $1`, [sid])).rows[0]!.status;
    // As a store that recorded a run's end Temporal never reached, or missed one, would hold it.
    await testSql(`UPDATE "${rt.schema}".scopes SET status = 'running' WHERE scope_id = $1`, [sid]);
    try {
      const [listed] = await rt.client.sessions({ crossCheck: true });
      assert.deepEqual([listed?.status, listed?.temporalStatus, listed?.agrees], ['running', 'COMPLETED', false]);
      const table = await runCliFor(rt, ['sessions']);
      assert.match(table.stdout, /COMPLETED !/);
      assert.match(table.stdout, new RegExp(`${sid}: the store says running, Temporal says COMPLETED; scopetrail reconcile ${sid} names the difference`));
    } finally {
      await testSql(`UPDATE "${rt.schema}".scopes SET status = $2 WHERE scope_id = $1`, [sid, status]);
    }
  });

  test('root cause: the translate call that failed on every attempt, its agent, and the chain to the root', async () => {
    const rc = (await rt.client.rootCause(sid))!;
    assert.equal(rc.agent, 'translator');
    assert.equal(rc.action?.name, 'translate');
    assert.deepEqual(rc.attempts.map((a) => `${a.attempt}:${a.status}`), ['1:error', '2:error', '3:error']);
    assert.deepEqual(rc.chain.map((s) => s.scopeId), [`${sid}.3`, sid]);
    assert.deepEqual(rc.links, ['delegation']);
    assert.deepEqual(rc.impact.map((s) => `${s.scopeId}:${s.status}`), [`${sid}.3:error`, `${sid}:degraded`]);
    assert.equal(rc.recoveredFailures, 2, 'the two fetchPage calls that failed once and recovered');
    await assert.rejects(rt.client.rootCause('no-such-session'), /no session "no-such-session"/);
  });

  test('footprint: resources with modes, tools and scopes; a handoff target is not a descendant', async () => {
    const fp = await rt.client.footprint(sid);
    const byKey = new Map(fp.resources.map((e) => [`${e.mode} ${e.uri}`, e]));
    assert.deepEqual([...byKey.keys()].sort(), [
      'read api:http-fetch',
      'read api:web-search',
      'read web:example.org',
      'share api:translation',
      'share llm:scripted/scripted-1',
    ]);
    const search = byKey.get('read api:web-search')!;
    assert.deepEqual(search.tools, ['search']);
    assert.deepEqual(search.scopes, [`${sid}.1`, `${sid}.1.1`, `${sid}.2`]);
    assert.deepEqual(search.agents.sort(), ['analyst', 'researcher', 'verifier']);
    assert.equal(byKey.get('share api:translation')!.actions, 3, 'failed attempts may still have shared data');
    const own = await rt.client.footprint(sid, { descendants: false });
    assert.deepEqual(own.resources.map((e) => e.uri), ['llm:scripted/scripted-1']);
    const reviewer = await rt.client.footprint(`${sid}~1`);
    assert.ok(reviewer.resources.some((e) => e.uri === 'db:notes' && e.mode === 'write'));
  });

  test('was it touched? yes with the actions; no with reconcile evidence of a complete record', async () => {
    const yes = await rt.client.wasTouched(`${sid}.1`, 'web:*');
    assert.equal(yes.touched, true);
    assert.deepEqual([...new Set(yes.actions.map((a) => a.scopeId))], [`${sid}.1.1.1`]);
    const no = await rt.client.wasTouched(sid, 'db:notes*');
    assert.equal(no.touched, false, 'the notes were written by the reviewer, a lateral handoff scope');
    assert.equal(no.complete, true);
    assert.deepEqual(no.evidence.differences, []);
    assert.equal(no.evidence.runs, 7);
    await assert.rejects(rt.client.wasTouched(sid, ''), /wasTouched: invalid field/);
  });

  test('status: the rolled-up status with each delegation\'s outcome', async () => {
    const st = await rt.client.status(sid);
    assert.equal(st.scope.status, 'degraded');
    assert.deepEqual(st.children.map((c) => `${c.agent}:${c.status}`), ['researcher:success', 'analyst:success', 'translator:error']);
    assert.equal(st.calls.total, 1, 'the orchestrator\'s own LLM call');
  });

  test('roles are derived from manifests and observed delegations; an agent can be both', async () => {
    const roles = new Map((await rt.client.roles()).map((r) => [r.agent, r]));
    const role = (a: string) => `${roles.get(a)?.orchestrator ? 'O' : '-'}${roles.get(a)?.subAgent ? 'S' : '-'}`;
    assert.deepEqual(
      ['orchestrator', 'researcher', 'verifier', 'citer', 'analyst', 'translator', 'reviewer'].map(role),
      ['O-', 'OS', 'OS', '-S', '-S', '-S', '--'],
    );
    assert.deepEqual(roles.get('researcher')!.observedSubAgents, ['verifier']);
    assert.deepEqual(roles.get('citer')!.delegatedBy, ['verifier']);
  });

  test('timeline: every scope start, action and end in time order', async () => {
    const events = await rt.client.timeline(sid);
    assert.equal(events[0]!.type, 'scope_started');
    assert.equal(events[0]!.scopeId, sid);
    assert.equal(events.filter((e) => e.type === 'action').length, 19);
    assert.equal(events.filter((e) => e.type === 'scope_started').length, 7);
    const times = events.map((e) => Date.parse(e.at));
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    const handoff = events.findIndex((e) => e.type === 'action' && e.text.startsWith('handed off to reviewer'));
    const reviewerStart = events.findIndex((e) => e.type === 'scope_started' && e.agent === 'reviewer');
    assert.ok(handoff >= 0 && handoff < reviewerStart);
  });
});

test('drift: an agent that calls a tool its manifest does not declare is flagged, per version', async () => {
  const fixtures = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
  try {
    const s = await fixtures.client.startSession(sneaky, { input: {} });
    await s.result();
    await fixtures.worker.recorder.drain();
    const [entry] = await fixtures.client.drift('sneaky');
    assert.equal(entry?.version, '3.1.0');
    assert.equal(entry?.manifest, true);
    assert.deepEqual(entry?.undeclaredTools, ['flaky']);
    assert.equal(entry?.drifted, true);
    // A name nothing knows of is a mistake to say, not an agent without drift.
    await assert.rejects(fixtures.client.drift('nobody'), { name: 'UnknownIdError', field: 'agent' });
  } finally {
    await fixtures.stop();
  }
});

describe('CLI', { skip: usesPglite() && 'the CLI reads Postgres by URL' }, () => {
  async function cli(...args: string[]) {
    const run = await runCliFor(rt, args);
    return { code: run.code, out: run.stdout, err: run.stderr };
  }

  test('query commands print tables and trees, and --json documents', async () => {
    const tree = await cli('tree', sid);
    assert.equal(tree.code, 0);
    assert.match(tree.out, new RegExp(`Session ${sid} — 7 scopes, 19 actions`));
    assert.match(tree.out, /⇢ \[.*~1\] reviewer@1\.0\.0 · handoff from/);
    const rc = await cli('root-cause', sid);
    assert.match(rc.out, /translator in scope .*\.3: tool_call translate failed — translation service unavailable/);
    const fp = await cli('footprint', `${sid}.1`);
    assert.match(fp.out, /api:web-search\s+read\s+caller\s+2\s+search/);
    const touched = await cli('touched', sid, 'db:notes*');
    assert.match(touched.out, /^NO — nothing under .* touched db:notes\*\./);
    assert.match(touched.out, /0 differences: the record is complete/);
    // A * in the middle is a wildcard too: the reviewer (the handoff scope) wrote the notes.
    const inner = await cli('touched', `${sid}~1`, 'db:*otes');
    assert.match(inner.out, /^YES — db:\*otes was touched under .*~1 by 1 action\(s\)/);
    const sessions = JSON.parse((await cli('sessions', '--json')).out) as { sessions: Array<{ sessionId: string; inTemporal: boolean }> };
    assert.deepEqual(sessions.sessions.map((s) => [s.sessionId, s.inTemporal]), [[sid, true]]);
    const actions = JSON.parse((await cli('actions', `${sid}.2`, '--json')).out) as { actions: Array<{ name: string; attempt: number }> };
    assert.deepEqual(actions.actions.map((a) => `${a.name}#${a.attempt}`), ['search#1', 'fetchPage#1', 'fetchPage#2']);
    for (const cmd of [['roles'], ['drift'], ['timeline', sid], ['status', sid]]) {
      const r = await cli(...cmd);
      assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.err}`);
      assert.ok(r.out.length > 0);
    }
  });

  test('reconcile exits 0 on zero differences and the CLI reports bad input and unknown ids by exit code', async () => {
    const ok = await cli('reconcile', sid);
    assert.equal(ok.code, 0);
    assert.match(ok.out, /0 differences/);
    assert.equal((await cli('reconcile', 'no-such-session')).code, 1);
    const unknown = await cli('tree', 'no-such-session');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /no session "no-such-session"/);
    // Several kinds, as actionsUnder takes them: a comma-separated list, and the flag repeated, answer alike.
    const kindsOf = async (...kindArgs: string[]) => {
      const run = await cli('actions', sid, '--descendants', ...kindArgs, '--json');
      assert.equal(run.code, 0, run.err);
      return [...new Set((JSON.parse(run.out) as { actions: Array<{ kind: string }> }).actions.map((a) => a.kind))].sort();
    };
    const listed = await kindsOf('--kind', 'tool_call,delegate');
    assert.deepEqual(listed, ['delegate', 'tool_call']);
    assert.deepEqual(await kindsOf('--kind', 'tool_call', '--kind', 'delegate'), listed);
    const badInList = await cli('actions', sid, '--kind', 'tool_call,nonsense');
    assert.equal(badInList.code, 2);
    assert.match(badInList.err, /invalid --kind "tool_call,nonsense": "nonsense" is not a kind/);
    const bad = await cli('actions', sid, '--kind', 'nonsense');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /invalid --kind "nonsense"/);
    assert.equal((await cli('sessions', '--status', 'bad')).code, 2);
    assert.equal((await cli('tree')).code, 2);
    assert.equal((await cli('frobnicate')).code, 2);
  });
});

test('touched does not call a record complete when sealed rows were changed behind its back: a tool call re-written as refused', { skip: usesPglite() && 'writes the tables over a connection of its own (a Postgres server)' }, async () => {
  const { sessionId } = await runExampleSession(rt, 'What changed?', 'answer');
  await rt.worker.recorder.drain();
  const before = await rt.client.wasTouched(sessionId, 'web:*');
  assert.equal(before.touched, true);
  assert.deepEqual(before.sealProblems, []);
  // A writer of the tables turns the calls that touched it into refusals: reconcile still finds
  // a failed attempt where history has one, but the row no longer matches its seal.
  const changed = await testSql(
    `UPDATE "${rt.schema}".actions SET kind = 'denied', status = 'denied' WHERE session_id = $1 AND resources::text LIKE '%web:example.org%' AND status = 'success'`,
    [sessionId],
  );
  assert.ok((changed.rowCount ?? 0) > 0);
  const after = await rt.client.wasTouched(sessionId, 'web:*');
  assert.equal(after.touched, false);
  assert.equal(after.complete, false, 'no proof of "no"');
  assert.ok(after.sealProblems.some((p) => p.problem === 'changed'), JSON.stringify(after.sealProblems));
  const text = renderTouched(after);
  assert.doesNotMatch(text, /the record is complete/);
  assert.match(text, /^UNKNOWN — nothing stored under/);
  assert.match(text, /no longer match their seals .*run scopetrail verify/);
  // A script reading only the exit code is not told "no" either.
  const cli = await runCliFor(rt, ['touched', sessionId, 'web:*']);
  assert.equal(cli.code, 3, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /^UNKNOWN — /);
});

test('touched holds the seals to their anchors: a rewritten row whose seal was cleared is not a complete "no"', { skip: usesPglite() && 'writes the tables over a connection of its own (a Postgres server)' }, async () => {
  const { sessionId } = await runExampleSession(rt, 'What was cleared?', 'answer');
  await rt.worker.recorder.drain();
  await rt.worker.recorder.sealer.drain();
  assert.equal((await rt.client.wasTouched(sessionId, 'web:*')).touched, true);
  // A writer of the tables drops the resource from every row that names it, and clears those scopes'
  // seals so that no stored hash contradicts the rows; the anchors in Temporal still do.
  const { rows } = await testSql<{ scope_id: string }>(
    `UPDATE "${rt.schema}".actions SET resources = '[{"uri":"api:http-fetch","mode":"read"}]'::jsonb
       WHERE session_id = $1 AND resources::text LIKE '%web:example.org%' RETURNING scope_id`,
    [sessionId],
  );
  const scopes = [...new Set(rows.map((r) => r.scope_id))];
  assert.ok(scopes.length > 0);
  await testSql(`DELETE FROM "${rt.schema}".scope_chains WHERE scope_id = ANY($1)`, [scopes]);
  await testSql(`UPDATE "${rt.schema}".scopes SET chain_length = NULL, chain_head = NULL, scope_hash = NULL WHERE scope_id = ANY($1)`, [scopes]);
  const after = await rt.client.wasTouched(sessionId, 'web:*');
  assert.equal(after.touched, false);
  assert.equal(after.complete, false, 'no proof of "no"');
  assert.ok(after.sealProblems.some((p) => p.problem === 'anchor_mismatch'), JSON.stringify(after.sealProblems));
  const cli = await runCliFor(rt, ['touched', sessionId, 'web:*']);
  assert.equal(cli.code, 3, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /^UNKNOWN — /);
});
