/**
 * An MCP call over Streamable HTTP whose answer can no longer come, against real servers
 * built on the official SDK (in this process, or a process of their own that the test
 * kills): it fails as soon as its server's connection drops, naming the server and where
 * it is, instead of waiting out callTimeoutMs. A call given up on (its timeout, or its
 * signal) is cancelled at the server, whether the server keeps sessions (it reads the
 * client's notifications/cancelled) or not (it sees the request's connection close). A
 * server that closes its event stream on purpose, for the client to resume, still answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TEST_DATABASE_URL, dropTestSchema, openTestStore, usesPglite } from '../helpers/runtime';
import type { Store } from '../../store/types';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { ApplicationFailure } from '@temporalio/common';
import { MCP_CALL_REFUSED, McpConnection } from '../../activities/mcp-connection';
import { parseDelegationKey, delegationSigner, sha256Hex } from '../../store/delegation-key';
import { buildMcpMeta } from '../../cim/mcp-meta';
import { heldCallArrived, heldCallEnded, startHttpMcpProcess, startHttpMcpServer, type HttpMode } from '../fixtures/mcp-server';

const keyHex = randomBytes(32).toString('hex');
const key = parseDelegationKey(keyHex, 'test');
/** Far longer than any test waits: a call that fails sooner did not wait for it. */
const CALL_TIMEOUT_MS = 30_000;
/** The server process writes receipts into the same schema: a Postgres server, not the in-process embedded store. */
const processSkip = usesPglite() && 'the MCP server process needs a Postgres server to share (set DATABASE_URL)';

let store: Store;
let schema: string;

before(async () => {
  schema = `t_${randomBytes(5).toString('hex')}`;
  ({ store } = await openTestStore('default', TEST_DATABASE_URL, schema));
});
after(async () => {
  await store?.close();
  if (schema) await dropTestSchema(schema);
});

/** A delegation the server's middleware accepts, for one call of `tool`. */
function meta(server: string, tool: string): object {
  const session = `ses-${randomBytes(4).toString('hex')}`;
  return buildMcpMeta(
    {
      v: 1, namespace: 'default', sessionId: session, scopeId: session, parentScopeId: null, agent: 'tester',
      actionId: `${session}/a1#1`, attempt: 1, server, tool, issuedAt: new Date().toISOString(), keyId: key.id,
    },
    delegationSigner(key),
    sha256Hex,
  );
}

const holdKey = () => `hold-${randomBytes(4).toString('hex')}`;

/** The call's error and how long after `from` it came. */
async function failure(call: Promise<unknown>, from: () => number): Promise<{ error: Error; afterMs: number }> {
  const error = await call.then(
    () => assert.fail('the call was answered'),
    (err: unknown) => err as Error,
  );
  return { error, afterMs: Date.now() - from() };
}

const processEnv = () => ({ DATABASE_URL: TEST_DATABASE_URL, SCOPETRAIL_TEST_SCHEMA: schema, SCOPETRAIL_DELEGATION_KEY: keyHex, MCP_SERVER_NAME: 'files' });

describe('a call whose server goes away mid-call', () => {
  test('closing every connection: the call fails within a second, naming the server and where it is', async (t) => {
    const server = await startHttpMcpServer({ server: 'files', store, key });
    const connection = new McpConnection({ name: 'files', transport: { type: 'http', url: server.url } });
    try {
      const hold = holdKey();
      let cutAt = 0;
      const failed = failure(connection.callTool('write', { path: '/docs/w.txt', hold }, meta('files', 'write'), CALL_TIMEOUT_MS, new AbortController().signal), () => cutAt);
      await heldCallArrived(hold);
      cutAt = Date.now();
      await server.close();
      const { error, afterMs } = await failed;
      t.diagnostic(`failed ${afterMs} ms after the server closed its connections`);
      assert.ok(afterMs < 1_000, `failed ${afterMs} ms after the server closed its connections`);
      assert.match(error.message, /^MCP server files \(http:\/\/127\.0\.0\.1:\d+\/mcp\) gave no answer to write: the connection broke before the answer/);
    } finally {
      await connection.close();
    }
  });

  for (const mode of ['stateless', 'sessions', 'resumable'] as const satisfies readonly HttpMode[]) {
    test(`its process killed (${mode}): the call fails promptly, naming the server`, { skip: processSkip }, async (t) => {
      const server = await startHttpMcpProcess(processEnv(), mode);
      const connection = new McpConnection({ name: 'files', transport: { type: 'http', url: server.url } });
      try {
        const hold = holdKey();
        let killedAt = 0;
        const failed = failure(connection.callTool('write', { path: '/docs/w.txt', hold }, meta('files', 'write'), CALL_TIMEOUT_MS, new AbortController().signal), () => killedAt);
        await server.held(hold);
        killedAt = Date.now();
        await server.kill();
        const { error, afterMs } = await failed;
        // A resumable stream is left to the SDK's reconnections (this server asks for one every 100 ms) until they fail.
        t.diagnostic(`failed ${afterMs} ms after the server was killed`);
        assert.ok(afterMs < 1_000, `failed ${afterMs} ms after the server was killed`);
        assert.match(error.message, /^MCP server files \(http:\/\/127\.0\.0\.1:\d+\/mcp\) gave no answer to write: /);
        assert.match(error.message, mode === 'resumable' ? /could not be resumed \(2 attempt\(s\)/ : /the connection broke before the answer/);
      } finally {
        await connection.close();
      }
    });
  }

  test('a resumable server that closes its event stream on purpose still answers: the client resumes it', async () => {
    const server = await startHttpMcpServer({ server: 'files', store, key }, 'resumable');
    const connection = new McpConnection({ name: 'files', transport: { type: 'http', url: server.url } });
    try {
      const result = await connection.callTool('write', { path: '/docs/r.txt', reconnect: true }, meta('files', 'write'), CALL_TIMEOUT_MS, new AbortController().signal);
      assert.equal(result.isError, undefined, JSON.stringify(result));
      assert.deepEqual(result.content, [{ type: 'text', text: 'wrote /docs/r.txt' }]);
    } finally {
      await connection.close();
      await server.close();
    }
  });
});

describe('a call given up on is cancelled at the server', () => {
  for (const mode of ['stateless', 'sessions'] as const satisfies readonly HttpMode[]) {
    test(`when callTimeoutMs passes (${mode})`, async () => {
      const server = await startHttpMcpServer({ server: 'files', store, key }, mode);
      const connection = new McpConnection({ name: 'files', transport: { type: 'http', url: server.url } });
      try {
        const hold = holdKey();
        const call = connection.callTool('write', { path: '/docs/t.txt', hold }, meta('files', 'write'), 500, new AbortController().signal);
        const { error } = await failure(call, () => 0);
        assert.match(error.message, /^MCP server files \(http:\/\/127\.0\.0\.1:\d+\/mcp\) gave no answer to write: callTimeoutMs \(500 ms\) passed; the server was told to cancel the call$/);
        assert.equal(await within(heldCallEnded(hold), 2_000), 'aborted', 'the server\'s handler saw its signal abort');
      } finally {
        await connection.close();
        await server.close();
      }
    });

    test(`when its signal aborts (${mode})`, async () => {
      const server = await startHttpMcpServer({ server: 'files', store, key }, mode);
      const connection = new McpConnection({ name: 'files', transport: { type: 'http', url: server.url } });
      try {
        const hold = holdKey();
        const controller = new AbortController();
        const call = connection.callTool('write', { path: '/docs/c.txt', hold }, meta('files', 'write'), CALL_TIMEOUT_MS, controller.signal);
        await heldCallArrived(hold);
        controller.abort(new Error('given up'));
        await assert.rejects(call);
        assert.equal(await within(heldCallEnded(hold), 2_000), 'aborted', 'the server\'s handler saw its signal abort');
      } finally {
        await connection.close();
        await server.close();
      }
    });
  }
});

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still running'> {
  return Promise.race([promise, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms).unref())]);
}

