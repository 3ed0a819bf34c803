/** What `scopetrail worker --tools` takes from a module's exports. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineTool } from '../../activities/tool';
import { toolsOfModule } from '../../client/tools-module';
import { McpServerOptions, connectMcpServer } from '../../activities/mcp-tools';
import { parseDelegationKey } from '../../store/delegation-key';

const tool = (name: string) => defineTool({ name, input: z.object({}), output: z.object({}) }, async () => ({}));

test('tools, arrays of tools, toolsets and promises of them are all served; toolsets are closed once on close()', async () => {
  const closed: string[] = [];
  const toolset = (server: string) => ({ server, tools: [tool(`${server}/read`)], close: async () => void closed.push(server) });
  const served = await toolsOfModule('tools.js', {
    one: tool('one'),
    many: [tool('two'), tool('three')],
    files: toolset('files'),
    later: Promise.resolve(toolset('notes')),
    laterTool: Promise.resolve(tool('four')),
    helper: () => 'not a tool',
    version: '1.0.0',
  });
  assert.deepEqual(served.tools.map((t) => t.spec.name), ['one', 'two', 'three', 'files/read', 'notes/read', 'four']);
  await served.close();
  assert.deepEqual(closed.sort(), ['files', 'notes']);
});

test('a module that exports each tool and an array of them too serves each tool once', async () => {
  const search = tool('search');
  const fetchPage = tool('fetchPage');
  const served = await toolsOfModule('tools.js', { search, fetchPage, allTools: [search, fetchPage] });
  assert.deepEqual(served.tools.map((t) => t.spec.name), ['search', 'fetchPage']);
});

test('two different tools of one name are refused naming the exports they came from, after toolsets are closed', async () => {
  const closed: string[] = [];
  await assert.rejects(
    toolsOfModule('/app/tools.js', {
      search: tool('search'),
      files: { tools: [tool('files/read')], close: async () => void closed.push('files') },
      legacy: [tool('fetchPage'), tool('search')],
    }),
    (err: Error) => err.name === 'CliUsageError' && err.message === 'tools module /app/tools.js: exports "search" and "legacy" are two tools named "search"; a worker serves one tool per name, rename one',
  );
  assert.deepEqual(closed, ['files']);
  await assert.rejects(
    toolsOfModule('/app/tools.js', { all: [tool('search'), tool('search')] }),
    /^CliUsageError: tools module \/app\/tools\.js: export "all" holds two tools named "search"; /,
  );
});

test('an export that rejects stops the load naming it, after the toolsets that did connect are closed', async () => {
  const closed: string[] = [];
  await assert.rejects(
    toolsOfModule('/app/tools.js', {
      files: Promise.resolve({ tools: [tool('files/read')], close: async () => void closed.push('files') }),
      notes: Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1\n    at stack')),
    }),
    (err: Error) => {
      // The module was right; its server did not answer: a failure (exit 1), not a usage error.
      assert.equal(err.name, 'CliFailure');
      assert.equal(err.message, 'tools module /app/tools.js: export "notes" failed: connect ECONNREFUSED 127.0.0.1:1');
      return true;
    },
  );
  assert.deepEqual(closed, ['files']);
});

test('an export refused for its options (connectMcpServer names the field) is a usage error', async () => {
  const key = parseDelegationKey('00'.repeat(32), 'test');
  const notes = connectMcpServer({ name: 'notes', transport: { type: 'http', url: 'ftp://127.0.0.1/mcp' } }, { key });
  await assert.rejects(
    toolsOfModule('/app/tools.js', { notes }),
    (err: Error) =>
      err.name === 'CliUsageError' &&
      err.message === 'tools module /app/tools.js: export "notes" failed: connectMcpServer: invalid field "transport.url": the scheme ftp: is not one it takes: give an http:// or https:// URL (Streamable HTTP), not "ftp://127.0.0.1/mcp"',
  );
});

test('a module with nothing to serve is refused, saying what it may export', async () => {
  await assert.rejects(toolsOfModule('t.js', { a: 1, b: [], c: { tools: [1] } }), /tools module t\.js exports no tool made with defineTool\(\), array of them, or toolset \(connectMcpServer\)/);
});

test('a stdio server takes process.env whole (not a plain object) as its environment; a non-string value is refused naming it', () => {
  const options = (env: unknown) => McpServerOptions.safeParse({ name: 'files', transport: { type: 'stdio', command: 'node', env } });
  const whole = options(process.env);
  assert.ok(whole.success, JSON.stringify(!whole.success && whole.error.issues));
  const env = (whole.data.transport as { env?: Record<string, string> }).env!;
  assert.equal(env.PATH, process.env.PATH);
  assert.equal(Object.getPrototypeOf(env), Object.prototype);
  const bad = options({ PORT: 8080 });
  assert.ok(!bad.success && bad.error.issues[0]!.path.join('.') === 'transport.env.PORT');
});
