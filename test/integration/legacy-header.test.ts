/**
 * Earlier versions carried a delegation's objective in the `scopetrail-scope` header.
 * A run started from such a header (a delegator still running the earlier version)
 * keeps that objective; a run started by this version carries none in its header.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client, Connection, type WorkflowClientInterceptor } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { createFixtureTools } from '../fixtures/tools';
import { SCOPE_HEADER } from '../../cim/names';

let rt: TestRuntime;
let connection: Connection;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
  connection = await Connection.connect({ address: rt.temporal.address });
});
after(async () => {
  await connection?.close();
  await rt?.stop();
});

test('a delegate started with an earlier version\'s header keeps the objective that header carried', async () => {
  const sid = `legacy-${randomBytes(4).toString('hex')}`;
  const scopeId = `${sid}.1`;
  const oldHeader = {
    sessionId: sid, scopeId, parentScopeId: sid, handoffFromScopeId: null, kind: 'delegation', agent: 'leaf',
    agentVersion: 'unknown', delegatedBy: 'fanout', objective: 'an objective from an earlier version', allowance: null,
    depth: 1, path: `/${sid}/${scopeId}/`, handoffIndex: 0, visibility: false,
  };
  const withOldHeader: WorkflowClientInterceptor = {
    start: (input, next) => next({ ...input, headers: { ...input.headers, [SCOPE_HEADER]: defaultPayloadConverter.toPayload(oldHeader)! } }),
  };
  const client = new Client({ connection, interceptors: { workflow: [withOldHeader] } });
  await client.workflow.execute('leaf', { workflowId: scopeId, taskQueue: rt.taskQueue, args: [{ text: 'hello' }] });
  const rows = await sessionRows(rt, sid);
  assert.equal(rows.scope('.1').objective, 'an objective from an earlier version');
  assert.equal(rows.scope('.1').parentScopeId, sid);

  // The activity it scheduled carried this version's header: ids and counters, no objective.
  const history = await client.workflow.getHandle(scopeId).fetchHistory();
  const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!;
  const header = defaultPayloadConverter.fromPayload(scheduled.header!.fields![SCOPE_HEADER] as never) as Record<string, unknown>;
  assert.equal(header.scopeId, scopeId);
  assert.ok(!('objective' in header), JSON.stringify(header));
});
