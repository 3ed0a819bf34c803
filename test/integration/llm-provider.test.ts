/**
 * A worker configured from the environment with the openai provider, pointed at an
 * OpenAI-compatible server on loopback: what the server receives, what the llm_call
 * record says (model asked for and served, the server's token counts), and how rate
 * limits and bad requests play out as attempts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { startOpenAiCompatibleServer, type OpenAiCompatibleServer } from '../helpers/openai-compatible-server';
import { llmProviderFromEnv } from '../../activities/llm-env';
import { createFixtureTools } from '../fixtures/tools';
import { responder } from '../fixtures/agents';

const API_KEY = 'sk-loopback-test';
let server: OpenAiCompatibleServer;
let rt: TestRuntime;

before(async () => {
  server = await startOpenAiCompatibleServer({ apiKey: API_KEY });
  const llm = llmProviderFromEnv({
    SCOPETRAIL_LLM_PROVIDER: 'openai',
    OPENAI_API_KEY: API_KEY,
    OPENAI_BASE_URL: server.baseURL,
    SCOPETRAIL_LLM_MODEL: 'default-model',
  });
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools), llm });
});
after(async () => {
  await rt?.stop();
  await server?.close();
});

async function llmCalls(sessionId: string) {
  const rows = await sessionRows(rt, sessionId);
  return { rows, calls: rows.actions.filter((a) => a.kind === 'llm_call').sort((a, b) => a.attempt - b.attempt) };
}

test('an agent\'s llm() reaches the server as a chat completion, and the record carries the model and the server\'s usage', async () => {
  const seen = server.requests.length;
  const session = await rt.client.startSession(responder, { input: { note: 'hello from the responder' } });
  assert.equal(await session.result(), 'responder: echo: hello from the responder');

  const requests = server.requests.slice(seen);
  assert.equal(requests.length, 1);
  const [req] = requests;
  assert.equal(req!.method, 'POST');
  assert.equal(req!.path, '/v1/chat/completions');
  assert.equal(req!.headers.authorization, `Bearer ${API_KEY}`);
  assert.deepEqual(req!.body, { model: 'test-model', messages: [{ role: 'user', content: 'hello from the responder' }] });

  const sent = server.completions.at(-1)!;
  const { calls } = await llmCalls(session.sessionId);
  assert.equal(calls.length, 1);
  const call = calls[0]!;
  assert.equal(call.status, 'success');
  assert.deepEqual(call.attributes, {
    provider: 'openai',
    requestedModel: 'test-model',
    model: 'test-model-0613',
    inputTokens: sent.usage.prompt_tokens,
    outputTokens: sent.usage.completion_tokens,
    totalTokens: sent.usage.total_tokens,
    finishReason: 'stop',
  });
  assert.deepEqual(call.resources, [
    { uri: 'llm:openai/test-model', mode: 'share' },
    { uri: 'llm:openai/test-model-0613', mode: 'share' },
  ]);
});

test('a 429 fails the first attempt, the retry succeeds, and the scope is recovered', async () => {
  const seen = server.requests.length;
  server.failNext(1, { status: 429 });
  const session = await rt.client.startSession(responder, { input: { note: 'after a rate limit' } });
  assert.equal(await session.result(), 'responder: echo: after a rate limit');
  assert.equal(server.requests.length - seen, 2, 'the provider itself does not retry: one request per attempt');

  const { rows, calls } = await llmCalls(session.sessionId);
  assert.deepEqual(calls.map((c) => [c.attempt, c.status]), [[1, 'error'], [2, 'success']]);
  assert.match(calls[0]!.error ?? '', /^openai provider: HTTP 429 from POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions \(model test-model\): Rate limit reached for requests \(retryable\)$/);
  assert.deepEqual(calls[0]!.attributes, { provider: 'openai', requestedModel: 'test-model', httpStatus: 429 });
  assert.equal(calls[1]!.attributes.inputTokens, server.completions.at(-1)!.usage.prompt_tokens);
  const scope = rows.scope('');
  assert.deepEqual([scope.status, scope.recovered], ['success', true]);
  const report = await rt.client.reconcile(session.sessionId);
  assert.deepEqual(report.differences, [], 'both attempts are in Temporal history and in the store');
});

test('a 400 fails the call at once, without a retry, and the session fails with the server\'s reason', async () => {
  const seen = server.requests.length;
  server.failNext(1, { status: 400 });
  const session = await rt.client.startSession(responder, { input: { note: 'a malformed request' } });
  await assert.rejects(session.result());
  assert.equal(server.requests.length - seen, 1, 'no second request');

  const { rows, calls } = await llmCalls(session.sessionId);
  assert.deepEqual(calls.map((c) => [c.attempt, c.status]), [[1, 'error']]);
  assert.match(calls[0]!.error ?? '', /HTTP 400 .*Injected failure 400 \(not retryable\)$/);
  assert.equal(calls[0]!.attributes.httpStatus, 400);
  assert.equal(rows.scope('').status, 'error');
  const rc = await rt.client.rootCause(session.sessionId);
  assert.equal(rc?.action?.actionId, calls[0]!.actionId, 'the root cause is the refused LLM call');
});
