/**
 * A provider may serve another model than the one asked for. The call has happened by then,
 * so the served model is recorded whatever the scope's allowance says; one outside it is
 * marked on the call's record, and `footprint` (client, CLI --json and table) flags it —
 * as it flags any touched resource the toucher's recorded allowance does not permit,
 * a row written behind scopetrail's back included.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { testSql } from '../helpers/test-sql';
import { CLI_STORE_SKIP, runCliFor } from '../helpers/cli';
import { lPinned, mPinned, mSnapshots } from '../fixtures/model-agents';
import { createFixtureTools } from '../fixtures/tools';
import { ScriptedModelProvider } from '../../activities/scripted-model';
import { OUTSIDE_ALLOWANCE_ATTRIBUTE, type LlmProvider } from '../../activities/llm';
import type { FootprintReport } from '../../client';

let rt: TestRuntime;

const model = new ScriptedModelProvider({
  mPinned: [{ text: 'answered by another model', calls: [], servedModel: 'other-model' }],
  mSnapshots: [{ text: 'answered by a snapshot', calls: [], servedModel: 'scripted-1-2026-01-01' }],
});

/** The `llm` activity's provider: asked for scripted-1, it serves another model. */
const llm: LlmProvider = {
  name: 'scripted',
  defaultModel: 'scripted-1',
  complete: async () => ({ text: 'answered by another model', model: 'other-model', inputTokens: 3, outputTokens: 5 }),
};

before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/model-agents'), tools: Object.values(createFixtureTools().tools), model, llm });
});
after(async () => rt?.stop());

const flags = (fp: Pick<FootprintReport, 'resources'>) => fp.resources.map((e) => [e.uri, e.outsideAllowance, e.outsideAllowanceScopes]);

test('a model step served outside the allowance is recorded and marked, the agent gets its answer, and footprint flags it', async () => {
  const s = await rt.client.startSession(mPinned, { input: { prompt: 'answer' } });
  assert.deepEqual(await s.result(), { text: 'answered by another model', turns: 1 });
  const sid = s.sessionId;
  const [step] = (await sessionRows(rt, sid)).actionsOf(sid).filter((a) => a.kind === 'llm_call');
  assert.equal(step?.status, 'success', 'the call does not fail: its answer was paid for');
  assert.deepEqual(step!.resources.map((r) => `${r.mode} ${r.uri}`).sort(), ['share llm:scripted/other-model', 'share llm:scripted/scripted-1']);
  assert.equal(step!.attributes[OUTSIDE_ALLOWANCE_ATTRIBUTE], 'llm:scripted/other-model');
  assert.equal(step!.attributes.model, 'other-model');

  const expected = [
    ['llm:scripted/other-model', true, [sid]],
    ['llm:scripted/scripted-1', false, []],
  ];
  assert.deepEqual(flags(await rt.client.footprint(sid)), expected);
  const touched = await rt.client.wasTouched(sid, 'llm:scripted/*');
  assert.deepEqual(touched.outsideAllowance, [{ scopeId: sid, uri: 'llm:scripted/other-model', actionId: step!.actionId, source: 'caller' }]);
  if (CLI_STORE_SKIP) return;
  const json = await runCliFor(rt, ['footprint', sid, '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(flags(JSON.parse(json.stdout)), expected);
  const table = await runCliFor(rt, ['footprint', sid]);
  assert.match(table.stdout, /llm:scripted\/other-model \(OUTSIDE ALLOWANCE of [^)]+\)/);
  assert.match(table.stdout, /\nWARNING: 1 resource\(s\) were touched outside the allowance of the scope that touched them: llm:scripted\/other-model/);
  const told = await runCliFor(rt, ['touched', sid, 'llm:scripted/other-model']);
  assert.match(told.stdout, /WARNING: 1 touch\(es\) outside the allowance of the scope that made them:\n  \S+: llm:scripted\/other-model by /);
});

test('a served model the allowance permits (a snapshot, by prefix) is neither marked nor flagged', async () => {
  const s = await rt.client.startSession(mSnapshots, { input: { prompt: 'answer' } });
  await s.result();
  const sid = s.sessionId;
  const [step] = (await sessionRows(rt, sid)).actionsOf(sid).filter((a) => a.kind === 'llm_call');
  assert.ok(step!.resources.some((r) => r.uri === 'llm:scripted/scripted-1-2026-01-01'));
  assert.equal(step!.attributes[OUTSIDE_ALLOWANCE_ATTRIBUTE], undefined);
  const expected = [
    ['llm:scripted/scripted-1', false, []],
    ['llm:scripted/scripted-1-2026-01-01', false, []],
  ];
  assert.deepEqual(flags(await rt.client.footprint(sid)), expected);
  assert.deepEqual((await rt.client.wasTouched(sid, 'llm:scripted/*')).outsideAllowance, []);
  if (CLI_STORE_SKIP) return;
  const json = await runCliFor(rt, ['footprint', sid, '--json']);
  assert.deepEqual(flags(JSON.parse(json.stdout)), expected);
  assert.doesNotMatch((await runCliFor(rt, ['footprint', sid])).stdout, /OUTSIDE ALLOWANCE|WARNING/);
});

test('the llm activity marks a served model outside the allowance the same way', async () => {
  const s = await rt.client.startSession(lPinned, { input: {} });
  assert.equal(await s.result(), 'answered by another model');
  const sid = s.sessionId;
  const [call] = (await sessionRows(rt, sid)).actionsOf(sid).filter((a) => a.kind === 'llm_call');
  assert.equal(call?.status, 'success');
  assert.equal(call!.attributes[OUTSIDE_ALLOWANCE_ATTRIBUTE], 'llm:scripted/other-model');
  assert.deepEqual(flags(await rt.client.footprint(sid)), [
    ['llm:scripted/other-model', true, [sid]],
    ['llm:scripted/scripted-1', false, []],
  ]);
});

test('a resource written into a row behind scopetrail is flagged by the allowance the scope recorded', { skip: usesPglite() && 'writes the table over its own Postgres connection' }, async () => {
  const s = await rt.client.startSession(mSnapshots, { input: { prompt: 'answer' } });
  await s.result();
  const sid = s.sessionId;
  await sessionRows(rt, sid);
  const updated = await testSql(
    `UPDATE "${rt.schema}".actions SET resources = resources || '[{"uri":"db:payroll","mode":"read"}]'::jsonb WHERE scope_id = $1 AND kind = 'llm_call'`,
    [sid],
  );
  assert.equal(updated.rowCount, 1);
  const fp = await rt.client.footprint(sid);
  assert.deepEqual(fp.resources.find((e) => e.uri === 'db:payroll')?.outsideAllowanceScopes, [sid]);
  assert.deepEqual(fp.resources.filter((e) => e.outsideAllowance).map((e) => e.uri), ['db:payroll']);
});
