/**
 * Live OpenTelemetry from a real worker (Temporal dev server, Postgres): with `otel: true`
 * and nothing but the standard OTEL_* variables, the worker streams the example session's
 * GenAI spans to a real OTLP/HTTP receiver while the session runs, and what arrived
 * equals, span for span, the post-hoc export of the same session.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { orchestrator } from '../../examples/agents';
import { sessionTraceId } from '../../cim/otel-genai';
import { sha256Hex } from '../../client/otel-export';
import type { TestRuntime } from '../helpers/runtime';
import { startExampleRuntime } from '../helpers/example-runtime';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';

const ENV = {
  OTEL_EXPORTER_OTLP_ENDPOINT: '',
  OTEL_SERVICE_NAME: 'research-desk',
  OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=live',
  // The SDK's batch delay (5 s by default), shortened so spans leave while the session runs.
  OTEL_BSP_SCHEDULE_DELAY: '50',
};

let rt: TestRuntime;
let live: OtlpReceiver;
let sid: string;
let traceId: string;
/** What had arrived when the first scope span did, and whether the session had ended by then. */
let early: { spans: ReceivedSpan[]; sessionEnded: boolean; rootSpanSeen: boolean; at: number } | undefined;
let sessionEndedAt = 0;
let arrived: ReceivedSpan[] = [];

const scopeIdOf = (s: ReceivedSpan) => s.attributes['scopetrail.scope.id'];
const op = (s: ReceivedSpan) => s.attributes['gen_ai.operation.name'];

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

before(async () => {
  live = await startOtlpReceiver();
  Object.assign(process.env, ENV, { OTEL_EXPORTER_OTLP_ENDPOINT: live.baseUrl });
  // Slower tools make a session long enough to watch; nothing else differs from the example.
  rt = await startExampleRuntime({ otel: true, toolOptions: { latencyMs: 150 } });
  const session = await rt.client.startSession(orchestrator, { input: { question: 'What do live spans show?' }, objective: 'answer with verified research' });
  sid = session.sessionId;
  traceId = sessionTraceId('default', sid, sha256Hex);
  let sessionEnded = false;
  const result = session.result().finally(() => {
    sessionEnded = true;
    sessionEndedAt = Date.now();
  });
  const ofSession = () => live.spans().filter((s) => s.traceId === traceId);
  // The first delegated scope to end: its span must be here while the root still runs.
  await until('a scope span during the session', () => (ofSession().some((s) => op(s) === 'invoke_agent') ? true : undefined));
  const snapshot = ofSession();
  early = { spans: snapshot, sessionEnded, rootSpanSeen: snapshot.some((s) => scopeIdOf(s) === sid), at: Date.now() };
  await result;
  await rt.worker.recorder.drain();
  const expected = (await rt.store.scopesOfSession(sid)).length +
    (await rt.store.actionsOfSession(sid)).filter((a) => ['tool_call', 'llm_call', 'denied'].includes(a.kind)).length;
  await until(`${expected} spans of the session`, () => (ofSession().length >= expected ? true : undefined));
  // Time for a late duplicate to show up, had the worker sent one.
  await new Promise((r) => setTimeout(r, 500));
  arrived = ofSession();
});

after(async () => {
  await live?.close();
  await rt?.stop();
});

test('spans arrive while the session runs: each call as it finishes, each scope when it ends, the root only at its end', (t) => {
  assert.ok(early, 'the first scope span arrived');
  assert.equal(early.sessionEnded, false, 'the session was still running when the first scope span arrived');
  assert.equal(early.rootSpanSeen, false, 'the root scope is sent when it ends, not before');
  assert.ok(early.spans.some((s) => op(s) === 'execute_tool'), 'tool calls had arrived');
  assert.deepEqual(live.rejected, []);
  assert.ok(live.requests.length > 1, `spans came in several exports as they finished (${live.requests.length} requests)`);
  t.diagnostic(`${early.spans.length} spans had arrived ${sessionEndedAt - early.at} ms before the session ended; ${live.requests.length} export requests in all`);
});

test('the standard OTEL_* variables configure the stream: endpoint, service name, headers', () => {
  assert.equal(arrived[0]!.resource['service.name'], 'research-desk');
  assert.ok(live.headers.every((h) => h['x-tenant'] === 'live'), 'every export carries OTEL_EXPORTER_OTLP_HEADERS');
  assert.equal(arrived[0]!.scope.name, 'scopetrail');
});

test('what arrived live equals the post-hoc export of the session, span for span, each once', async () => {
  assert.equal(new Set(arrived.map((s) => s.spanId)).size, arrived.length, 'no span was sent twice');
  const posthoc = await startOtlpReceiver();
  try {
    const summary = await rt.client.exportOtel(sid, { endpoint: posthoc.tracesUrl });
    const exported = posthoc.spans();
    assert.equal(summary.total, exported.length);
    assert.equal(arrived.length, summary.total, 'the receiver\'s total for the session equals the post-hoc export');
    assert.deepEqual(summary.spans, { invoke_agent: 7, execute_tool: 11, chat: 2 }, 'the example session as documented');
    const bySpanId = (spans: ReceivedSpan[]) => [...spans].sort((a, b) => a.spanId.localeCompare(b.spanId));
    assert.deepEqual(bySpanId(arrived), bySpanId(exported), 'same ids, names, times, attributes, events, links, status and resource');
  } finally {
    await posthoc.close();
  }
});
