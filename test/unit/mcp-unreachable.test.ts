/**
 * An MCP call whose server cannot be reached says why, not only fetch's "fetch failed":
 * the root cause is in the message the action row and Temporal's failure show.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { McpConnection } from '../../activities/mcp-connection';
import { causeText } from '../../cim/cause-chain';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a call to a server nobody listens for names the refused connection, once', async () => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const connection = new McpConnection({ name: 'slow', transport: { type: 'http', url } });
  try {
    const err = await connection.callTool('slow', {}, {}, 5_000, new AbortController().signal).then(
      () => assert.fail('the call was answered'),
      (e: unknown) => e as Error,
    );
    assert.equal(
      err.message,
      `MCP server slow (${url}) gave no answer to slow: MCP server slow: could not connect (${url}): fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    assert.ok(err.cause instanceof Error, 'the failure chain keeps the cause');
  } finally {
    await connection.close();
  }
});

test('the causes a message quotes are cut at a bound, saying how much was left out', () => {
  const body = 'x'.repeat(2_000);
  const text = causeText(new Error('Error POSTing to endpoint (HTTP 500)', { cause: new Error(body) }), 500);
  assert.equal(text, `Error POSTing to endpoint (HTTP 500): ${'x'.repeat(500 - 38)}… (${2_000 + 38 - 500} more characters)`);
  assert.equal(causeText(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:7412') }), 500), 'fetch failed: connect ECONNREFUSED 127.0.0.1:7412');
});
