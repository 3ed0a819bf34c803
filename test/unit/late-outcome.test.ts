/**
 * An attempt that ends after its deadline on the worker's clock is recorded as Temporal
 * timing it out; a server whose timer fires late takes the outcome anyway, and only the
 * workflow learns it, by getting the result. The result carries the attempt as it ended,
 * and the workflow's record replaces the overrun row (worker/activity-interceptor.ts tookLate).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { encodeScopeHeader, SCOPE_HEADER } from '../../cim/header';
import { unwrapToolResult } from '../../cim/envelope';
import type { ActionRecord, ScopeContext } from '../../cim/schemas';
import { digest } from '../../store/digest';
import type { Store } from '../../store/types';
import { Recorder } from '../../worker/recorder';
import { scopeActivityInterceptor, type RegisteredTool } from '../../worker/activity-interceptor';
import { scopetrailSinks } from '../../worker/sinks';
import type { SinkEvent } from '../../workflows/sinks';

const ctx: ScopeContext = {
  sessionId: 's', scopeId: 's', parentScopeId: null, handoffFromScopeId: null, kind: 'root', agent: 'caller',
  agentVersion: '1', delegatedBy: null, allowance: null, depth: 0, path: '/s/', handoffIndex: 0, visibility: false, budget: null,
};

/** A store that keeps the last row written for each action id, as the upsert does; `holdMs`: its first write of a success waits that long. */
function lastWriteWins(holdMs = 0) {
  const rows = new Map<string, ActionRecord>();
  let held = false;
  const store = {
    upsertActions: async (records: ActionRecord[]) => {
      if (holdMs && !held && records.some((r) => r.status === 'success')) {
        held = true;
        await new Promise((r) => setTimeout(r, holdMs));
      }
      records.forEach((r) => rows.set(r.actionId, r));
    },
    fillActionGaps: async (records: ActionRecord[]) => void records.forEach((r) => (rows.get(r.actionId)?.status ?? 'running') === 'running' && rows.set(r.actionId, r)),
    upsertScopes: async () => undefined,
    upsertPayloads: async () => undefined,
    fingerprints: () => ({ upsert: async () => undefined }),
  } as unknown as Store;
  return { store, rows };
}

/** The header a workflow's outbound interceptor would have set. */
const withScope: ActivityInterceptorsFactory = () => ({
  inbound: { execute: (input, next) => next({ ...input, headers: { ...input.headers, [SCOPE_HEADER]: encodeScopeHeader(ctx) } }) },
});

const tools = new Map<string, RegisteredTool>([['lookup', { name: 'lookup', kind: 'tool_call', resources: [{ uri: 'api:lookup', mode: 'read' }], recordPayloads: false }]]);

async function runLate(recorder: Recorder, output: unknown, toolMs = 60) {
  const env = new MockActivityEnvironment(
    {
      activityType: 'lookup',
      activityId: '3',
      attempt: 2,
      isLocal: false,
      startToCloseTimeoutMs: 20,
      workflowExecution: { workflowId: 's', runId: 'run-1' },
      workflowNamespace: 'default',
    },
    { interceptors: [withScope, scopeActivityInterceptor(recorder, tools, { runningRowAfterMs: 0 })] },
  );
  return env.run(async () => {
    await new Promise((r) => setTimeout(r, toolMs));
    return output;
  });
}

test('an attempt that outran its deadline is recorded timed out, and its result carries it as it ended for the workflow to write if Temporal took it', async () => {
  const { store, rows } = lastWriteWins();
  const recorder = new Recorder(store, { lingerMs: 1 });
  const result = await runLate(recorder, { rows: 3 });
  await recorder.drain();
  const id = 's/a3#2';
  const stored = rows.get(id);
  assert.equal(stored?.status, 'error', 'the worker records what a server that kept its timer does');
  assert.match(stored?.error ?? '', /start-to-close timeout \(20 ms\) passed before the tool finished; it succeeded after \d+ ms/);

  const { value, attempt, relay } = unwrapToolResult(JSON.parse(JSON.stringify(result)));
  assert.deepEqual(value, { rows: 3 });
  assert.equal(attempt, 2);
  const ended = relay?.actions?.[0];
  assert.equal(relay?.actions?.length, 1);
  assert.equal(ended?.actionId, id);
  assert.equal(ended?.status, 'success');
  assert.equal(ended?.error, null);
  assert.equal(ended?.outputDigest, digest({ rows: 3 }), 'the digest reconcile computes from the result in history');
  assert.deepEqual(ended?.resources, [{ uri: 'api:lookup', mode: 'read' }]);
  assert.equal(ended?.attributes.finishedAfterDeadline, true);
  assert.equal(ended?.attributes.timedOut, undefined);

  // The workflow got the result: Temporal took it. Its worker writes the relay, and the row says what history says.
  const sink = scopetrailSinks(recorder, () => undefined).scopetrail.record.fn as (info: unknown, events: SinkEvent[]) => Promise<void>;
  await sink({ namespace: 'default', workflowId: 's' }, [{ type: 'relay', actions: relay?.actions ?? [], gaps: [] }]);
  await recorder.drain();
  assert.equal(rows.get(id)?.status, 'success');
  assert.equal(rows.get(id)?.outputDigest, digest({ rows: 3 }));
});

test('an output that cannot be digested relays nothing: Temporal cannot take it either', async () => {
  const { store, rows } = lastWriteWins();
  const recorder = new Recorder(store, { lingerMs: 1 });
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  const result = await runLate(recorder, cycle);
  await recorder.drain();
  assert.equal(rows.get('s/a3#2')?.status, 'error');
  assert.equal(unwrapToolResult(result).relay, undefined);
});

test('a tool that answered in time but whose record waited past the deadline is recorded timed out, saying so, not blaming the tool', async () => {
  const { store, rows } = lastWriteWins(150);
  const recorder = new Recorder(store, { lingerMs: 1 });
  const result = await runLate(recorder, { rows: 1 }, 0);
  await recorder.drain();
  const stored = rows.get('s/a3#2');
  assert.equal(stored?.status, 'error', 'history has the attempt timed out: Temporal stopped waiting while its record was held');
  assert.equal(stored?.outputDigest, null);
  assert.match(stored?.error ?? '', /passed while the attempt waited \d+ ms for records to be written .*; the tool succeeded after \d+ ms, in time,/);
  // Should Temporal take it after all, the workflow writes it as it ended.
  assert.equal(unwrapToolResult(result).relay?.actions?.[0]?.status, 'success');
});
