/**
 * Scaling out: two worker processes poll the lead agents' task queue and a third serves
 * the helper agents on a task queue of their own; the lead delegates across task queues.
 * Every session reconciles to zero differences, and every tool call is recorded under
 * the scope that made it whichever process ran it: Temporal's history names the worker
 * (its identity, `<pid>@<host>`) that started each activity, and the store's row for
 * that activity belongs to the scope whose workflow scheduled it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { ScopeClient } from '../../client/scope-client';
import type { Store } from '../../store/types';
import { scaleLead } from '../fixtures/scaleout-agents';
import { TEST_DATABASE_URL, dropTestSchema, openTestStore, usesPglite } from '../helpers/runtime';
import { spawnWorkerProcess, stopWorkerProcess } from '../helpers/worker-process';

const skip = usesPglite() ? 'worker processes share the store through the Postgres server' : false;
const AGENTS = require.resolve('../fixtures/scaleout-agents');
const TOOLS = require.resolve('../fixtures/scaleout-tools');
const suffix = randomBytes(4).toString('hex');
const leadQueue = `scale-lead-${suffix}`;
const helperQueue = `scale-helper-${suffix}`;

let temporal: TemporalEndpoint;
let store: Store;
let schema: string;
let client: ScopeClient;
let leads: ChildProcess[] = [];
let helper: ChildProcess | undefined;

before(
  async () => {
    if (skip) return;
    temporal = await ensureTemporal({ log: () => undefined });
    ({ store, schema } = await openTestStore());
    client = await ScopeClient.connect({ store, address: temporal.address, taskQueue: leadQueue });
    const spawnOn = (taskQueue: string) =>
      spawnWorkerProcess({ address: temporal.address, databaseUrl: TEST_DATABASE_URL, schema, taskQueue, agents: AGENTS, tools: TOOLS });
    [leads, helper] = await Promise.all([Promise.all([spawnOn(leadQueue), spawnOn(leadQueue)]), spawnOn(helperQueue)]);
  },
  { timeout: 120_000 },
);

after(async () => {
  await Promise.all([...leads, ...(helper ? [helper] : [])].map((w) => stopWorkerProcess(w, 'SIGKILL')));
  await client?.close();
  await store?.close();
  if (schema) await dropTestSchema(schema);
});

/** Waits until `count` workers poll the task queue for activities, so both can take work from the first session on. */
async function pollers(taskQueue: string, count: number): Promise<Set<string>> {
  let identities = new Set<string>();
  for (let i = 0; i < 60 && identities.size < count; i++) {
    if (i) await new Promise((r) => setTimeout(r, 500));
    const res = await client.temporal.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      taskQueueType: 2, // activity
    });
    identities = new Set((res.pollers ?? []).map((p) => p.identity ?? ''));
  }
  return identities;
}

/** From one run's history: its task queue, and the identity of the worker that started each activity. */
async function whoRan(workflowId: string, runId: string): Promise<{ taskQueue: string; byActivity: Map<string, string> }> {
  const history = await client.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  const scheduled = new Map<string, string>();
  const byActivity = new Map<string, string>();
  let taskQueue = '';
  for (const e of history.events ?? []) {
    if (e.workflowExecutionStartedEventAttributes) taskQueue = e.workflowExecutionStartedEventAttributes.taskQueue?.name ?? '';
    if (e.activityTaskScheduledEventAttributes) scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityId ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started) byActivity.set(scheduled.get(String(started.scheduledEventId))!, started.identity ?? '');
  }
  return { taskQueue, byActivity };
}

const pidOf = (identity: string) => Number(identity.split('@')[0]);

test('two worker processes share the lead task queue, a third serves the helpers on theirs; every action is attributed to its scope', { skip, timeout: 90_000 }, async () => {
  assert.equal((await pollers(leadQueue, 2)).size, 2, 'both lead worker processes poll the lead task queue');
  assert.equal((await pollers(helperQueue, 1)).size, 1, 'the helper worker process polls the helper task queue');

  const handles = await Promise.all(
    Array.from({ length: 6 }, (_, i) => client.startSession(scaleLead, { input: { question: `Q${i + 1}`, helperQueue }, objective: `answer Q${i + 1}` })),
  );
  for (const [i, h] of handles.entries()) {
    assert.equal((await h.result()).split(';').length, 5, `session ${i + 1} returns its 3 notes and its 2 helpers' answers`);
  }
  // SIGTERM drains each worker's recorder: the store is complete once all three have exited.
  await Promise.all([...leads, helper!].map((w) => stopWorkerProcess(w)));

  const leadPids = new Set(leads.map((w) => w.pid!));
  const leadPidsSeen = new Set<number>();
  for (const { sessionId } of handles) {
    const report = await client.reconcile(sessionId);
    assert.deepEqual(report.differences, [], `session ${sessionId} reconciles against its histories`);

    const scopes = await store.scopesOfSession(sessionId);
    assert.deepEqual(
      scopes.map((s) => `${s.scopeId.slice(sessionId.length) || '(root)'} ${s.agent} ${s.status}`).sort(),
      ['(root) scaleLead success', '.1 scaleHelper success', '.1.1 scaleChecker success', '.2 scaleHelper success', '.2.1 scaleChecker success'],
    );
    const actions = await store.actionsOfSession(sessionId);
    for (const scope of scopes) {
      const { taskQueue, byActivity } = await whoRan(scope.workflowId, scope.runId);
      const isLead = scope.agent === 'scaleLead';
      assert.equal(taskQueue, isLead ? leadQueue : helperQueue, `${scope.scopeId} (${scope.agent}) ran on its group's task queue`);
      const calls = actions.filter((a) => a.kind === 'tool_call' && a.workflowId === scope.workflowId);
      assert.equal(calls.length, isLead ? 3 : scope.agent === 'scaleHelper' ? 2 : 1, `${scope.scopeId}: its tool calls are recorded`);
      for (const call of calls) {
        assert.equal(call.scopeId, scope.scopeId, `tool call ${call.activityId} is recorded under the scope whose workflow scheduled it`);
        assert.equal(call.agent, scope.agent);
        const pid = pidOf(byActivity.get(call.activityId!) ?? '');
        if (isLead) {
          assert.ok(leadPids.has(pid), `${scope.scopeId}: tool call ${call.activityId} ran in a lead worker process (pid ${pid})`);
          leadPidsSeen.add(pid);
        } else {
          assert.equal(pid, helper!.pid, `${scope.scopeId}: tool call ${call.activityId} ran in the helper worker process`);
        }
      }
    }
  }
  assert.deepEqual([...leadPidsSeen].sort(), [...leadPids].sort(), 'both lead worker processes ran tool calls, and each was attributed to its scope');
});
