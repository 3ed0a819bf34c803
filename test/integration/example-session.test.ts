/**
 * The example session end to end: every kind of action and every status the CIM
 * knows, with exact row counts, tool attempts, LLM usage, manifests and visibility.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import { type TestRuntime } from '../helpers/runtime';
import { sessionRows, type SessionRows } from '../helpers/session';
import { digest } from '../../store/digest';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';

let rt: TestRuntime;
let sessionId: string;
let rows: SessionRows;
let result: unknown;

before(async () => {
  rt = await startExampleRuntime();
  ({ sessionId, result } = await runExampleSession(rt, 'Q1', 'answer Q1'));
  rows = await sessionRows(rt, sessionId);
});
after(async () => rt?.stop());

test('the session has exactly its seven scopes with kinds, delegators and rolled-up statuses', () => {
  const summary = rows.scopes
    .map((s) => `${s.scopeId.slice(sessionId.length) || '(root)'} ${s.agent} ${s.kind} ${s.status}${s.recovered ? '+recovered' : ''}`)
    .sort();
  assert.deepEqual(summary, [
    '(root) orchestrator root degraded+recovered',
    '.1 researcher delegation success+recovered',
    '.1.1 verifier delegation success+recovered',
    '.1.1.1 citer delegation success+recovered',
    '.2 analyst delegation success+recovered',
    '.3 translator delegation error',
    '~1 reviewer handoff success',
  ]);
  assert.equal(rows.scope('').objective, 'answer Q1');
  assert.equal(rows.scope('.3').delegatedBy, 'orchestrator');
  assert.equal(rows.scope('~1').handoffFromScopeId, sessionId);
  assert.match(String((result as { answer: string }).answer), /^Reviewed and approved: /);
});

test('every tool attempt is its own action: retries show attempts 1..n, then the outcome', () => {
  const attempts = (scope: string, tool: string) =>
    rows.actionsOf(`${sessionId}${scope}`).filter((a) => a.name === tool).map((a) => `${a.attempt}:${a.status}`);
  assert.deepEqual(attempts('.3', 'translate'), ['1:error', '2:error', '3:error']);
  assert.deepEqual(attempts('.2', 'fetchPage'), ['1:error', '2:success']);
  const fetch2 = rows.actionsOf(`${sessionId}.2`).find((a) => a.name === 'fetchPage' && a.attempt === 2)!;
  assert.deepEqual(
    fetch2.resources.map((r) => `${r.mode} ${r.uri}`).sort(),
    ['read api:http-fetch', 'read web:example.org'],
    'declared resources plus the one the tool reported at run time',
  );
  assert.ok(fetch2.inputDigest?.startsWith('sha256:') && fetch2.outputDigest?.startsWith('sha256:'));
  const url = `https://example.org/${encodeURIComponent('risks: Q1')}/1`;
  assert.equal(fetch2.inputDigest, digest({ url }));
  assert.equal(fetch2.outputDigest, digest({ url, bytes: 4096 }));
  const failed = rows.actionsOf(`${sessionId}.3`)[0]!;
  assert.match(failed.error ?? '', /quota exceeded/);
  assert.equal(failed.outputDigest, null);
  assert.ok(rows.actions.every((a) => a.endedAt !== null && a.status !== 'running'), 'no action left running');
});

test('LLM calls are llm_call actions with model and token counts', () => {
  const calls = rows.actions.filter((a) => a.kind === 'llm_call');
  assert.deepEqual(calls.map((c) => c.agent).sort(), ['orchestrator', 'reviewer']);
  for (const c of calls) {
    assert.equal(c.name, 'llm');
    assert.equal(c.attributes.model, 'scripted-1');
    assert.equal(c.attributes.provider, 'scripted');
    assert.ok(Number(c.attributes.inputTokens) > 0 && Number(c.attributes.outputTokens) > 0);
    assert.deepEqual(c.resources, [{ uri: 'llm:scripted/scripted-1', mode: 'share' }]);
  }
});

test('the action count is exactly what happened, by kind', () => {
  const byKind: Record<string, number> = {};
  for (const a of rows.actions) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
  // delegates: 3 by the orchestrator, 1 by the researcher, 1 by the verifier; tool calls:
  // 3 searches, 2 + 2 fetchPage attempts, 3 translate attempts, 1 saveNote; 2 LLM calls; 1 handoff.
  assert.deepEqual(byKind, { delegate: 5, tool_call: 11, llm_call: 2, handoff: 1 });
  assert.equal(new Set(rows.actions.map((a) => a.actionId)).size, rows.actions.length);
});

test('manifests of every agent are in the store when the worker starts', async () => {
  const manifests = await rt.store.manifests();
  const names = manifests.map((m) => `${m.name}@${m.version}`).sort();
  assert.deepEqual(names, ['analyst@1.0.0', 'citer@1.0.0', 'orchestrator@1.0.0', 'researcher@1.0.0', 'reviewer@1.0.0', 'translator@1.0.0', 'verifier@1.0.0']);
  const orch = manifests.find((m) => m.name === 'orchestrator')!;
  assert.deepEqual(orch.subAgents, ['researcher', 'analyst', 'translator']);
});

test('Temporal visibility finds every workflow run of the session by its search attributes', async () => {
  assert.equal(await rt.client.visibility(), true, 'the dev server has the Scopetrail search attributes');
  const query = `ScopetrailSession = '${sessionId}'`;
  let found: Array<{ workflowId: string; type: string; scope: unknown }> = [];
  // Visibility is eventually consistent.
  for (let i = 0; i < 50; i++) {
    found = [];
    for await (const wf of rt.client.temporal.workflow.list({ query })) {
      found.push({ workflowId: wf.workflowId, type: wf.type, scope: wf.searchAttributes?.ScopetrailScope });
    }
    if (found.length >= rows.scopes.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  // One entry per run: the root's two runs (orchestrator, then the reviewer it handed off to) and five children.
  assert.deepEqual(
    found.map((f) => (f.scope as string[])[0]).sort(),
    rows.scopes.map((x) => x.scopeId).sort(),
    'each scope is findable by ScopetrailScope',
  );
  const reviewerRun = found.find((f) => f.type === 'reviewer')!;
  assert.equal(reviewerRun.workflowId, sessionId, 'the handoff kept the workflow id');
  const desc = await rt.client.temporal.workflow.getHandle(`${sessionId}.2`).describe();
  assert.equal((desc.memo?.['scopetrail.scope'] as { agent: string }).agent, 'analyst');

  // Whoever started each run set its search attributes and memo in the start: no run
  // spends a command (and the server a history event and a visibility update) on them.
  const runs: Array<{ workflowId: string; runId: string }> = [];
  for await (const wf of rt.client.temporal.workflow.list({ query })) runs.push({ workflowId: wf.workflowId, runId: wf.runId });
  assert.equal(runs.length, rows.scopes.length);
  const { EventType } = temporal.api.enums.v1;
  for (const run of runs) {
    const history = await rt.client.temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const types = (history.events ?? []).map((e) => e.eventType);
    assert.ok(!types.includes(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES), `${run.workflowId} upserted its search attributes`);
    assert.ok(!types.includes(EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED), `${run.workflowId} upserted its memo`);
  }
  // The handed-off run's memo describes its own scope, with the reason as its objective.
  const reviewer = await rt.client.temporal.workflow.getHandle(sessionId).describe();
  const handedOff = rows.scopes.find((x) => x.kind === 'handoff')!;
  assert.deepEqual(reviewer.memo?.['scopetrail.scope'], {
    sessionId,
    scopeId: handedOff.scopeId,
    kind: 'handoff',
    parentScopeId: null,
    handoffFromScopeId: handedOff.handoffFromScopeId,
    agent: 'reviewer',
    delegatedBy: null,
    objective: handedOff.objective,
  });
});

test('a run started around the client still publishes its scope to visibility, by upserting', async () => {
  const id = `ses-raw${Date.now().toString(36)}`;
  await rt.client.temporal.workflow.execute('translator', { workflowId: id, taskQueue: rt.taskQueue, args: [{ text: 'hola', to: 'en' }], memo: { 'scopetrail.visibility': true } }).catch(() => undefined);
  const desc = await rt.client.temporal.workflow.getHandle(id).describe();
  assert.deepEqual(desc.searchAttributes?.ScopetrailScope, [`${id}`]);
  assert.equal((desc.memo?.['scopetrail.scope'] as { kind: string }).kind, 'root');
});
