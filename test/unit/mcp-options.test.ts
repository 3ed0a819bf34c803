/**
 * connectMcpServer refuses bad options before it connects, as defineTool does: an
 * InvalidOptionError (still a TypeError) whose `field` is the field its message names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMcpServer, type McpServerOptions } from '../../activities/mcp-tools';
import { parseDelegationKey } from '../../store/delegation-key';
import { refusedFor } from '../helpers/refused-option';

const key = parseDelegationKey('00'.repeat(32), 'test');
const http = { type: 'http', url: 'http://127.0.0.1:1/mcp' } as const;
const connect = (options: unknown) => connectMcpServer(options as McpServerOptions, { key });

test('a refused option is an InvalidOptionError naming its field', async () => {
  await assert.rejects(connect({ name: 'a/b', transport: http }), refusedFor('name', /^connectMcpServer: invalid field "name": a letter, then/));
  await assert.rejects(connect({ name: 'files', transport: { type: 'stdio', command: '' } }), refusedFor('transport.command', /^connectMcpServer: invalid field "transport\.command": /));
  await assert.rejects(connect({ name: 'files', transport: http, callTimeoutMs: 0 }), refusedFor('callTimeoutMs', /^connectMcpServer: invalid field "callTimeoutMs": /));
  await assert.rejects(connect({ name: 'files', transport: http, receipts: 'yes' }), refusedFor('receipts', /^connectMcpServer: invalid field "receipts": /));
  await assert.rejects(connect(undefined), refusedFor('options', /^connectMcpServer: invalid field "options": /));
});

test('a URL of another scheme is refused for its scheme, naming those taken; text that is no URL is refused as such', async () => {
  await assert.rejects(
    connect({ name: 'files', transport: { type: 'http', url: 'ftp://127.0.0.1/mcp' } }),
    refusedFor('transport.url', /^connectMcpServer: invalid field "transport\.url": the scheme ftp: is not one it takes: give an http:\/\/ or https:\/\/ URL \(Streamable HTTP\), not "ftp:\/\/127\.0\.0\.1\/mcp"$/),
  );
  await assert.rejects(
    // A host without a scheme reads as a scheme of its own: the hint still says what to write.
    connect({ name: 'files', transport: { type: 'http', url: 'localhost:8080/mcp' } }),
    refusedFor('transport.url', /invalid field "transport\.url": the scheme localhost: is not one it takes: give an http:\/\/ or https:\/\/ URL/),
  );
  await assert.rejects(
    connect({ name: 'files', transport: { type: 'http', url: '127.0.0.1:8080' } }),
    refusedFor('transport.url', /^connectMcpServer: invalid field "transport\.url": not a URL: give an http:\/\/ or https:\/\/ URL \(Streamable HTTP\), not "127\.0\.0\.1:8080"$/),
  );
});

test('a misspelt option is refused naming it and the option likely meant, at the top and in the transport', async () => {
  await assert.rejects(connect({ name: 'files', transport: http, reciepts: true }), refusedFor('reciepts', /^connectMcpServer: invalid field "reciepts": not a field it takes \(did you mean "receipts"\?\)/));
  await assert.rejects(connect({ name: 'files', transport: http, callTimeoutMS: 5 }), refusedFor('callTimeoutMS', /did you mean "callTimeoutMs"\?/));
  await assert.rejects(connect({ name: 'files', transport: { ...http, headers: {} } }), refusedFor('transport.headers', /^connectMcpServer: invalid field "transport.headers": /));
});
