/**
 * Live OpenTelemetry from the worker: records committed through a real Recorder into the
 * embedded store are streamed as GenAI spans into a span processor, and the stream equals
 * the post-hoc export of the same records read back from that store.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { openStore } from '../../store';
import type { Store } from '../../store/types';
import { Recorder, type RecordBatch } from '../../worker/recorder';
import { LiveOtel } from '../../worker/live-otel';
import { ScopetrailPlugin } from '../../worker/plugin';
import { sessionToGenAiSpans } from '../../cim/otel-genai';
import { liveSpanWork } from '../../cim/otel-live';
import { otelResource, sha256Hex, toReadableSpan } from '../../client/otel-export';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { action, scope } from './fixtures';

let store: Store;
before(async () => {
  store = await openStore({ memory: true, url: undefined });
  await store.migrate();
});
after(() => store?.close());

/** The user's own pipeline: a processor they also give their TracerProvider. */
function userPipeline() {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(exporter);
  let shutdowns = 0;
  const watched: SpanProcessor = {
    onStart: (span, ctx) => processor.onStart(span, ctx),
    onEnd: (span) => processor.onEnd(span),
    forceFlush: () => processor.forceFlush(),
    shutdown: async () => {
      shutdowns += 1;
      await processor.shutdown();
    },
  };
  return { exporter, processor: watched, shutdowns: () => shutdowns };
}

function streaming(processor: SpanProcessor) {
  const live = new LiveOtel(store, { spanProcessor: processor });
  const recorder = new Recorder(store, { lingerMs: 1, onCommitted: (b) => live.committed(b) });
  return { live, recorder, commit: (batch: RecordBatch) => recorder.write(batch) };
}

/** What a backend sees of a span; ids, times, attributes, events, links, status, resource. */
function seen(s: ReadableSpan) {
  return {
    name: s.name,
    kind: s.kind,
    ids: `${s.spanContext().traceId}/${s.spanContext().spanId}/${s.parentSpanContext?.spanId ?? '-'}`,
    start: s.startTime,
    end: s.endTime,
    attributes: s.attributes,
    status: s.status,
    events: s.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes })),
    links: s.links.map((l) => ({ span: l.context.spanId, attributes: l.attributes })),
    resource: s.resource.attributes,
    scope: s.instrumentationScope,
  };
}

/** The post-hoc export of a session, from the store, as ReadableSpans. */
async function postHoc(sessionId: string) {
  const mapped = sessionToGenAiSpans(sessionId, await store.scopesOfSession(sessionId), await store.actionsOfSession(sessionId), {
    hash: sha256Hex,
    now: new Date().toISOString(),
  });
  const resource = otelResource('scopetrail');
  return mapped.spans.map((s) => seen(toReadableSpan(s, resource)));
}

const byIds = (spans: ReturnType<typeof seen>[]) => [...spans].sort((a, b) => a.ids.localeCompare(b.ids));

