/**
 * A Chat Completions server on loopback, speaking OpenAI's wire format: it answers
 * POST /v1/chat/completions with an echo of the last user message and a usage block,
 * records every request, and can be told to fail the next N requests with a status.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface CompletionSent {
  model: string;
  text: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface Failure {
  status: number;
  /** The raw body; an OpenAI-style `{ error: { message } }` by default. */
  body?: string;
  headers?: Record<string, string>;
}

export interface OpenAiCompatibleServer {
  /** The base URL to give the client, ending in /v1. */
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  /** The completions sent, in order (failed requests have none). */
  readonly completions: CompletionSent[];
  /** The next `count` requests get this failure instead of a completion. */
  failNext(count: number, failure: Failure): void;
  /** The next successful answer has this raw 200 body instead of a completion. */
  answerNextWith(body: string): void;
  /** For each delayed answer the client gave up on before it was sent: how long after the request it went away, in ms. */
  readonly abandoned: number[];
  /**
   * From now on, each request this function answers (an object: a chat completion's body) gets that answer;
   * one with `$delayMs` is sent that much later.
   */
  answerWith(fn: (request: { model: string; messages: unknown[]; tools?: unknown[] }) => object | undefined): void;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** When set, any other bearer token gets 401. */
  apiKey?: string;
  /** The model the server says answered, from the one asked for (default: `<model>-0613`). */
  servedModel?: (requested: string) => string;
}

export async function startOpenAiCompatibleServer(options: ServerOptions = {}): Promise<OpenAiCompatibleServer> {
  const requests: RecordedRequest[] = [];
  const completions: CompletionSent[] = [];
  const failures: Failure[] = [];
  const rawAnswers: string[] = [];
  const abandoned: number[] = [];
  let responder: ((request: { model: string; messages: unknown[]; tools?: unknown[] }) => object | undefined) | undefined;
  const servedModel = options.servedModel ?? ((m: string) => `${m}-0613`);

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // recorded as text; answered 400 below
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const send = (status: number, payload: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(payload);
      };
      const error = (status: number, message: string, type: string) =>
        send(status, JSON.stringify({ error: { message, type, param: null, code: null } }));

      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return error(404, `no route ${req.method} ${req.url}`, 'not_found');
      if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return error(401, 'Incorrect API key provided.', 'invalid_request_error');
      }
      const failure = failures.shift();
      if (failure) {
        const message = failure.status === 429 ? 'Rate limit reached for requests' : `Injected failure ${failure.status}`;
        const type = failure.status === 429 ? 'rate_limit_exceeded' : failure.status >= 500 ? 'server_error' : 'invalid_request_error';
        return send(failure.status, failure.body ?? JSON.stringify({ error: { message, type, param: null, code: null } }), failure.headers);
      }
      const request = body as { model?: unknown; messages?: unknown };
      if (typeof request !== 'object' || request === null || typeof request.model !== 'string' || !Array.isArray(request.messages)) {
        return error(400, 'body must be JSON with a string "model" and an array "messages"', 'invalid_request_error');
      }
      const raw = rawAnswers.shift();
      if (raw !== undefined) return send(200, raw);
      const answer = responder?.(request as { model: string; messages: unknown[]; tools?: unknown[] });
      if (answer !== undefined && typeof (answer as { $delayMs?: unknown }).$delayMs === 'number') {
        // A slow provider: answers after the delay, unless the client gave up on the request first.
        const { $delayMs, ...completion } = answer as { $delayMs: number };
        const started = Date.now();
        const timer = setTimeout(() => send(200, JSON.stringify(completion)), $delayMs);
        res.once('close', () => {
          if (!res.writableFinished) {
            clearTimeout(timer);
            abandoned.push(Date.now() - started);
          }
        });
        return;
      }
      if (answer !== undefined) return send(200, JSON.stringify(answer));
      const messages = request.messages as Array<{ role?: string; content?: string }>;
      const lastUser = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
      const reply = `echo: ${lastUser}`;
      // Token counts are made up but distinct from any client-side estimate: one per character.
      const prompt = messages.reduce((n, m) => n + String(m.content ?? '').length, 0);
      const usage = { prompt_tokens: prompt, completion_tokens: reply.length, total_tokens: prompt + reply.length };
      const model = servedModel(request.model);
      completions.push({ model, text: reply, usage });
      send(
        200,
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: 1_700_000_000,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply, refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    completions,
    abandoned,
    failNext(count, failure) {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    answerNextWith(body) {
      rawAnswers.push(body);
    },
    answerWith(fn) {
      responder = fn;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
