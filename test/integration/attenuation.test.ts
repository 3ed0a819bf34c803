/** Attenuation: authority only narrows as it is delegated; refusals happen before the tool runs and are recorded. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { guarded } from '../fixtures/agents';

let rt: TestRuntime;
const { tools, runs } = createFixtureTools();

before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(tools) });
});
after(async () => rt?.stop());

test('a delegate gets the intersection of its delegator\'s allowance and its own manifest', async () => {
  const s = await rt.client.startSession(guarded, { input: { dataset: 'public/weather' } });
  assert.equal(await s.result(), 42);
  const rows = await sessionRows(rt, s.sessionId);
  assert.deepEqual(rows.scope('').allowance, ['data:public*']);
  assert.deepEqual(rows.scope('.1').allowance, ['data:public*'], 'data:* from its manifest is cut back to data:public*');
  const read = rows.actionsOf(`${s.sessionId}.1`).find((a) => a.name === 'readDataset')!;
  assert.equal(read.status, 'success');
  assert.deepEqual(read.resources, [{ uri: 'data:public/weather', mode: 'read' }]);
});

test('a sub-agent reading a dataset its orchestrator may not touch is refused before reading, and recorded as denied', async () => {
  const before = runs.readDataset;
  const s = await rt.client.startSession(guarded, { input: { dataset: 'restricted/salaries' } });
  const result = (await s.result()) as string;
  assert.match(result, /^refused: delegation to dataReader/);
  assert.equal(runs.readDataset, before, 'the tool body never completed a read');
  const rows = await sessionRows(rt, s.sessionId);
  const denied = rows.actionsOf(`${s.sessionId}.1`);
  assert.equal(denied.length, 1, 'one attempt only: a refusal is not retried');
  assert.equal(denied[0]!.kind, 'denied');
  assert.equal(denied[0]!.status, 'denied');
  assert.deepEqual(denied[0]!.resources, [{ uri: 'data:restricted/salaries', mode: 'read' }]);
  assert.match(denied[0]!.error ?? '', /dataReader in scope .*\.1 may not read data:restricted\/salaries \(its allowance: data:public\*\)/);
  assert.equal(rows.scope('.1').status, 'error');
  assert.equal(rows.scope('').status, 'error', 'its only delegation failed');
  const touched = rows.actions.filter((a) => a.kind !== 'denied' && a.resources.some((r) => r.uri.startsWith('data:restricted')));
  assert.deepEqual(touched, [], 'nothing under the session touched the restricted data');
});

test('a local call refused by the allowance is denied once, binds the failure to the call, and reconciles from its marker', async () => {
  const before = runs.readDataset;
  const s = await rt.client.startSession(guarded, { input: { dataset: 'restricted/salaries', local: true } });
  assert.match((await s.result()) as string, /^refused: delegation to dataReader/);
  assert.equal(runs.readDataset, before, 'the tool body never completed a read');
  const rows = await sessionRows(rt, s.sessionId);
  const denied = rows.actionsOf(`${s.sessionId}.1`);
  assert.deepEqual(denied.map((a) => [a.kind, a.attempt]), [['denied', 1]], 'one attempt only: a refusal is not retried');
  assert.equal(rows.scope('.1').failedBy, denied[0]!.activityId, 'the scope failed because of the refused call');
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  assert.deepEqual((await rt.client.verify(s.sessionId)).problems, []);
});

test('a grand-child cannot widen its allowance by asking; declared and reported resources are both refused', async () => {
  const beforeExport = runs.exportAll;
  const s = await rt.client.startSession(guarded, { input: { dataset: 'restricted/salaries', widenTo: 'data:restricted*' } });
  assert.match((await s.result()) as string, /^refused:/);
  assert.equal(runs.exportAll, beforeExport, 'exportAll, which declares the restricted resource, never ran');
  const rows = await sessionRows(rt, s.sessionId);
  const grand = rows.scope('.1.1');
  assert.deepEqual(grand.allowance, [], 'data:restricted* ∩ data:public* is nothing');
  const denied = rows.actionsOf(grand.scopeId).map((a) => `${a.kind}:${a.name}:${a.status}:${a.resources.map((r) => r.uri).join()}`);
  assert.deepEqual(denied.sort(), [
    'denied:exportAll:denied:data:restricted/all',
    'denied:readDataset:denied:data:restricted/salaries',
  ]);
  assert.deepEqual(
    rows.scopes.map((x) => [x.scopeId.slice(s.sessionId.length), x.status]).sort(),
    // The root's code coped with the refusal, but its only delegation failed: by the roll-up rules that is `error`.
    [['', 'error'], ['.1', 'error'], ['.1.1', 'error']],
  );

  // "Was the restricted data touched?" — no, and the store is provably complete for the session.
  const answer = await rt.client.wasTouched(s.sessionId, 'data:restricted*');
  assert.equal(answer.touched, false);
  assert.equal(answer.denied.length, 2, 'the two refused attempts are shown');
  assert.deepEqual(answer.evidence.differences, []);
  assert.equal(answer.complete, true);
});
