/**
 * The example session, recorded by a real worker on the Temporal dev server into
 * Postgres, exported as OpenTelemetry GenAI spans over OTLP/HTTP protobuf to a real
 * receiver on loopback that decodes with the official opentelemetry-proto schema.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import type { TestRuntime } from '../helpers/runtime';
import { CLI_STORE_SKIP, runCliFor, type CliRun } from '../helpers/cli';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';

let rt: TestRuntime;
let receiver: OtlpReceiver;
let sid: string;
let scopes: ScopeRecord[];
let actions: ActionRecord[];
/** What the receiver got from the first export; later tests read it. */
let exported: ReceivedSpan[] = [];

before(async () => {
  rt = await startExampleRuntime();
  receiver = await startOtlpReceiver();
  ({ sessionId: sid } = await runExampleSession(rt, 'How do spans show delegation?', 'answer with verified research'));
  scopes = await rt.store.scopesOfSession(sid);
  actions = await rt.store.actionsOfSession(sid);
});
after(async () => {
  await receiver?.close();
  await rt?.stop();
});

function cli(args: string[]): Promise<CliRun> {
  return runCliFor(rt, args);
}

const op = (s: ReceivedSpan) => s.attributes['gen_ai.operation.name'];
const ids = (spans: ReceivedSpan[]) => spans.map((s) => `${s.traceId}/${s.spanId}/${s.parentSpanId}`).sort();

test('the session arrives as one trace: a span per scope, tool call and LLM call, counted as in the CIM', async () => {
  receiver.reset();
  const summary = await rt.client.exportOtel(sid, { endpoint: receiver.tracesUrl });
  const spans = (exported = receiver.spans());
  assert.deepEqual(receiver.rejected, []);
  const cim = (...kinds: string[]) => actions.filter((a) => kinds.includes(a.kind)).length;
  const expected = { invoke_agent: scopes.length, execute_tool: cim('tool_call', 'denied'), chat: cim('llm_call') };
  assert.deepEqual(expected, { invoke_agent: 7, execute_tool: 11, chat: 2 }, 'the example session as documented');
  const received = { invoke_agent: 0, execute_tool: 0, chat: 0 } as Record<string, number>;
  for (const s of spans) received[String(op(s))]! += 1;
  assert.deepEqual(received, expected);
  assert.deepEqual(summary.spans, expected);
  assert.equal(summary.total, spans.length);
  assert.equal(spans.reduce((n, s) => n + s.events.length, 0), cim('delegate', 'handoff', 'signal'), 'delegations and handoffs are span events');
  assert.deepEqual([...new Set(spans.map((s) => s.traceId))], [summary.traceId], 'one trace id for the whole session');
  assert.equal(new Set(spans.map((s) => s.spanId)).size, spans.length);
  assert.deepEqual(spans[0]!.resource['service.name'], 'scopetrail');
  assert.equal(spans[0]!.scope.name, 'scopetrail');
});

test('names and GenAI attributes say which agent, tool and model, with the recorded token usage and times', () => {
  const spans = exported;
  for (const scope of scopes) {
    const span = spans.find((s) => s.attributes['scopetrail.scope.id'] === scope.scopeId && op(s) === 'invoke_agent')!;
    assert.equal(span.name, `invoke_agent ${scope.agent}`);
    assert.equal(span.attributes['gen_ai.agent.name'], scope.agent);
    assert.equal(span.attributes['gen_ai.agent.id'], scope.scopeId);
    assert.equal(span.attributes['gen_ai.conversation.id'], sid);
    assert.equal(span.attributes['scopetrail.delegation.kind'], scope.kind);
    assert.equal(span.attributes['gen_ai.agent.description'], scope.objective ?? undefined);
    assert.equal(span.startTimeUnixNano, BigInt(Date.parse(scope.startedAt)) * 1_000_000n);
    assert.equal(span.endTimeUnixNano, BigInt(Date.parse(scope.endedAt!)) * 1_000_000n);
  }
  for (const action of actions.filter((a) => a.kind === 'tool_call')) {
    const span = spans.find((s) => s.attributes['scopetrail.action.id'] === action.actionId)!;
    assert.equal(span.name, `execute_tool ${action.name}`);
    assert.equal(span.attributes['gen_ai.tool.name'], action.name);
    assert.equal(span.attributes['gen_ai.tool.call.id'], action.actionId);
    assert.equal(span.attributes['scopetrail.attempt'], action.attempt);
    assert.equal(span.attributes['scopetrail.status'], action.status);
    assert.equal(span.kind, 'SPAN_KIND_INTERNAL');
  }
  const llmCalls = actions.filter((a) => a.kind === 'llm_call');
  for (const action of llmCalls) {
    const span = spans.find((s) => s.attributes['scopetrail.action.id'] === action.actionId)!;
    assert.equal(span.name, 'chat scripted-1');
    assert.equal(span.kind, 'SPAN_KIND_CLIENT');
    assert.equal(span.attributes['gen_ai.request.model'], 'scripted-1');
    assert.equal(span.attributes['gen_ai.provider.name'], 'scripted');
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], action.attributes.inputTokens);
    assert.equal(span.attributes['gen_ai.usage.output_tokens'], action.attributes.outputTokens);
    assert.ok(Number(span.attributes['gen_ai.usage.input_tokens']) > 0);
  }
});