describe('a server that no longer knows the session', () => {
  test('restarted on the same address, it answers the session id with 404: the next call starts a new session and is answered', async () => {
    let server = await startHttpMcpServer({ server: 'files', store, key }, 'sessions');
    const port = Number(new URL(server.url).port);
    const connection = new McpConnection({ name: 'files', transport: { type: 'http', url: server.url } });
    try {
      const read = () => connection.callTool('read', { path: '/docs/r.txt' }, meta('files', 'read'), CALL_TIMEOUT_MS, new AbortController().signal);
      assert.match(JSON.stringify(await read()), /contents of \/docs\/r\.txt/);
      await server.close();
      // As a restart takes: the client has seen its idle connections close (a request sent on one
      // the server closed a moment before fails as "other side closed", and is not this case).
      await new Promise((r) => setTimeout(r, 200));
      server = await startHttpMcpServer({ server: 'files', store, key }, 'sessions', port);
      // Calls in flight together on the old session each start over, on one new session.
      const [first, second] = await Promise.all([read(), read()]);
      assert.match(JSON.stringify(first), /contents of \/docs\/r\.txt/);
      assert.match(JSON.stringify(second), /contents of \/docs\/r\.txt/);
      assert.equal((await connection.listTools()).some((t) => t.name === 'read'), true);
    } finally {
      await connection.close();
      await server.close();
    }
  });
});

/** A server built on the SDK's low-level Server whose tools/call answers every call with the JSON-RPC error `code`. */
async function startRefusingServer(code: number, message: string): Promise<{ url: string; calls: () => number; close: () => Promise<void> }> {
  let calls = 0;
  const http = createServer(async (req, res) => {
    const server = new Server({ name: 'strict', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [{ name: 'write', inputSchema: { type: 'object' as const } }] }));
    server.setRequestHandler(CallToolRequestSchema, async () => {
      calls += 1;
      throw new McpError(code, message);
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void server.close());
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    calls: () => calls,
    close: () => new Promise((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    }),
  };
}

describe('a server that answers with a JSON-RPC error', () => {
  for (const [code, nonRetryable] of [[ErrorCode.InvalidParams, true], [ErrorCode.InternalError, false]] as const) {
    test(`error ${code}: the call fails at once as refused, in the server's words, ${nonRetryable ? 'not' : 'and may be'} tried again`, async () => {
      const server = await startRefusingServer(code, 'path /etc is outside the allowed roots');
      const connection = new McpConnection({ name: 'strict', transport: { type: 'http', url: server.url } });
      try {
        const started = Date.now();
        const error = await connection.callTool('write', { path: '/etc/x' }, meta('strict', 'write'), CALL_TIMEOUT_MS, new AbortController().signal).then(
          () => assert.fail('the call was answered'),
          (err: unknown) => err as ApplicationFailure,
        );
        assert.ok(Date.now() - started < 5_000, 'not at the timeout');
        assert.ok(error instanceof ApplicationFailure, String(error));
        assert.equal(error.message, `MCP server strict (${server.url}) refused write: path /etc is outside the allowed roots (JSON-RPC error ${code})`);
        assert.equal(error.type, MCP_CALL_REFUSED);
        assert.equal(error.nonRetryable, nonRetryable);
        assert.equal(server.calls(), 1);
      } finally {
        await connection.close();
        await server.close();
      }
    });
  }
});