/** A small session: a root that delegates and hands off, tool attempts (one failing), a refusal, an LLM call. */
function session(sid: string) {
  const sc = (id: string, f: Partial<ScopeRecord> = {}) => scope(`${sid}${id}`, { sessionId: sid, workflowId: sid, ...f });
  const ac = (id: string, scopeId: string, f: Partial<ActionRecord> = {}) =>
    action(`${sid}${id}`, `${sid}${scopeId}`, { sessionId: sid, ...f });
  const root = sc('', { agent: 'orchestrator', objective: 'answer', path: `/${sid}/` });
  const child = sc('.1', { parentScopeId: sid, agent: 'researcher', depth: 1, path: `/${sid}/${sid}.1/`, startedAt: '2026-01-01T00:00:00.100Z', endedAt: '2026-01-01T00:00:00.800Z' });
  const next = sc('~1', { kind: 'handoff', handoffFromScopeId: sid, agent: 'reviewer', path: `/${sid}~1/`, startedAt: '2026-01-01T00:00:01.000Z', endedAt: '2026-01-01T00:00:02.000Z' });
  const running = <T extends { status: string; endedAt: string | null }>(r: T): T => ({ ...r, status: 'running', endedAt: null, error: null });
  const delegate = ac('/w1', '', { kind: 'delegate', name: 'researcher', targetScopeId: `${sid}.1`, agent: 'orchestrator', activityId: null });
  const handoff = ac('/w2', '', { kind: 'handoff', name: 'reviewer', targetScopeId: `${sid}~1`, agent: 'orchestrator', activityId: null, startedAt: '2026-01-01T00:00:00.900Z' });
  const search1 = ac('.1/a1#1', '.1', { name: 'search', agent: 'researcher', status: 'error', error: 'timeout\u0000 upstream', attributes: { httpStatus: 504 } });
  const search2 = ac('.1/a1#2', '.1', { name: 'search', agent: 'researcher', attempt: 2, resources: [{ uri: 'api:web-search', mode: 'read' }] });
  const refused = ac('.1/a2#1', '.1', { kind: 'denied', name: 'saveNote', agent: 'researcher', status: 'denied', error: 'db:notes is outside the allowance' });
  const chat = ac('~1/a1#1', '~1', {
    kind: 'llm_call', name: 'llm', agent: 'reviewer',
    attributes: { provider: 'scripted', requestedModel: 'm-1', model: 'm-1', inputTokens: 10, outputTokens: 3, finishReason: 'stop', totalTokens: 13, ratio: 0.1 + 0.2 },
  });
  return { root, child, next, running, delegate, handoff, search1, search2, refused, chat };
}

test('a finished call is streamed at once as the span the post-hoc export sends; running records and delegations are not', async () => {
  const user = userPipeline();
  const { live, commit } = streaming(user.processor);
  const s = session('live-a');
  await commit({ scopes: [s.running(s.root)], actions: [s.running(s.delegate)] });
  await commit({ scopes: [s.running(s.child)], actions: [s.running(s.search1)] });
  await live.flush();
  assert.deepEqual(user.exporter.getFinishedSpans(), [], 'nothing has finished yet');
  await commit({ actions: [s.search1] });
  await live.flush();
  const expected = (await postHoc('live-a')).find((p) => p.attributes['scopetrail.action.id'] === s.search1.actionId)!;
  assert.deepEqual(user.exporter.getFinishedSpans().map(seen), [expected]);
  assert.equal(expected.attributes['scopetrail.status'], 'error');
  assert.equal(expected.status.message, 'timeout\uFFFD upstream', 'the NUL the store cannot hold is replaced, in both exports alike');
  assert.equal(user.shutdowns(), 0);
});

test('a whole session streamed equals the post-hoc export of the store, each span once even when records are committed again', async () => {
  const user = userPipeline();
  const { live, commit } = streaming(user.processor);
  const s = session('live-b');
  await commit({ scopes: [s.running(s.root)], actions: [s.running(s.delegate)] });
  await commit({ scopes: [s.running(s.child)], actions: [s.running(s.search1)] });
  await commit({ actions: [s.search1, s.running(s.search2)] });
  await commit({ actions: [s.search2, s.refused] });
  await commit({ scopes: [s.child] });
  // The delegator's scope span is sent only once it ends: its events are complete then.
  await live.flush();
  const before = user.exporter.getFinishedSpans().map((x) => x.attributes['scopetrail.scope.id']);
  assert.ok(!before.includes('live-b'), 'the root is still running: no span for it yet');
  await commit({ actions: [s.delegate] });
  await commit({ actions: [s.handoff], scopes: [s.root] });
  // A replay of the root's last workflow task re-emits the same records; a spool drained again re-commits a call.
  await commit({ actions: [s.delegate, s.handoff], scopes: [s.root] });
  await commit({ actions: [s.search2] });
  await commit({ scopes: [s.running(s.next)], actions: [s.running(s.chat)] });
  await commit({ actions: [s.chat] });
  await commit({ scopes: [s.next] });
  await live.flush();
  const streamed = user.exporter.getFinishedSpans().map(seen);
  const exported = await postHoc('live-b');
  assert.equal(exported.length, 7, '3 scopes, 3 tool attempts and refusals, 1 LLM call');
  assert.deepEqual(byIds(streamed), byIds(exported));
  assert.equal(new Set(streamed.map((x) => x.ids)).size, streamed.length, 'no span twice');
  const root = streamed.find((x) => x.attributes['scopetrail.scope.id'] === 'live-b')!;
  assert.deepEqual(root.events.map((e) => e.name), ['scopetrail.delegate', 'scopetrail.handoff']);
  assert.equal(live.spans, 7);
});

