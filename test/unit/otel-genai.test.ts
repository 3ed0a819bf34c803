/** The GenAI span mapping: which spans a session becomes, how they nest, and what they say. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as semconv from '@opentelemetry/semantic-conventions/incubating';
import { recordSpanId, sessionToGenAiSpans, type GenAiSpan } from '../../cim/otel-genai';
import { action, scope } from './fixtures';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
const NOW = '2026-01-01T00:00:09.000Z';

const scopes = [
  scope('s', { objective: 'answer the question', agent: 'orchestrator', status: 'degraded' }),
  scope('s.1', { parentScopeId: 's', agent: 'researcher', objective: 'research', depth: 1 }),
  scope('s.1.1', { parentScopeId: 's.1', agent: 'verifier', depth: 2, endedAt: null, status: 'running' }),
  scope('s.2', { parentScopeId: 's', agent: 'translator', status: 'error', error: 'quota exceeded', depth: 1 }),
  scope('s~1', { kind: 'handoff', handoffFromScopeId: 's', agent: 'reviewer', objective: 'final review' }),
];
const actions = [
  action('s/w1', 's', { kind: 'delegate', name: 'researcher', targetScopeId: 's.1', agent: 'orchestrator' }),
  action('s/w2', 's', { kind: 'handoff', name: 'reviewer', targetScopeId: 's~1', agent: 'orchestrator' }),
  action('s.1/a1#1', 's.1', { name: 'search', agent: 'researcher', resources: [{ uri: 'api:web-search', mode: 'read' }] }),
  action('s.2/a1#1', 's.2', { name: 'translate', agent: 'translator', status: 'error', error: 'quota exceeded' }),
  action('s.2/a1#2', 's.2', { name: 'translate', agent: 'translator', attempt: 2, status: 'error', error: 'quota exceeded' }),
  action('s.2/a2#1', 's.2', { kind: 'denied', name: 'saveNote', agent: 'translator', status: 'denied', error: 'db:notes is outside the allowance' }),
  action('s/a3#1', 's', {
    kind: 'llm_call', name: 'llm', agent: 'orchestrator',
    attributes: { provider: 'openai', requestedModel: 'gpt-x', model: 'gpt-x-2026', inputTokens: 120, outputTokens: 30, finishReason: 'stop', totalTokens: 150 },
  }),
  action('s~1/a1#1', 's~1', { kind: 'llm_call', name: 'llm', agent: 'reviewer', status: 'error', error: 'rate limited', attributes: { httpStatus: 429 } }),
];

const trace = sessionToGenAiSpans('s', scopes, actions, { hash, now: NOW });
const byId = (id: string): GenAiSpan => trace.spans.find((s) => s.source.id === id)!;

test('each scope is an invoke_agent span, each tool call or refusal execute_tool, each LLM call chat; the rest are events', () => {
  const count = (op: string) => trace.spans.filter((s) => s.operation === op).length;
  assert.deepEqual([count('invoke_agent'), count('execute_tool'), count('chat')], [5, 4, 2]);
  assert.equal(trace.spans.length, 11, 'delegate and handoff actions are not spans of their own');
  assert.deepEqual(byId('s').events.map((e) => `${e.name} ${e.attributes['scopetrail.target_scope.id']}`), [
    'scopetrail.delegate s.1',
    'scopetrail.handoff s~1',
  ]);
  assert.deepEqual(
    trace.spans.map((s) => s.name).sort(),
    [
      'chat gpt-x', 'chat llm', 'execute_tool saveNote', 'execute_tool search', 'execute_tool translate', 'execute_tool translate',
      'invoke_agent orchestrator', 'invoke_agent researcher', 'invoke_agent reviewer', 'invoke_agent translator', 'invoke_agent verifier',
    ],
  );
});

test('spans nest like the scope tree: delegations under their delegator, actions under their scope, a handoff beside with a link', () => {
  const parentOf = (id: string) => trace.spans.find((s) => s.spanId === byId(id).parentSpanId)?.source.id ?? null;
  assert.equal(parentOf('s'), null);
  assert.equal(parentOf('s.1'), 's');
  assert.equal(parentOf('s.1.1'), 's.1');
  assert.equal(parentOf('s.2/a1#2'), 's.2');
  assert.equal(parentOf('s/a3#1'), 's');
  const handoff = byId('s~1');
  assert.equal(handoff.parentSpanId, null, 'a handoff target is nobody\'s child');
  assert.deepEqual(handoff.links.map((l) => [l.spanId, l.attributes['scopetrail.link.kind']]), [[byId('s').spanId, 'handoff']]);
  assert.equal(new Set(trace.spans.map((s) => s.traceId)).size, 1, 'one trace per session');
});

test('agent spans carry the GenAI agent attributes and the scope facts', () => {
  const a = byId('s.1').attributes;
  assert.equal(a['gen_ai.operation.name'], 'invoke_agent');
  assert.equal(a['gen_ai.agent.name'], 'researcher');
  assert.equal(a['gen_ai.agent.id'], 's.1');
  assert.equal(a['gen_ai.agent.description'], 'research');
  assert.equal(a['gen_ai.conversation.id'], 's');
  assert.equal(a['scopetrail.scope.parent_id'], 's');
  assert.equal(a['scopetrail.delegation.kind'], 'delegation');
  assert.equal(byId('s~1').attributes['scopetrail.delegation.kind'], 'handoff');
  assert.equal(byId('s').attributes['scopetrail.scope.parent_id'], undefined, 'absent facts are left out, not sent as null');
});

test('a chat span reads model, provider and token usage from the action attributes, and tolerates their absence', () => {
  const chat = byId('s/a3#1');
  assert.equal(chat.kind, 'client');
  assert.deepEqual(
    [chat.attributes['gen_ai.request.model'], chat.attributes['gen_ai.response.model'], chat.attributes['gen_ai.provider.name']],
    ['gpt-x', 'gpt-x-2026', 'openai'],
  );
  assert.deepEqual([chat.attributes['gen_ai.usage.input_tokens'], chat.attributes['gen_ai.usage.output_tokens']], [120, 30]);
  assert.deepEqual(chat.attributes['gen_ai.response.finish_reasons'], ['stop']);
  assert.equal(chat.attributes['scopetrail.action.attributes.totalTokens'], 150, 'unmapped keys pass through under a prefix');
  const bare = byId('s~1/a1#1');
  assert.equal(bare.name, 'chat llm');
  assert.equal(bare.attributes['gen_ai.usage.input_tokens'], undefined);
  assert.equal(bare.attributes['error.type'], '429');
});

test('tool spans name the tool and the call; failures and refusals are ERROR with the message', () => {
  const t = byId('s.2/a1#2');
  assert.deepEqual(
    [t.attributes['gen_ai.tool.name'], t.attributes['gen_ai.tool.call.id'], t.attributes['scopetrail.attempt'], t.attributes['scopetrail.status']],
    ['translate', 's.2/a1#2', 2, 'error'],
  );
  assert.deepEqual(t.status, { code: 'error', message: 'quota exceeded' });
  assert.deepEqual(byId('s.2').status, { code: 'error', message: 'quota exceeded' });
  assert.deepEqual(byId('s.2/a2#1').status, { code: 'error', message: 'db:notes is outside the allowance' });
  assert.equal(byId('s.2/a2#1').attributes['error.type'], 'denied');
  assert.deepEqual(byId('s').status, { code: 'unset' }, 'degraded is not an error of the scope itself');
  assert.deepEqual(byId('s.1/a1#1').attributes['scopetrail.resources'], ['read api:web-search']);
});

test('times are the records\' own; a running record ends at the given time', () => {
  assert.equal(byId('s.1/a1#1').startTime, '2026-01-01T00:00:00.100Z');
  assert.equal(byId('s.1/a1#1').endTime, '2026-01-01T00:00:00.200Z');
  assert.equal(byId('s.1.1').endTime, NOW);
});

test('ids are derived from the records: the same session maps to the same ids, another session or namespace to others', () => {
  const again = sessionToGenAiSpans('s', [...scopes].reverse(), [...actions].reverse(), { hash, now: '2027-01-01T00:00:00.000Z' });
  assert.deepEqual(again.spans.map((s) => s.spanId).sort(), trace.spans.map((s) => s.spanId).sort());
  assert.equal(again.traceId, trace.traceId);
  assert.match(trace.traceId, /^[0-9a-f]{32}$/);
  assert.ok(trace.spans.every((s) => /^[0-9a-f]{16}$/.test(s.spanId)));
  assert.equal(new Set(trace.spans.map((s) => s.spanId)).size, trace.spans.length, 'no two records share a span id');
  const other = sessionToGenAiSpans('t', [scope('t', { sessionId: 't' })], [], { hash, now: NOW });
  assert.notEqual(other.traceId, trace.traceId);
  const otherNs = sessionToGenAiSpans('s', [scope('s', { namespace: 'prod' })], [], { hash, now: NOW });
  assert.notEqual(otherNs.traceId, trace.traceId);
  assert.notEqual(recordSpanId('scope', 'default', 's', hash), recordSpanId('action', 'default', 's', hash));
});

test('every gen_ai.* and error.type key used is defined by the OpenTelemetry semantic conventions package', () => {
  const defined = new Set(Object.values(semconv as Record<string, unknown>).filter((v): v is string => typeof v === 'string'));
  const used = new Set(trace.spans.flatMap((s) => Object.keys(s.attributes)).filter((k) => k.startsWith('gen_ai.') || k === 'error.type'));
  assert.ok(used.size >= 15, `expected the full set of GenAI keys, saw ${[...used].join(', ')}`);
  assert.deepEqual([...used].filter((k) => !defined.has(k)), []);
  for (const op of ['invoke_agent', 'execute_tool', 'chat']) assert.ok(defined.has(op), `${op} is a defined gen_ai.operation.name value`);
});

test('a hash too short for an id is refused with a message naming the need', () => {
  assert.throws(() => sessionToGenAiSpans('s', scopes, [], { hash: () => 'abc', now: NOW }), /at least 32 lowercase hex digits/);
});

test('an agent span in error says why even when its scope has no error of its own: every delegation it made failed', () => {
  const [root] = sessionToGenAiSpans('u', [scope('u', { sessionId: 'u', status: 'error', error: null })], [], { hash, now: NOW }).spans;
  assert.deepEqual(root!.status, { code: 'error', message: 'every delegation it made failed' });
  const [own] = sessionToGenAiSpans('v', [scope('v', { sessionId: 'v', status: 'error', error: 'boom' })], [], { hash, now: NOW }).spans;
  assert.deepEqual(own!.status, { code: 'error', message: 'boom' });
});

test('an exported MCP call span carries the resources its receipt reports, and how the receipt stands against its signature, as footprint counts them', async () => {
  const { openStore } = await import('../../store');
  const { ScopeClient } = await import('../../client/scope-client');
  const { startOtlpReceiver } = await import('../helpers/otlp-receiver');
  const { RECEIPT_SESSION, writeReceiptSession } = await import('../helpers/receipt-session');
  const store = await openStore({ memory: true, url: undefined });
  const receiver = await startOtlpReceiver();
  try {
    const { key } = await writeReceiptSession(store);
    const client = await ScopeClient.connect({ store, taskQueue: 'otel-receipts', delegationKey: key });
    try {
      await client.exportOtel(RECEIPT_SESSION, { endpoint: receiver.tracesUrl });
      const span = (n: number) => receiver.spans().find((s) => s.attributes['scopetrail.action.id'] === `${RECEIPT_SESSION}/a${n}#1`)!;
      const said = (n: number) => [span(n).attributes['scopetrail.resources'], span(n).attributes['scopetrail.mcp.receipt.signature'], span(n).attributes['scopetrail.mcp.receipt.server']];
      assert.deepEqual(said(1), [['read mcp:notes/save', 'write note:k1'], 'verified', 'notes']);
      assert.deepEqual(said(2), [['read mcp:notes/save', 'write note:forged'], 'forged', 'notes']);
      assert.deepEqual(said(3), [['read mcp:notes/save', 'write note:k3'], 'unsigned', 'notes']);
      assert.deepEqual(span(1).attributes['scopetrail.mcp.receipt.resources'], ['write note:k1']);
      // Every resource footprint lists is on a span; the receipts it flags are the spans not marked verified.
      const footprint = await client.footprint(RECEIPT_SESSION);
      const onSpans = new Set(receiver.spans().flatMap((s) => (s.attributes['scopetrail.resources'] as string[] | undefined) ?? []));
      assert.deepEqual(footprint.resources.map((r) => `${r.mode} ${r.uri}`).filter((r) => !onSpans.has(r)), []);
      assert.deepEqual(footprint.receiptProblems.map((p) => p.id).sort(), [2, 3].map((n) => `${RECEIPT_SESSION}/a${n}#1`));
    } finally {
      await client.close();
    }
  } finally {
    await receiver.close();
    await store.close();
  }
});