test('spans nest like the scope tree, and the handoff target links back to the scope it took over from', () => {
  const spans = exported;
  const scopeSpan = new Map(spans.filter((s) => op(s) === 'invoke_agent').map((s) => [String(s.attributes['scopetrail.scope.id']), s]));
  for (const scope of scopes) {
    const span = scopeSpan.get(scope.scopeId)!;
    assert.equal(span.parentSpanId, scope.parentScopeId ? scopeSpan.get(scope.parentScopeId)!.spanId : null, scope.scopeId);
  }
  for (const action of actions.filter((a) => a.kind === 'tool_call' || a.kind === 'llm_call')) {
    const span = spans.find((s) => s.attributes['scopetrail.action.id'] === action.actionId)!;
    assert.equal(span.parentSpanId, scopeSpan.get(action.scopeId)!.spanId, action.actionId);
  }
  const citer = scopeSpan.get(`${sid}.1.1.1`)!;
  const chain = [citer];
  while (chain[0]!.parentSpanId) chain.unshift(spans.find((s) => s.spanId === chain[0]!.parentSpanId)!);
  assert.deepEqual(chain.map((s) => s.name), ['invoke_agent orchestrator', 'invoke_agent researcher', 'invoke_agent verifier', 'invoke_agent citer']);
  const reviewer = scopeSpan.get(`${sid}~1`)!;
  assert.equal(reviewer.parentSpanId, null);
  assert.deepEqual(reviewer.links.map((l) => [l.traceId, l.spanId, l.attributes['scopetrail.link.kind']]), [
    [reviewer.traceId, scopeSpan.get(sid)!.spanId, 'handoff'],
  ]);
  const delegations = scopeSpan.get(sid)!.events.filter((e) => e.name === 'scopetrail.delegate');
  assert.deepEqual(delegations.map((e) => e.attributes['scopetrail.target_scope.id']).sort(), [`${sid}.1`, `${sid}.2`, `${sid}.3`]);
});

test('the failed translator scope and its three attempts are ERROR spans with the error message; the rest are not', () => {
  const spans = exported;
  const errors = spans.filter((s) => s.status.code === 'STATUS_CODE_ERROR');
  const translator = `${sid}.3`;
  const failedFetches = actions.filter((a) => a.name === 'fetchPage' && a.status === 'error').map((a) => a.actionId);
  assert.deepEqual(
    errors.map((s) => String(s.attributes['scopetrail.action.id'] ?? s.attributes['scopetrail.scope.id'])).sort(),
    [translator, ...actions.filter((a) => a.scopeId === translator).map((a) => a.actionId), ...failedFetches].sort(),
  );
  for (const s of errors.filter((s) => s.attributes['scopetrail.scope.id'] === translator)) {
    assert.match(s.status.message, /translation service unavailable for "de" \(quota exceeded\)/);
    assert.ok(s.attributes['error.type']);
  }
  const root = spans.find((s) => s.attributes['scopetrail.scope.id'] === sid && op(s) === 'invoke_agent')!;
  assert.equal(root.status.code, 'STATUS_CODE_UNSET');
  assert.equal(root.attributes['scopetrail.status'], 'degraded');
});

test('exporting again, through the CLI and the standard environment variables, sends the same span ids', { skip: CLI_STORE_SKIP }, async () => {
  const first = ids(exported);
  assert.equal(first.length, 20);
  receiver.reset();
  const viaFlag = await cli(['export-otel', sid, '--endpoint', receiver.tracesUrl, '--json']);
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  const doc = JSON.parse(viaFlag.stdout);
  assert.deepEqual(doc.spans, { invoke_agent: 7, execute_tool: 11, chat: 2 });
  assert.equal(doc.endpoint, receiver.tracesUrl);
  assert.deepEqual(ids(receiver.spans()), first);

  receiver.reset();
  const keys = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SERVICE_NAME', 'OTEL_EXPORTER_OTLP_HEADERS'] as const;
  const saved = keys.map((k) => process.env[k]);
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.baseUrl;
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  process.env.OTEL_SERVICE_NAME = 'research-desk';
  process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-tenant=research';
  try {
    const viaEnv = await cli(['export-otel', sid]);
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.match(viaEnv.stdout, new RegExp(`Exported session ${sid} to ${receiver.tracesUrl} as trace [0-9a-f]{32}`));
    assert.match(viaEnv.stdout, /invoke_agent\s+7\n.*execute_tool\s+11\n.*chat\s+2\n.*total\s+20/s);
  } finally {
    keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
  }
  assert.deepEqual(ids(receiver.spans()), first);
  assert.equal(receiver.spans()[0]!.resource['service.name'], 'research-desk');
  assert.equal(receiver.headers[0]?.['x-tenant'], 'research', 'the exporter honours OTEL_EXPORTER_OTLP_HEADERS');
});

test('bad input and an unreachable endpoint are reported in one sentence, never sent half-way', { skip: CLI_STORE_SKIP }, async () => {
  const badUrl = await cli(['export-otel', sid, '--endpoint', 'ftp://collector:4318', '--json']);
  assert.equal(badUrl.code, 2);
  assert.match(JSON.parse(badUrl.stdout).error.message, /invalid --endpoint: OTLP\/HTTP needs an http:\/\/ or https:\/\/ URL/);
  const unknown = await cli(['export-otel', 'ses-nope', '--endpoint', receiver.tracesUrl]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no session "ses-nope" in the store/);
  const closed = await startOtlpReceiver();
  await closed.close();
  await assert.rejects(
    rt.client.exportOtel(sid, { endpoint: closed.tracesUrl, timeoutMillis: 1_000 }),
    new RegExp(`could not export session ${sid} to ${closed.tracesUrl}: .*ECONNREFUSED`),
  );
});