test('a scope span carries the events other workers recorded, read back from the store when it ends', async () => {
  const user = userPipeline();
  const { live, commit } = streaming(user.processor);
  const s = session('live-c');
  // Another worker process committed the delegation; this one only sees the scope end.
  await store.upsertActions([s.delegate, s.handoff]);
  await commit({ scopes: [s.root] });
  await live.flush();
  const [span] = user.exporter.getFinishedSpans().map(seen);
  assert.deepEqual(span, (await postHoc('live-c')).find((p) => p.attributes['scopetrail.scope.id'] === 'live-c'));
  assert.equal(span!.events.length, 2);
});

test('an attempt closed by a gap record is streamed as the store merged it, and a gap for a finished attempt sends nothing new', async () => {
  const user = userPipeline();
  const { live, commit } = streaming(user.processor);
  const s = session('live-d');
  await commit({ actions: [{ ...s.running(s.search1), attributes: { region: 'eu' } }] });
  const gap: ActionRecord = { ...s.search1, error: 'the worker died', attributes: { gap: true } };
  await commit({ gaps: [gap] });
  await commit({ actions: [s.search2] });
  await commit({ gaps: [{ ...s.search2, status: 'error', error: 'the worker died' }] });
  await live.flush();
  const streamed = user.exporter.getFinishedSpans().map(seen);
  assert.deepEqual(byIds(streamed), byIds(await postHoc('live-d')));
  const closed = streamed.find((x) => x.attributes['scopetrail.action.id'] === s.search1.actionId)!;
  assert.equal(closed.attributes['scopetrail.action.attributes.region'], 'eu', 'the running row\'s facts stay');
  assert.equal(closed.attributes['scopetrail.action.attributes.gap'], true);
  assert.equal(streamed.find((x) => x.attributes['scopetrail.action.id'] === s.search2.actionId)!.attributes['scopetrail.status'], 'success');
});

test('spans join the user\'s own processor beside their own spans; nothing is registered globally and the processor stays theirs', async () => {
  const user = userPipeline();
  const provider = new BasicTracerProvider({ spanProcessors: [user.processor] });
  const { live, commit } = streaming(user.processor);
  provider.getTracer('app').startActiveSpan('handle request', (span) => span.end());
  const s = session('live-e');
  await commit({ actions: [s.search2] });
  await live.shutdown();
  assert.deepEqual(user.exporter.getFinishedSpans().map((x) => x.name).sort(), ['execute_tool search', 'handle request']);
  assert.equal(user.shutdowns(), 0, 'the user owns their processor');
  const global = trace.getTracerProvider();
  assert.ok(global instanceof ProxyTracerProvider && trace.getTracer('x').startSpan('probe').isRecording() === false, 'no global provider was set');
  await provider.shutdown();
});

test('the write path only queues: the span is made after the write has returned', async () => {
  const user = userPipeline();
  const live = new LiveOtel(store, { spanProcessor: user.processor });
  const s = session('live-f');
  live.committed({ actions: Array.from({ length: 1000 }, (_, i) => ({ ...s.search2, actionId: `${s.search2.actionId}-${i}` })) });
  // Structural, not timed: when committed() returns, nothing has been mapped yet.
  assert.equal(user.exporter.getFinishedSpans().length, 0, 'nothing is mapped on the write path');
  await live.flush();
  assert.equal(user.exporter.getFinishedSpans().length, 1000);
});

test('which committed records make spans: finished calls at once, ended scopes and gaps through the store', () => {
  const s = session('w');
  const work = liveSpanWork({
    scopes: [s.running(s.root), s.child],
    actions: [s.running(s.search1), s.search2, s.delegate, s.refused, s.chat],
    gaps: [s.search1],
  });
  assert.deepEqual(work.actions.map((a) => a.actionId), [s.search2.actionId, s.refused.actionId, s.chat.actionId]);
  assert.deepEqual(work.endedScopes, [{ namespace: 'default', scopeId: 'w.1' }]);
  assert.deepEqual(work.gapActions, [{ namespace: 'default', scopeId: 'w.1', actionIds: [s.search1.actionId] }]);
});

