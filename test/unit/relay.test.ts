/**
 * A tool's records that its worker could only spool travel back with its result and are
 * written by the workflow's worker (cim/envelope.ts ToolRelay, worker/sinks.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Recorder } from '../../worker/recorder';
import { scopetrailSinks } from '../../worker/sinks';
import { unwrapToolResult, wrapToolResult } from '../../cim/envelope';
import type { ActionRecord } from '../../cim/schemas';
import type { Store } from '../../store/types';
import type { SinkEvent } from '../../workflows/sinks';
import { action } from './fixtures';

function recordingStore() {
  const actions: ActionRecord[] = [];
  const gaps: ActionRecord[] = [];
  const store = {
    upsertActions: async (rows: ActionRecord[]) => void actions.push(...rows),
    fillActionGaps: async (rows: ActionRecord[]) => void gaps.push(...rows),
    upsertScopes: async () => undefined,
    upsertPayloads: async () => undefined,
    fingerprints: () => ({ upsert: async () => undefined }),
  } as unknown as Store;
  return { store, actions, gaps };
}

/** The workflow task's info as the sink sees it: this run, on a build of its own. */
const info = {
  namespace: 'default',
  workflowId: 's',
  currentDeploymentVersion: { deploymentName: 'workflows', buildId: 'wf-build' },
};

const sink = (recorder: Recorder, log: (m: string) => void) =>
  scopetrailSinks(recorder, log).scopetrail.record.fn as (info: unknown, events: SinkEvent[]) => Promise<void>;

test('a tool result carries its spooled records through the envelope, and none when nothing was spooled', () => {
  const ended = action('s/a1#2', 's', { attempt: 2, workerDeployment: 'tools', workerBuildId: 'tool-build' });
  const gap = action('s/a1#1', 's', { status: 'error', error: 'attempt ended without reporting its outcome', attributes: { reconstructed: true } });
  // Through JSON, as Temporal's payload converter carries it.
  const carried = JSON.parse(JSON.stringify(wrapToolResult({ ok: true }, 2, [], { actions: [ended], gaps: [gap] })));
  const unwrapped = unwrapToolResult(carried);
  assert.deepEqual(unwrapped.value, { ok: true });
  assert.equal(unwrapped.attempt, 2);
  assert.deepEqual(unwrapped.relay, { actions: [ended], gaps: [gap] });
  assert.equal('relay' in unwrapToolResult(JSON.parse(JSON.stringify(wrapToolResult({ ok: true }, 1, [])))), false);
});

test('relayed records are written as the tool\'s worker built them: actions as actions, gaps as gap fills', async () => {
  const { store, actions, gaps } = recordingStore();
  const recorder = new Recorder(store, { lingerMs: 1 });
  const ended = action('s/a1#2', 's', { attempt: 2, workerDeployment: 'tools', workerBuildId: 'tool-build' });
  const gap = action('s/a1#1', 's', { status: 'error', error: 'lost', attributes: { reconstructed: true } });
  const logged: string[] = [];
  await sink(recorder, (m) => logged.push(m))(info, [{ type: 'relay', actions: [ended], gaps: [gap] }]);
  await recorder.drain();
  assert.deepEqual(logged, []);
  assert.deepEqual(actions, [ended], 'unchanged: the tool worker\'s build, not the workflow task\'s');
  assert.deepEqual(gaps, [gap]);
});

test('a relayed record of another run or namespace, or one that is not a record, is dropped and said', async () => {
  const { store, actions, gaps } = recordingStore();
  const recorder = new Recorder(store, { lingerMs: 1 });
  const logged: string[] = [];
  const events: SinkEvent[] = [
    { type: 'relay', actions: [action('x/a1#1', 'x', { workflowId: 'another-run' })], gaps: [] },
    { type: 'relay', actions: [action('s/a2#1', 's', { namespace: 'elsewhere' })], gaps: [] },
    { type: 'relay', actions: [], gaps: [{ actionId: 's/a3#1' } as unknown as ActionRecord] },
    { type: 'relay', actions: [action('s/a4#1', 's')], gaps: [] },
  ];
  await sink(recorder, (m) => logged.push(m))(info, events);
  await recorder.drain();
  assert.deepEqual(actions.map((a) => a.actionId), ['s/a4#1']);
  assert.deepEqual(gaps, []);
  assert.equal(logged.length, 3);
  assert.match(logged[0]!, /x\/a1#1: it belongs to default\/another-run, not this run/);
  assert.match(logged[1]!, /s\/a2#1: it belongs to elsewhere\/s, not this run/);
  assert.match(logged[2]!, /malformed relayed action record s\/a3#1/);
});


test('a tool attempt the workflow reconstructs carries the resources its tool declares; other fills and rows are left as they are', async () => {
  const { store, gaps, actions } = recordingStore();
  const recorder = new Recorder(store, { lingerMs: 1 });
  const declared = (tool: string) => (tool === 'fetch' ? [{ uri: 'api:upstream', mode: 'read' as const }] : undefined);
  const fn = scopetrailSinks(recorder, () => undefined, undefined, declared).scopetrail.record.fn as (info: unknown, events: SinkEvent[]) => Promise<void>;
  const bare = (id: string, fields: Partial<ActionRecord>) => {
    const { inputDigest: _i, outputDigest: _o, ...rest } = action(id, 's', fields);
    return { ...rest, input: { q: 1 } };
  };
  await fn(info, [
    { type: 'gap', record: bare('s/a1#3', { name: 'fetch', status: 'error', attempt: 3, attributes: { reconstructed: true } }) },
    { type: 'gap', record: bare('s/a2#1', { name: 'unknownTool', status: 'error', attributes: { reconstructed: true } }) },
    { type: 'gap', record: bare('s/a3#1', { name: 'fetch', status: 'error', resources: [{ uri: 'api:other', mode: 'write' }], attributes: { reconstructed: true } }) },
    { type: 'action', record: bare('s/a4#1', { name: 'fetch' }) },
  ] as SinkEvent[]);
  await recorder.drain();
  assert.deepEqual(
    gaps.map((g) => [g.actionId, g.resources.map((r) => `${r.mode} ${r.uri}`)]),
    [['s/a1#3', ['read api:upstream']], ['s/a2#1', []], ['s/a3#1', ['write api:other']]],
  );
  assert.deepEqual(actions.map((a) => a.resources), [[]], 'a row the workflow writes as it happened is not widened');
});
