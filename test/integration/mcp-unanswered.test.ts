/**
 * MCP calls made by agents that never hear back from their server, against real servers
 * built on the official SDK: one a process of its own that the test kills mid-call, one in
 * this process whose calls are held until cancelled. A write call whose server died fails
 * at once, naming the server, and `touched` answers UNKNOWN for the scope (the server may
 * have written before it died), listing the call; after a clean call it answers YES on
 * the server's receipt. A call Temporal cancels, or whose attempt times out, is cancelled
 * at the server too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TEST_DATABASE_URL, dropTestSchema, openTestStore, startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import type { Store } from '../../store/types';
import type { ActionRecord } from '../../cim/schemas';
import { sessionRows } from '../helpers/session';
import { connectMcpServer, type McpToolset } from '../../activities/mcp-tools';
import { parseDelegationKey } from '../../store/delegation-key';
import { renderTouched } from '../../client/format-forensics';
import { heldCallArrived, heldCallEnded, startHttpMcpProcess, startHttpMcpServer, type HttpMcpProcess, type HttpMcpServer } from '../fixtures/mcp-server';
import { cancelMcpCall, mcpWriter } from '../fixtures/mcp-agents';

const keyHex = randomBytes(32).toString('hex');
const key = parseDelegationKey(keyHex, 'test');
/** The killed server is a process writing receipts into the test schema: a Postgres server, not the embedded store. */
const skip = usesPglite() && 'the MCP server process needs a Postgres server to share (set DATABASE_URL)';

let rt: TestRuntime;
let schema: string;
let serverStore: Store | undefined;
let procs: HttpMcpProcess | undefined;
let procsTools: McpToolset | undefined;
let files: HttpMcpServer | undefined;
let filesTools: McpToolset | undefined;

const procsEnv = () => ({ DATABASE_URL: TEST_DATABASE_URL, SCOPETRAIL_TEST_SCHEMA: schema, SCOPETRAIL_DELEGATION_KEY: keyHex, MCP_SERVER_NAME: 'procs' });
const holdKey = () => `hold-${randomBytes(4).toString('hex')}`;

before(async () => {
  if (skip) return;
  schema = `t_${randomBytes(5).toString('hex')}`;
  // The runtime migrates the schema; the servers and the worker then share it.
  ({ store: serverStore } = await openTestStore('default', TEST_DATABASE_URL, schema));
  procs = await startHttpMcpProcess(procsEnv());
  procsTools = await connectMcpServer({ name: 'procs', transport: { type: 'http', url: procs.url }, receipts: true }, { key });
  files = await startHttpMcpServer({ server: 'files', store: serverStore, key });
  filesTools = await connectMcpServer({ name: 'files', transport: { type: 'http', url: files.url }, receipts: true }, { key });
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/mcp-agents'), tools: [...procsTools.tools, ...filesTools.tools], schema, delegationKey: key });
});
after(async () => {
  await procsTools?.close();
  await filesTools?.close();
  await procs?.kill();
  await files?.close();
  await rt?.stop();
  await serverStore?.close();
  if (schema) await dropTestSchema(schema);
});

async function toolCalls(sessionId: string): Promise<ActionRecord[]> {
  return (await sessionRows(rt, sessionId)).actions.filter((a) => a.kind === 'tool_call');
}

