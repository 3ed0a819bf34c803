/**
 * A model-driven agent against a real OpenAI-compatible server on loopback that asks
 * for tools: parallel calls, a sub-agent and a handoff. The rows must match what the
 * server asked for, and the server must have been told each tool's real input schema.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { sessionRows } from '../helpers/session';
import { startOpenAiCompatibleServer, type OpenAiCompatibleServer } from '../helpers/openai-compatible-server';
import { createFixtureTools } from '../fixtures/tools';
import { mHasty, mLead } from '../fixtures/model-agents';
import { modelProviderFromEnv } from '../../activities/llm-env';

let rt: TestRuntime;
let server: OpenAiCompatibleServer;

type Msg = { role: string; content?: unknown };
const completion = (model: string, message: object, finish: string, n: number) => ({
  id: `chatcmpl-${n}`,
  object: 'chat.completion',
  created: 1_700_000_000,
  model: `${model}-0613`,
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }],
  usage: { prompt_tokens: 100 + n, completion_tokens: 10 + n, total_tokens: 110 + 2 * n },
});
const toolCall = (id: string, name: string, args: object) => ({ id, type: 'function', function: { name, arguments: JSON.stringify(args) } });

before(async () => {
  server = await startOpenAiCompatibleServer();
  let n = 0;
  server.answerWith(({ model, messages }) => {
    n++;
    const system = String((messages as Msg[])[0]?.content ?? '');
    // A server that answers 200 with something that is not a chat completion.
    if (JSON.stringify(messages).includes('answer with no completion')) return { hello: 'world' };
    const turn = (messages as Msg[]).filter((m) => m.role === 'assistant').length;
    if (system.startsWith('You lead')) {
      if (turn === 0) {
        return completion(model, {
          content: null,
          tool_calls: [
            toolCall('c1', 'echo', { text: 'first' }),
            toolCall('c2', 'echo', { text: 'second' }),
            toolCall('c3', 'delegate_to_mSearcher', { objective: 'find two sources' }),
          ],
        }, 'tool_calls', n);
      }
      return completion(model, { content: null, tool_calls: [toolCall('c4', 'handoff_to_mWriter', { reason: 'time to write' })] }, 'tool_calls', n);
    }
    if (system.startsWith('You find')) return completion(model, { content: 'two sources found' }, 'stop', n);
    if (system.startsWith('You answer in a hurry')) return { ...completion(model, { content: 'too late' }, 'stop', n), $delayMs: 4_000 };
    return completion(model, { content: `written after ${(messages as Msg[]).length} messages` }, 'stop', n);
  });
  const model = modelProviderFromEnv({ SCOPETRAIL_LLM_PROVIDER: 'openai', OPENAI_API_KEY: 'test-key', OPENAI_BASE_URL: server.baseURL, SCOPETRAIL_LLM_MODEL: 'gpt-test' });
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/model-agents'), tools: Object.values(createFixtureTools().tools), model });
});
after(async () => {
  await rt?.stop();
  await server?.close();
});

test('the rows match the tool calls the server asked for: parallel tools, a delegation, a handoff', async () => {
  const s = await rt.client.startSession(mLead, { input: { prompt: 'research and write' } });
  const result = (await s.result()) as { text: string };
  const sid = s.sessionId;
  const rows = await sessionRows(rt, sid);

  assert.deepEqual(rows.scopes.map((x) => [x.scopeId, x.agent, x.kind, x.objective]).sort(), [
    [sid, 'mLead', 'root', null],
    [`${sid}.1`, 'mSearcher', 'delegation', 'find two sources'],
    [`${sid}~1`, 'mWriter', 'handoff', 'time to write'],
  ].sort());
  const steps = rows.actionsOf(sid).filter((a) => a.kind === 'llm_call');
  assert.deepEqual(steps.map((a) => [a.attributes.toolCalls, a.attributes.model, a.attributes.finishReason]), [
    ['echo, echo, delegate_to_mSearcher', 'gpt-test-0613', 'tool_calls'],
    ['handoff_to_mWriter', 'gpt-test-0613', 'tool_calls'],
  ]);
  assert.ok(steps.every((a) => a.resources.some((r) => r.uri === 'llm:openai/gpt-test' && r.mode === 'share')));
  assert.deepEqual(steps.map((a) => a.attributes.inputTokens), steps.map((a) => Number(a.attributes.outputTokens) + 90));
  const echoes = rows.actionsOf(sid).filter((a) => a.name === 'echo');
  assert.equal(echoes.length, 2);
  assert.ok(echoes.every((a) => a.status === 'success'));

  // The server saw the echo tool with the schema its zod definition gives, and the writer got the whole conversation.
  const first = server.requests[0]!.body as { tools: Array<{ function: { name: string; parameters: { properties?: Record<string, unknown> } } }> };
  const echoTool = first.tools.find((t) => t.function.name === 'echo');
  assert.deepEqual(Object.keys(echoTool?.function.parameters.properties ?? {}), ['text']);
  assert.match(result.text, /^written after \d+ messages$/);
  assert.ok(Number(/\d+/.exec(result.text)![0]) >= 6, 'the conversation reached the writer');
  assert.deepEqual((await rt.client.reconcile(sid)).differences, []);
});

test('a 200 that is not a chat completion fails the model step at once, naming the provider and the field, not retried', async () => {
  const s = await rt.client.startSession(mLead, { input: { prompt: 'answer with no completion' } });
  await assert.rejects(s.result());
  const steps = (await sessionRows(rt, s.sessionId)).actionsOf(s.sessionId).filter((a) => a.kind === 'llm_call');
  assert.deepEqual(steps.map((a) => [a.attempt, a.status]), [[1, 'error']], 'one attempt: the same request gets the same answer');
  assert.match(steps[0]!.error ?? '', /^openai provider: HTTP 200 from POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions \(model gpt-test\): Invalid JSON response \(field "[^"]+": [^)]*\) \(not retryable\)$/);
});

test('a provider slower than the model step\'s deadline is given up on at the deadline: the request is aborted, not left running', async () => {
  const s = await rt.client.startSession(mHasty, { input: { prompt: 'quick' } });
  await assert.rejects(s.result());
  // The server would answer after 4 s; the attempt's start-to-close timeout is 1 s.
  assert.equal(server.abandoned.length, 1, 'the client went away before the answer');
  assert.ok(server.abandoned[0]! < 3_000, `gone ${server.abandoned[0]} ms after the request`);
  await rt.worker.recorder.sealer.drain();
  const [step] = (await sessionRows(rt, s.sessionId)).actionsOf(s.sessionId).filter((a) => a.kind === 'llm_call');
  assert.equal(step?.status, 'error');
  assert.match(step?.error ?? '', /^attempt timed out: its start-to-close timeout \(1000 ms\)/);
  assert.ok(Date.parse(step!.endedAt!) - Date.parse(step!.startedAt) < 3_000, 'the row ends near the deadline, not when the provider would have answered');
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
});
