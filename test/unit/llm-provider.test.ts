/**
 * The LLM provider configuration and the OpenAI-compatible provider on its own: the
 * environment is checked naming the bad variable, and HTTP answers become completions
 * or failures that say whether another attempt could help.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { LlmConfigError, llmProviderFromEnv, parseLlmEnv } from '../../activities/llm-env';
import { ScriptedProvider } from '../../activities/llm';
import { OpenAiCompatibleProvider } from '../../activities/openai-provider';
import { OpenAiCompatibleModelProvider } from '../../activities/openai-model';
import { LLM_PROVIDER_ERROR, httpStatusOf, parseRetryAfter, providerFailure, retryableStatus } from '../../activities/llm-failure';
import { startOpenAiCompatibleServer, type OpenAiCompatibleServer } from '../helpers/openai-compatible-server';

const OPENAI = { SCOPETRAIL_LLM_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-unit' };

describe('LLM settings from the environment', () => {
  test('with nothing set the scripted provider is used', () => {
    assert.deepEqual(parseLlmEnv({}), { provider: 'scripted' });
    assert.deepEqual(parseLlmEnv({ SCOPETRAIL_LLM_PROVIDER: '' }), { provider: 'scripted' }, 'an empty variable counts as unset');
    const scripted = new ScriptedProvider({ a: ['x'] });
    assert.equal(llmProviderFromEnv({}, { scripted: () => scripted }), scripted);
    assert.equal(llmProviderFromEnv({}).name, 'scripted');
  });

  test('openai takes the key, base URL and model, with defaults for the last two', () => {
    assert.deepEqual(parseLlmEnv(OPENAI), { provider: 'openai', apiKey: 'sk-unit', baseURL: 'https://api.openai.com/v1', model: 'gpt-4o-mini' });
    const p = llmProviderFromEnv({ ...OPENAI, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1/', SCOPETRAIL_LLM_MODEL: 'llama3.1:8b' });
    assert.ok(p instanceof OpenAiCompatibleProvider);
    assert.equal(p.name, 'openai');
    assert.equal(p.defaultModel, 'llama3.1:8b');
    assert.equal(p.baseURL, 'http://127.0.0.1:9/v1', 'a trailing slash is dropped');
  });

  test('a bad variable is named, with its value (except the key)', () => {
    const fails = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(() => parseLlmEnv(env), (err: Error) => {
        assert.ok(err instanceof LlmConfigError);
        assert.match(err.message, pattern);
        return true;
      });
    fails({ SCOPETRAIL_LLM_PROVIDER: 'anthropic' }, /^invalid environment variable SCOPETRAIL_LLM_PROVIDER="anthropic": use scripted or openai$/);
    fails({ SCOPETRAIL_LLM_PROVIDER: 'openai' }, /^invalid environment variable OPENAI_API_KEY: required when SCOPETRAIL_LLM_PROVIDER=openai/);
    fails({ ...OPENAI, OPENAI_BASE_URL: 'localhost:8000' }, /^invalid environment variable OPENAI_BASE_URL="localhost:8000": give an http\(s\) URL/);
    fails({ ...OPENAI, OPENAI_BASE_URL: 'ftp://h/v1' }, /OPENAI_BASE_URL="ftp:\/\/h\/v1"/);
    fails({ ...OPENAI, SCOPETRAIL_LLM_MODEL: 'gpt 4' }, /^invalid environment variable SCOPETRAIL_LLM_MODEL="gpt 4": must not contain whitespace$/);
    fails({ ...OPENAI, SCOPETRAIL_LLM_MODEL: 'm'.repeat(201) }, /SCOPETRAIL_LLM_MODEL=.*at most 200 characters/);
  });

  test('the scripted provider ignores the openai variables', () => {
    assert.deepEqual(parseLlmEnv({ OPENAI_BASE_URL: 'not checked', SCOPETRAIL_LLM_MODEL: 'x' }).provider, 'scripted');
  });
});

describe('provider failures', () => {
  test('4xx other than 408 and 429 is final; 408, 429 and 5xx may be retried', () => {
    for (const s of [400, 401, 403, 404, 409, 422]) assert.equal(retryableStatus(s), false, String(s));
    for (const s of [408, 429, 500, 502, 503, 529]) assert.equal(retryableStatus(s), true, String(s));
  });

  test('a failure names the provider, status, target and reason, and carries the status', () => {
    const f = providerFailure({ provider: 'openai', target: 'POST http://h/v1/chat/completions (model m)', httpStatus: 429, reason: 'slow\ndown', retryAfterMs: 2000 });
    assert.equal(f.type, LLM_PROVIDER_ERROR);
    assert.equal(f.nonRetryable, false);
    assert.equal(f.message, 'openai provider: HTTP 429 from POST http://h/v1/chat/completions (model m): slow down (retryable)');
    assert.equal(f.nextRetryDelay, 2000);
    assert.equal(httpStatusOf(f), 429);
    const bad = providerFailure({ provider: 'openai', target: 't', httpStatus: 400, reason: 'no', retryAfterMs: 5000 });
    assert.equal(bad.nonRetryable, true);
    assert.equal(bad.nextRetryDelay, undefined, 'a final failure asks for no retry delay');
    assert.match(bad.message, /\(not retryable\)$/);
    assert.equal(httpStatusOf(new Error('x')), undefined);
  });

  test('Retry-After is read as seconds or as a date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter('0.5'), 500);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(null), undefined);
  });
});

describe('the OpenAI-compatible provider over HTTP', () => {
  let server: OpenAiCompatibleServer;
  let provider: OpenAiCompatibleProvider;
  const request = { messages: [{ role: 'user' as const, content: 'hi' }], turn: 0, agent: 'a', scopeId: 's' };
  before(async () => {
    server = await startOpenAiCompatibleServer({ apiKey: 'sk-unit' });
    provider = new OpenAiCompatibleProvider({ apiKey: 'sk-unit', baseURL: server.baseURL, model: 'm1' });
  });
  after(async () => server?.close());

  const rejects = (pattern: RegExp, nonRetryable: boolean) => (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.match(err.message, pattern);
    assert.equal(err.nonRetryable, nonRetryable);
    return true;
  };

  test('a completion carries the served model, usage and finish reason', async () => {
    const c = await provider.complete({ ...request, model: 'm2' });
    const sent = server.completions.at(-1)!;
    assert.deepEqual(c, {
      text: 'echo: hi', model: 'm2-0613', inputTokens: sent.usage.prompt_tokens, outputTokens: sent.usage.completion_tokens,
      totalTokens: sent.usage.total_tokens, finishReason: 'stop',
    });
    assert.deepEqual(server.requests.at(-1)!.body, { model: 'm2', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal((await provider.complete(request)).model, 'm1-0613', 'the default model when the call names none');
  });

  test('HTTP errors become failures with the server\'s reason', async () => {
    server.failNext(1, { status: 429, headers: { 'retry-after': '7' } });
    await assert.rejects(provider.complete(request), (err: ApplicationFailure) => {
      rejects(/^openai provider: HTTP 429 from POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions \(model m1\): Rate limit reached for requests \(retryable\)$/, false)(err);
      assert.equal(err.nextRetryDelay, 7000);
      return true;
    });
    server.failNext(1, { status: 500 });
    await assert.rejects(provider.complete(request), rejects(/HTTP 500 .*Injected failure 500 \(retryable\)/, false));
    server.failNext(1, { status: 400 });
    await assert.rejects(provider.complete(request), rejects(/HTTP 400 .*\(not retryable\)/, true));
    server.failNext(1, { status: 502, body: '<html>Bad Gateway</html>' });
    await assert.rejects(provider.complete(request), rejects(/HTTP 502 .*<html>Bad Gateway<\/html> \(retryable\)/, false));
    const wrongKey = new OpenAiCompatibleProvider({ apiKey: 'sk-wrong', baseURL: server.baseURL, model: 'm1' });
    await assert.rejects(wrongKey.complete(request), rejects(/HTTP 401 .*Incorrect API key provided\. \(not retryable\)/, true));
  });

  test('a 200 that is not a chat completion is a final failure naming what is wrong', async () => {
    server.answerNextWith('<html>welcome</html>');
    await assert.rejects(provider.complete(request), rejects(/HTTP 200 .*the answer is not JSON .*\(not retryable\)/, true));
    server.answerNextWith(JSON.stringify({ model: 'm1', choices: [] }));
    await assert.rejects(provider.complete(request), rejects(/not a chat completion: field "choices": expected at least one choice/, true));
    server.answerNextWith(JSON.stringify({ model: 'm1', choices: [{ message: { content: 'ok' } }], usage: { prompt_tokens: -1 } }));
    await assert.rejects(provider.complete(request), rejects(/field "usage\.prompt_tokens"/, true));
  });

  test('an unreachable server is a retryable failure', async () => {
    const closed = await startOpenAiCompatibleServer();
    await closed.close();
    const p = new OpenAiCompatibleProvider({ apiKey: 'k', baseURL: closed.baseURL, model: 'm' });
    await assert.rejects(p.complete(request), rejects(/^openai provider: from POST .*: fetch failed \(ECONNREFUSED\) \(retryable\)$/, false));
  });

  test('bad options are refused naming the field, as a property too', () => {
    const refused = (field: string, message: RegExp) => (err: Error & { field?: string }) =>
      err instanceof TypeError && err.name === 'InvalidOptionError' && err.field === field && message.test(err.message);
    for (const Provider of [OpenAiCompatibleProvider, OpenAiCompatibleModelProvider]) {
      assert.throws(() => new Provider({ apiKey: '', model: 'm' }), refused('apiKey', /invalid field "apiKey": give an API key/));
      assert.throws(() => new Provider({ apiKey: 'k', model: 'm', baseURL: 'nope' }), refused('baseURL', /invalid field "baseURL"/));
      // Dropped, a mistyped base URL would send the prompts and the key to OpenAI's own server.
      assert.throws(
        () => new Provider({ apiKey: 'k', model: 'm', baseUrl: 'http://127.0.0.1:1/v1' } as never),
        refused('baseUrl', new RegExp(`^${Provider.name}: invalid field "baseUrl": not a field it takes \\(did you mean "baseURL"\\?\\)`)),
      );
    }
  });
});