/** The session's one tool call, once its row has ended (the tool may end after the workflow moved on). */
async function endedCall(sessionId: string): Promise<ActionRecord> {
  for (let waited = 0; ; waited += 100) {
    const [call] = await toolCalls(sessionId);
    if (call && call.status !== 'running') return call;
    if (waited > 10_000) assert.fail(`the tool call of ${sessionId} has not ended: ${JSON.stringify(call)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still running'> {
  return Promise.race([promise, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms).unref())]);
}

describe('a write call whose MCP server is killed mid-call', { skip }, () => {
  test('fails within a second naming the server, and touched answers UNKNOWN for the resource under its scope, listing the call', async (t) => {
    const hold = holdKey();
    const s = await rt.client.startSession(mcpWriter, { input: { tool: 'procs/write', args: { path: '/docs/w.txt', hold } } });
    await procs!.held(hold);
    const killedAt = Date.now();
    await procs!.kill();
    await assert.rejects(s.result());

    const calls = await toolCalls(s.sessionId);
    assert.equal(calls.length, 1, 'one attempt, not retried');
    const call = calls[0]!;
    assert.equal(call.status, 'error');
    assert.match(call.error ?? '', /^MCP server procs \(http:\/\/127\.0\.0\.1:\d+\/mcp\) gave no answer to write: the connection broke before the answer/);
    const afterMs = Date.parse(call.endedAt!) - killedAt;
    t.diagnostic(`the call's row ended ${afterMs} ms after the server was killed`);
    assert.ok(afterMs < 1_000, `the call ended ${afterMs} ms after the server was killed`);
    assert.equal(call.attributes['mcp.answered'], undefined, 'no answer came');
    assert.deepEqual(call.resources, [{ uri: 'mcp:procs/write', mode: 'write' }]);
    assert.deepEqual(await rt.store.receipts().ofSession(s.sessionId), [], 'the server died before it could write a receipt');

    const touched = await rt.client.wasTouched(s.sessionId, 'file:/docs/w.txt');
    assert.equal(touched.touched, false);
    assert.deepEqual(touched.unanswered.map((a) => a.actionId), [call.actionId]);
    assert.deepEqual(touched.evidence.differences, [], 'history and the rows agree: only the unanswered call leaves it open');
    const text = renderTouched(touched);
    assert.match(text, new RegExp(`^UNKNOWN — nothing recorded under ${s.sessionId} touched file:/docs/w\\.txt, but 1 MCP call\\(s\\) never heard back`));
    assert.match(text, /procs\/write/);
  });

  test('the same resource, after a clean call to the restarted server, is touched: YES on its receipt', async () => {
    const port = Number(new URL(procs!.url).port);
    procs = await startHttpMcpProcess(procsEnv(), 'stateless', port);
    const s = await rt.client.startSession(mcpWriter, { input: { tool: 'procs/write', args: { path: '/docs/w.txt' } } });
    assert.equal(await s.result(), 'wrote /docs/w.txt');
    const [call] = await toolCalls(s.sessionId);
    assert.equal(call?.status, 'success');
    assert.equal(call?.attributes['mcp.answered'], true);

    const touched = await rt.client.wasTouched(s.sessionId, 'file:/docs/w.txt');
    assert.equal(touched.touched, true);
    assert.equal(touched.source, 'receipt');
    assert.deepEqual(touched.receipts.map((r) => [r.actionId, r.server, r.tool, r.outcome]), [[call!.actionId, 'procs', 'write', 'success']]);
    assert.deepEqual(touched.unanswered, []);
    assert.match(renderTouched(touched), new RegExp(`^YES — file:/docs/w\\.txt was touched under ${s.sessionId} by 1 MCP server receipt\\(s\\)`));
  });
});

describe('a call given up on by Temporal is cancelled at the server', { skip }, () => {
  test('when its workflow cancels it', async (t) => {
    const hold = holdKey();
    const s = await rt.client.startSession(mcpWriter, { input: { tool: 'files/write', args: { path: '/docs/c.txt', hold }, timeouts: 'heartbeat' } });
    await heldCallArrived(hold);
    const cancelledAt = Date.now();
    await rt.client.temporal.workflow.getHandle(s.sessionId).signal(cancelMcpCall);
    assert.equal(await s.result(), 'cancelled');
    assert.equal(await within(heldCallEnded(hold), 5_000), 'aborted', 'the server\'s handler saw its signal abort');
    t.diagnostic(`the server's handler was aborted ${Date.now() - cancelledAt} ms after the workflow cancelled the call`);
    const call = await endedCall(s.sessionId);
    assert.equal(call.status, 'cancelled', call.error ?? '');
  });

  test('when its attempt\'s start-to-close timeout passes', async (t) => {
    const hold = holdKey();
    const s = await rt.client.startSession(mcpWriter, { input: { tool: 'files/write', args: { path: '/docs/t.txt', hold }, timeouts: 'short' } });
    await heldCallArrived(hold);
    const arrivedAt = Date.now();
    await assert.rejects(s.result());
    assert.equal(await within(heldCallEnded(hold), 5_000), 'aborted', 'the server\'s handler saw its signal abort');
    t.diagnostic(`the server's handler was aborted ${Date.now() - arrivedAt} ms after the call reached it (the attempt may take 2 s)`);
    const call = await endedCall(s.sessionId);
    assert.equal(call.status, 'error');
    assert.match(call.error ?? '', /^attempt timed out: its start-to-close timeout \(2000 ms\) passed/);
  });
});
