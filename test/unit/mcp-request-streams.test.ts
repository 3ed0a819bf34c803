/**
 * RequestStreams, the fetch under the MCP client's Streamable HTTP transport, against a
 * fake server: which lost streams fail their requests at once, which are left to the
 * SDK to resume (and when those fail), and how a cancelled request's stream is closed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, McpError, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LOST_ANSWER, RequestStreams, lostAnswer } from '../../activities/mcp-request-streams';

const URL_ = 'http://127.0.0.1:1/mcp';

/** An event stream the test writes to. */
function eventStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const encoder = new TextEncoder();
  return {
    response: () => new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
    send: (text: string) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
    fail: (err: Error) => controller.error(err),
  };
}

type Reply = (init: RequestInit | undefined) => Response | Promise<Response>;

/** RequestStreams over a fake server that replies to each fetch in turn; `delivered` collects what it hands the SDK. */
function setup(replies: Reply[]) {
  const delivered: JSONRPCMessage[] = [];
  const seen: RequestInit[] = [];
  const streams = new RequestStreams((m) => delivered.push(m), 2, async (_url, init) => {
    seen.push(init ?? {});
    const reply = replies.shift();
    if (!reply) throw new Error('no reply left');
    return reply(init);
  });
  /** As the SDK sends: a POST, whose event stream is read to its end. */
  const post = async (message: object) => {
    const response = await streams.fetch(URL_, { method: 'POST', headers: new Headers({ 'content-type': 'application/json' }), body: JSON.stringify(message) });
    const read = response.body ? response.text().catch(() => undefined) : Promise.resolve(undefined);
    return { response, read };
  };
  const resume = (lastEventId: string) => streams.fetch(URL_, { method: 'GET', headers: new Headers({ 'last-event-id': lastEventId }) });
  return { delivered, seen, post, resume };
}

const call = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'write', arguments: {} } });
const event = (data: object, id?: string) => `${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
const tick = () => new Promise((resolve) => setImmediate(resolve));

function lostWhy(message: JSONRPCMessage | undefined): string | undefined {
  const error = (message as { error?: { data?: Record<string, string> } } | undefined)?.error;
  return error?.data?.[LOST_ANSWER];
}

test('a request whose stream ends without its answer fails at once, saying so; one answered (a result or an error) does not', async () => {
  const lost = eventStream();
  const answered = eventStream();
  const refused = eventStream();
  const { delivered, post } = setup([() => lost.response(), () => answered.response(), () => refused.response()]);
  const a = await post(call(1));
  lost.send(event({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'working' } }));
  lost.end();
  await a.read;
  assert.deepEqual(delivered.map((m) => [(m as { id: number }).id, lostWhy(m)]), [[1, 'the server ended its event stream without the answer']]);
  assert.equal((delivered[0] as { error: { code: number } }).error.code, ErrorCode.ConnectionClosed);

  const b = await post(call(2));
  answered.send(event({ jsonrpc: '2.0', id: 2, result: { content: [] } }));
  answered.end();
  await b.read;
  const c = await post(call(3));
  refused.send(event({ jsonrpc: '2.0', id: 3, error: { code: -32602, message: 'no such tool' } }));
  refused.end();
  await c.read;
  assert.equal(delivered.length, 1, 'answered requests are the SDK\'s alone');
});

test('a stream that breaks fails its request naming the break', async () => {
  const broken = eventStream();
  const { delivered, post } = setup([() => broken.response()]);
  const a = await post(call(1));
  broken.fail(new TypeError('terminated', { cause: new Error('other side closed') }));
  await a.read;
  assert.equal(lostWhy(delivered[0]), 'the connection broke before the answer (terminated: other side closed)');
});

test('a stream that carried an event id is left to the SDK to resume, and the answer on the resumed stream settles it', async () => {
  const first = eventStream();
  const resumed = eventStream();
  const { delivered, post, resume } = setup([() => first.response(), () => resumed.response()]);
  const a = await post(call(1));
  first.send('id: e1\ndata: \n\n');
  first.end();
  await a.read;
  assert.deepEqual(delivered, [], 'the SDK will reopen it with Last-Event-ID e1');
  const response = await resume('e1');
  const read = response.text();
  resumed.send(event({ jsonrpc: '2.0', id: 1, result: { content: [] } }, 'e2'));
  resumed.end();
  await read;
  assert.deepEqual(delivered, []);
});

test('a resumable stream fails its request once the SDK\'s reconnections have all failed', async () => {
  const first = eventStream();
  const refused = () => Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') }));
  const { delivered, post, resume } = setup([() => first.response(), refused, refused]);
  const a = await post(call(1));
  first.send('id: e1\ndata: \n\n');
  first.fail(new TypeError('terminated'));
  await a.read;
  await assert.rejects(resume('e1'), /fetch failed/);
  assert.deepEqual(delivered, [], 'one failed reconnection of two');
  await assert.rejects(resume('e1'), /fetch failed/);
  assert.equal(lostWhy(delivered[0]), 'its event stream broke and could not be resumed (2 attempt(s), the last: fetch failed: connect ECONNREFUSED 127.0.0.1:1)');
});

test('a resumed stream that ends without an event id fails its request: the SDK would reconnect without Last-Event-ID', async () => {
  const first = eventStream();
  const resumed = eventStream();
  const { delivered, post, resume } = setup([() => first.response(), () => resumed.response()]);
  const a = await post(call(1));
  first.send('id: e1\ndata: \n\n');
  first.end();
  await a.read;
  const read = (await resume('e1')).text();
  resumed.end();
  await read;
  assert.equal(lostWhy(delivered[0]), 'the server ended its event stream without the answer');
});

test('a server with no stream to resume (405) fails the request at once', async () => {
  const first = eventStream();
  const { delivered, post, resume } = setup([() => first.response(), () => new Response(null, { status: 405 })]);
  const a = await post(call(1));
  first.send('id: e1\ndata: \n\n');
  first.end();
  await a.read;
  assert.equal((await resume('e1')).status, 405);
  assert.match(lostWhy(delivered[0]) ?? '', /has no stream to resume \(405\)/);
});

test('a cancelled request\'s stream is closed once the notification has gone, and the SDK\'s attempt to resume it is refused here', async () => {
  const open = eventStream();
  let notified = false;
  const { delivered, seen, post, resume } = setup([
    () => open.response(),
    () => {
      notified = true;
      return new Response(null, { status: 202 });
    },
  ]);
  const a = await post(call(7));
  open.send('id: e7\ndata: \n\n');
  await tick();
  const streamSignal = seen[0]!.signal!;
  assert.equal(streamSignal.aborted, false);
  await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'timed out' } });
  assert.ok(notified, 'the notification went first');
  assert.equal(streamSignal.aborted, true, 'then the stream was closed');
  open.fail(new DOMException('aborted', 'AbortError'));
  await a.read;
  const refused = await resume('e7');
  assert.equal(refused.status, 405);
  assert.equal(seen.length, 2, 'the resumption never reached the server');
  assert.deepEqual(delivered, [], 'the SDK settled the cancelled request itself');
});

test('lostAnswer reads only the errors RequestStreams made', () => {
  assert.equal(lostAnswer(new McpError(ErrorCode.ConnectionClosed, 'x', { [LOST_ANSWER]: 'why' })), 'why');
  assert.equal(lostAnswer(new McpError(ErrorCode.ConnectionClosed, 'Connection closed')), undefined);
  assert.equal(lostAnswer(new Error('fetch failed')), undefined);
});