test('bad options and OTEL_* variables are refused with the field or variable named', () => {
  const refused = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (err: Error) => err.name === 'ScopetrailConfigError' && pattern.test(err.message));
  refused(() => new LiveOtel(store, { endpoint: 'not a url' }), /otel: invalid field "endpoint"/);
  // zod's url() takes "localhost:4318" (scheme "localhost:") and ftp://: OTLP/HTTP takes neither, as export-otel says.
  refused(() => new LiveOtel(store, { endpoint: 'localhost:4318' }), /otel: invalid field "endpoint": OTLP\/HTTP needs an http:\/\/ or https:\/\/ URL/);
  refused(() => new LiveOtel(store, { endpoint: 'ftp://x/v1/traces' }), /OTLP\/HTTP needs an http/);
  refused(() => new LiveOtel(store, { batch: { scheduledDelayMillis: -5 } }), /invalid field "batch\.scheduledDelayMillis"/);
  refused(() => new LiveOtel(store, { spanProcessor: userPipeline().processor, endpoint: 'http://x:4318/v1/traces' }), /give either spanProcessor or exporter/);
  refused(() => new LiveOtel(store, { spanProcessor: {} as SpanProcessor }), /invalid field "spanProcessor": give an OpenTelemetry SpanProcessor/);
  refused(() => new LiveOtel(store, {}, undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector' }), /OTEL_EXPORTER_OTLP_ENDPOINT "ftp:\/\/collector"/);
  refused(() => new LiveOtel(store, {}, undefined, { OTEL_EXPORTER_OTLP_HEADERS: 'x' }), /^otel: invalid OTEL_EXPORTER_OTLP_HEADERS "x": "x" is not a key=value pair/);
  refused(() => new LiveOtel(store, {}, undefined, { OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 'abc' }), /^otel: invalid OTEL_EXPORTER_OTLP_TRACES_TIMEOUT "abc"/);
  refused(() => new LiveOtel(store, {}, undefined, { OTEL_EXPORTER_OTLP_COMPRESSION: 'zip' }), /^otel: invalid OTEL_EXPORTER_OTLP_COMPRESSION "zip": give gzip or none/);
  refused(() => new ScopetrailPlugin({ store, fingerprintKey: false, otel: { serviceName: '' } }), /ScopetrailPlugin: invalid field "otel\.serviceName"/);
  refused(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, otel: { exporter: 'console' as never } }),
    /invalid field "otel\.exporter": give an OpenTelemetry SpanExporter/,
  );
});

test('an unreachable collector or a failing processor never fails a write: the failure is reported in one line', async () => {
  const { createServer } = await import('node:net');
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as { port: number }).port;
  await new Promise((r) => closed.close(r));
  const logs: string[] = [];
  const url = `http://127.0.0.1:${port}/v1/traces`;
  const live = new LiveOtel(store, { endpoint: url, batch: { scheduledDelayMillis: 10, exportTimeoutMillis: 2_000 } }, (m) => logs.push(m));
  const recorder = new Recorder(store, { lingerMs: 1, onCommitted: (b) => live.committed(b) });
  const s = session('live-g');
  await recorder.write({ actions: [s.search2] });
  await live.shutdown();
  assert.ok(logs.some((m) => m.startsWith(`live OpenTelemetry: could not export 1 span(s) to ${url}`)), logs.join('\n'));

  const broken: SpanProcessor = { onStart: () => undefined, onEnd: () => { throw new Error('processor bug'); }, forceFlush: async () => undefined, shutdown: async () => undefined };
  const failing = new LiveOtel(store, { spanProcessor: broken }, (m) => logs.push(m));
  failing.committed({ actions: [s.refused] });
  await new Promise((r) => setTimeout(r, 20));
  await failing.flush();
  assert.ok(logs.includes(`live OpenTelemetry: no span for action ${s.refused.actionId}`));
  assert.equal(failing.lost, 1);
});
