/**
 * MCP tools across the boundary, against real MCP servers built on the official SDK:
 * one over Streamable HTTP on 127.0.0.1 (in this process), one over stdio (its own
 * process, writing to the same Postgres schema). Each call is an activity recorded
 * under its scope; the server verifies the signed delegation in `_meta` and records
 * its receipt under the same scope.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { TEST_DATABASE_URL, dropTestSchema, openTestStore, startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import type { Store } from '../../store/types';
import { sessionRows } from '../helpers/session';
import { testSql } from '../helpers/test-sql';
import { connectMcpServer, type McpToolset } from '../../activities/mcp-tools';
import { refusedFor } from '../helpers/refused-option';
import { parseDelegationKey, delegationSigner, sha256Hex } from '../../store/delegation-key';
import { DELEGATION_META_KEY, buildMcpMeta, traceparentOf, type DelegationClaims } from '../../cim/mcp-meta';
import { startHttpMcpServer, type HttpMcpServer } from '../fixtures/mcp-server';
import { mcpCaller, mcpFanout } from '../fixtures/mcp-agents';
import { ScopeClient } from '../../client/scope-client';
import { renderFootprint, renderTouched, renderVerify } from '../../client/format-forensics';

const ROOT = join(__dirname, '..', '..');
const keyHex = randomBytes(32).toString('hex');
const key = parseDelegationKey(keyHex, 'test');

let rt: TestRuntime;
let http: HttpMcpServer;
let gone: HttpMcpServer;
let goneTools: McpToolset;
/** A server checking delegations under another key than the callers sign with: it refuses every call. */
let strict: HttpMcpServer;
let strictTools: McpToolset;
let files: McpToolset;
let notes: McpToolset | undefined;
/** The HTTP server's own store handle on the test schema (the stdio server opens its own). */
let serverStore: Store | undefined;
let schema: string | undefined;
/** Receipts are written by the MCP server into its own store handle: the same database only on a Postgres server. */
const receiptsSkip = usesPglite() && 'the MCP server writes receipts through a store of its own, another database with the embedded store (set DATABASE_URL to a Postgres server to run it)';

before(async () => {
  // The runtime migrates the schema; the servers and the worker then share it.
  schema = `t_${randomBytes(5).toString('hex')}`;
  const { store } = await openTestStore('default', TEST_DATABASE_URL, schema);
  serverStore = store;
  http = await startHttpMcpServer({ server: 'files', store, key });
  files = await connectMcpServer({ name: 'files', transport: { type: 'http', url: http.url }, receipts: true }, { key });
  // A stdio server is another process: it can share Postgres, not an in-memory PGlite.
  if (!usesPglite()) {
    notes = await connectMcpServer(
      {
        name: 'notes',
        transport: {
          type: 'stdio',
          command: join(ROOT, 'node_modules', '.bin', 'tsx'),
          args: [join(ROOT, 'test', 'fixtures', 'mcp-server.ts')],
          env: { ...(process.env as Record<string, string>), DATABASE_URL: TEST_DATABASE_URL, SCOPETRAIL_TEST_SCHEMA: schema, SCOPETRAIL_DELEGATION_KEY: keyHex, MCP_SERVER_NAME: 'notes' },
        },
        receipts: true,
        tools: ['read'],
      },
      { key },
    );
  }
  // A server that goes away once connected.
  gone = await startHttpMcpServer({ server: 'gone', store, key });
  goneTools = await connectMcpServer({ name: 'gone', transport: { type: 'http', url: gone.url }, receipts: true, tools: ['read'] }, { key });
  strict = await startHttpMcpServer({ server: 'strict', store, key: parseDelegationKey(randomBytes(32).toString('hex'), 'strict') });
  strictTools = await connectMcpServer({ name: 'strict', transport: { type: 'http', url: strict.url }, receipts: true, tools: ['read'] }, { key });
  rt = await startTestRuntime({
    agents: require.resolve('../fixtures/mcp-agents'), tools: [...files.tools, ...(notes?.tools ?? []), ...goneTools.tools, ...strictTools.tools], schema, delegationKey: key,
  });
});
after(async () => {
  await goneTools?.close();
  await strictTools?.close();
  await strict?.close();
  await files?.close();
  await notes?.close();
  await http?.close();
  await rt?.stop();
  await serverStore?.close();
  if (schema) await dropTestSchema(schema);
});

async function seen(sessionId: string, output: string) {
  const rows = await sessionRows(rt, sessionId);
  const [action] = rows.actions.filter((a) => a.kind === 'tool_call');
  return { rows, action: action!, echoed: JSON.parse(output) as { scopeId: string; actionId: string; traceparent: string; baggage: string } };
}

test('a call to an MCP server that went away fails naming the server and where it was', { skip: receiptsSkip }, async () => {
  await gone.close();
  const port = new URL(gone.url).port;
  const s = await rt.client.startSession(mcpCaller, { input: { tool: 'gone/read', args: { path: '/docs/a.txt' } } });
  const failed = await s.result().then(() => assert.fail('the call was answered'), (err: unknown) => err as Error);
  const calls = (await sessionRows(rt, s.sessionId)).actions.filter((a) => a.kind === 'tool_call');
  assert.ok(calls.length >= 1);
  for (const c of calls) assert.match(c.error ?? '', /^MCP server gone \(http:\/\/127\.0\.0\.1:\d+\/mcp\) gave no answer to read: /, c.error ?? '');
  // Why, not only fetch's "fetch failed": in the row (actions, root-cause) and in Temporal's activity failure, said once.
  const why = `gave no answer to read: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`;
  assert.ok(calls.at(-1)!.error!.endsWith(why), calls.at(-1)!.error!);
  const chain: string[] = [];
  for (let e: unknown = failed; e instanceof Error; e = e.cause) chain.push(e.message);
  assert.ok(chain.some((m) => m.endsWith(why)), chain.join(' | '));
  const rc = (await rt.client.rootCause(s.sessionId))!;
  assert.ok(rc.action?.error?.endsWith(why), rc.action?.error ?? 'no action');
  assert.ok(rc.scope.error?.endsWith(why), rc.scope.error ?? 'no error');
  // A read-only tool's unanswered call touched nothing it could write; reads are not "unknown".
  const touched = await rt.client.wasTouched(s.sessionId, 'file:*');
  assert.equal(touched.touched, false);
});

test('a tool the server does not have, asked for in "tools", is refused naming that field', async () => {
  await assert.rejects(
    connectMcpServer({ name: 'files', transport: { type: 'http', url: http.url }, tools: ['read', 'nope'] }, { key }),
    refusedFor('tools', /^connectMcpServer files: invalid field "tools": the server has no tool nope$/),
  );
});

describe('an MCP tool called by an agent', () => {
  for (const transport of ['http', 'stdio'] as const) {
    test(`over ${transport}: the server sees the calling scope in _meta and records its receipt under it`, { skip: receiptsSkip }, async () => {
      const server = transport === 'http' ? 'files' : 'notes';
      const s = await rt.client.startSession(mcpCaller, { input: { tool: `${server}/read`, args: { path: '/docs/a.txt' } } });
      const { rows, action, echoed } = await seen(s.sessionId, await s.result());
      assert.equal(action.name, `${server}/read`);
      assert.equal(action.status, 'success');
      assert.deepEqual(action.resources, [{ uri: `mcp:${server}/read`, mode: 'read' }]);
      assert.equal(echoed.scopeId, s.sessionId);
      assert.equal(echoed.actionId, action.actionId);
      assert.equal(echoed.traceparent, traceparentOf({ namespace: 'default', sessionId: s.sessionId, actionId: action.actionId }, sha256Hex));
      assert.match(echoed.baggage, new RegExp(`scopetrail.scope=${s.sessionId}`));

      const [receipt] = await rt.store.receipts().ofSession(s.sessionId);
      assert.equal(receipt?.actionId, action.actionId);
      assert.equal(receipt?.scopeId, s.sessionId);
      assert.equal(receipt?.server, server);
      assert.equal(receipt?.tool, 'read');
      assert.equal(receipt?.outcome, 'success');
      assert.deepEqual(receipt?.resources, [{ uri: 'file:/docs/a.txt', mode: 'read' }]);
      assert.equal(rows.scopes[0]?.status, 'success');

      const fp = await rt.client.footprint(s.sessionId);
      assert.deepEqual(
        fp.resources.map((e) => `${e.source} ${e.mode} ${e.uri}`),
        ['receipt read file:/docs/a.txt', `caller read mcp:${server}/read`],
      );
      const touched = await rt.client.wasTouched(s.sessionId, 'file:/docs/*');
      assert.equal(touched.touched, true);
      assert.equal(touched.source, 'receipt');
      assert.deepEqual(touched.receipts.map((r) => r.actionId), [action.actionId]);
      assert.deepEqual(touched.evidence.differences, [], 'history, the caller\'s rows and the receipt agree');
      assert.equal(action.attributes['mcp.answered'], true);
      assert.deepEqual(touched.unanswered, [], 'the server answered');
    });
  }

  test('a receipt row written outside scopetrail: footprint and touched name the row and field, verify names it and a receipt of a call the session never made', { skip: receiptsSkip }, async () => {
    const s = await rt.client.startSession(mcpCaller, { input: { tool: 'files/read', args: { path: '/docs/a.txt' } } });
    await s.result();
    await rt.worker.recorder.drain();
    assert.deepEqual((await rt.client.verify(s.sessionId)).problems, [], 'clean before');
    const [receipt] = await rt.store.receipts().ofSession(s.sessionId);
    const table = `"${rt.schema}".mcp_receipts`;
    await testSql(`UPDATE ${table} SET resources = '"notarray"'::jsonb WHERE session_id = $1`, [s.sessionId]);
    for (const query of [() => rt.client.footprint(s.sessionId), () => rt.client.wasTouched(s.sessionId, 'file:/docs/*')]) {
      await assert.rejects(query, (err: Error) => {
        assert.equal(err.name, 'InvalidStoredRowError');
        assert.match(err.message, new RegExp(`MCP receipt "${receipt!.actionId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" has an invalid field "resources"`));
        assert.match(err.message, /scopetrail verify/);
        return true;
      });
    }
    // A forged receipt of a call nobody made, beside the broken one.
    await testSql(
      `INSERT INTO ${table} (namespace, session_id, scope_id, action_id, attempt, agent, server, tool, resources, outcome, error, started_at, ended_at)
       SELECT namespace, session_id, scope_id, action_id || '-forged', attempt, agent, server, tool, '[{"uri":"file:/etc/shadow","mode":"read"}]'::jsonb, outcome, error, started_at, ended_at
       FROM ${table} WHERE session_id = $1`,
      [s.sessionId],
    );
    const problems = (await rt.client.verify(s.sessionId)).problems.map((p) => `${p.problem} ${p.recordId}`).sort();
    assert.deepEqual(problems, [`inserted ${receipt!.actionId}-forged`, `invalid_row ${receipt!.actionId}`, `receipt_unsigned ${receipt!.actionId}-forged`]);
    await testSql(`DELETE FROM ${table} WHERE session_id = $1`, [s.sessionId]);
  });

  test('a receipt rewritten in the table no longer matches its server\'s signature: touched is not complete, verify names it', { skip: receiptsSkip }, async () => {
    const s = await rt.client.startSession(mcpCaller, { input: { tool: 'files/read', args: { path: '/docs/secret.txt' } } });
    await s.result();
    await rt.worker.recorder.drain();
    const [receipt] = await rt.store.receipts().ofSession(s.sessionId);
    assert.equal(receipt?.signature?.keyId, key.id, 'the server signed its receipt under the delegation key');
    const clean = await rt.client.verify(s.sessionId);
    assert.deepEqual(clean.problems, [], 'clean before');
    assert.equal(clean.receiptsChecked, 1, 'the one receipt was held to its signature');
    assert.match(renderVerify(clean), / 1 MCP receipts held to their signatures\./);
    const yes = await rt.client.wasTouched(s.sessionId, 'file:/docs/secret.txt');
    assert.equal(yes.touched, true);
    assert.equal(yes.complete, true);
    assert.deepEqual(yes.receiptProblems, []);
    assert.deepEqual((await rt.client.footprint(s.sessionId)).receiptProblems, []);

    // Someone who can write the table but lacks the key drops the resource from the receipt.
    const table = `"${rt.schema}".mcp_receipts`;
    await testSql(`UPDATE ${table} SET resources = '[]'::jsonb WHERE session_id = $1`, [s.sessionId]);
    const no = await rt.client.wasTouched(s.sessionId, 'file:/docs/secret.txt');
    assert.equal(no.touched, false);
    assert.equal(no.complete, false, 'a "no" resting on a rewritten receipt is not a proof');
    assert.deepEqual(no.receiptProblems.map((p) => `${p.kind} ${p.id}`), [`receipt_forged ${receipt!.actionId}`]);
    assert.match(renderTouched(no), /^UNKNOWN — nothing recorded under .* but 1 MCP receipt\(s\) of the session do not vouch for what they say/);
    assert.match(renderTouched(no), /WARNING: 1 MCP receipt\(s\) of session .* do not vouch for what they say/);
    const fp = await rt.client.footprint(s.sessionId);
    assert.deepEqual(fp.receiptProblems.map((p) => p.kind), ['receipt_forged'], 'footprint says its receipt entries may be wrong');
    assert.match(renderFootprint(fp), /WARNING: 1 MCP receipt\(s\) do not vouch for what they say/);
    const forged = (await rt.client.verify(s.sessionId)).problems.map((p) => `${p.problem} ${p.recordId}`);
    assert.deepEqual(forged, [`receipt_forged ${receipt!.actionId}`]);

    // Half a signature is no signature: the receipt still reads, in every answer, and vouches for nothing.
    await testSql(`UPDATE ${table} SET signature_key = NULL WHERE session_id = $1`, [s.sessionId]);
    assert.deepEqual((await rt.client.wasTouched(s.sessionId, 'file:/docs/secret.txt')).receiptProblems.map((p) => p.kind), ['receipt_forged']);
    assert.deepEqual((await rt.client.footprint(s.sessionId)).receiptProblems.map((p) => p.kind), ['receipt_forged']);
    // With its signature removed it is unsigned; a reader holding another key cannot check it.
    await testSql(`UPDATE ${table} SET signature = NULL, signature_key = NULL WHERE session_id = $1`, [s.sessionId]);
    assert.deepEqual((await rt.client.verify(s.sessionId)).problems.map((p) => p.problem), ['receipt_unsigned']);
    await rt.store.receipts().upsert([receipt!]);
    const stranger = await ScopeClient.connect({ address: rt.temporal.address, taskQueue: rt.taskQueue, store: rt.store, delegationKey: parseDelegationKey('33'.repeat(32), 'test') });
    try {
      const unchecked = await stranger.verify(s.sessionId);
      assert.deepEqual(unchecked.problems.map((p) => p.problem), ['receipt_unchecked']);
      assert.match(unchecked.problems[0]!.detail, new RegExp(`signed under key ${key.id}`));
    } finally {
      await stranger.close();
    }
    assert.deepEqual((await rt.client.verify(s.sessionId)).problems, [], 'the receipt as the server wrote it checks again');
  });

  test('a call the server refuses (its delegation key differs) fails saying so, and owes no receipt', { skip: receiptsSkip }, async () => {
    const s = await rt.client.startSession(mcpCaller, { input: { tool: 'strict/read', args: { path: '/docs/a.txt' } } });
    await assert.rejects(s.result());
    const calls = (await sessionRows(rt, s.sessionId)).actions.filter((a) => a.kind === 'tool_call');
    assert.equal(calls.length, 1, 'a refusal is the server\'s deliberate answer: not retried');
    assert.match(calls[0]!.error ?? '', /scopetrail delegation refused: io\.scopetrail\/delegation is signed under key [0-9a-f]{16}, this server checks key [0-9a-f]{16}/);
    assert.equal(calls[0]!.attributes['mcp.answered'], true);
    assert.equal(calls[0]!.attributes['mcp.receipt'], undefined);
    assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, [], 'no receipt is missing: the server recorded nothing, as it says');
  });

  test('sibling scopes calling the same MCP tool at the same moment are each attributed to their own scope', { skip: receiptsSkip }, async () => {
    const s = await rt.client.startSession(mcpFanout, { input: { key: randomBytes(4).toString('hex') } });
    const echoed = ((await s.result()) as string[]).map((t) => JSON.parse(t) as { scopeId: string; actionId: string });
    const rows = await sessionRows(rt, s.sessionId);
    const siblings = [`${s.sessionId}.1`, `${s.sessionId}.2`];
    assert.deepEqual(echoed.map((e) => e.scopeId), siblings, 'each sibling\'s call carried its own scope');
    const receipts = await rt.store.receipts().ofSession(s.sessionId);
    assert.deepEqual(receipts.map((r) => r.scopeId).sort(), siblings);
    for (const sibling of siblings) {
      const [call] = rows.actionsOf(sibling).filter((a) => a.kind === 'tool_call');
      const receipt = receipts.find((r) => r.scopeId === sibling)!;
      assert.equal(receipt.actionId, call?.actionId);
      assert.equal(receipt.agent, 'mcpSibling');
      const own = await rt.client.footprint(sibling);
      assert.deepEqual(own.resources.find((e) => e.source === 'receipt')?.scopes, [sibling]);
    }
    const report = await rt.client.reconcile(s.sessionId);
    assert.deepEqual(report.differences, []);
  });

  test('reconcile reports a call the server answered without a receipt', async () => {
    const s = await rt.client.startSession(mcpCaller, { input: { tool: 'files/unvouched', args: { x: 'hello' } } });
    assert.equal(await s.result(), 'hello');
    const { action } = await seen(s.sessionId, '{}');
    const report = await rt.client.reconcile(s.sessionId);
    assert.deepEqual(
      report.differences.map((d) => `${d.kind} ${d.record} ${d.id}`),
      [`missing receipt ${action.actionId}`],
    );
    assert.match(report.differences[0]!.detail, /MCP server files answered files\/unvouched \(attempt 1\) but the store holds no receipt of it: the server recorded none, or its row was removed or moved/);
  });

  test('scopetrail worker --tools serves a module that exports connectMcpServer(...), and closes it on stop', { skip: receiptsSkip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-tools-'));
    const module = (url: string) =>
      `import { connectMcpServer } from ${JSON.stringify(join(ROOT, 'index'))};\n` +
      `export const files = connectMcpServer({ name: 'files', transport: { type: 'http', url: ${JSON.stringify(url)} }, receipts: true, tools: ['read'] });\n`;
    writeFileSync(join(dir, 'tools.ts'), module(http.url));
    writeFileSync(join(dir, 'down.ts'), module('http://127.0.0.1:1/mcp'));
    const taskQueue = `mcp-cli-${randomBytes(4).toString('hex')}`;
    const env = { ...process.env, TEMPORAL_ADDRESS: rt.temporal.address, SCOPETRAIL_DELEGATION_KEY: keyHex };
    const args = (tools: string) => ['worker', '--json', '--agents', join(ROOT, 'test', 'fixtures', 'mcp-agents.ts'), '--tools', join(dir, tools), '--database-url', TEST_DATABASE_URL, '--schema', schema!, '--task-queue', taskQueue];

    // A module whose connection fails stops the start, naming the export: a failure (exit 1), not a usage error.
    const down = spawnSync(process.execPath, [join(ROOT, 'bin', 'scopetrail.js'), ...args('down.ts')], { env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(down.status, 1, down.stderr);
    assert.match(down.stdout + down.stderr, /tools module \S+down\.ts: export "files" failed: /);

    const child = spawn(process.execPath, [join(ROOT, 'bin', 'scopetrail.js'), ...args('tools.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (stdout.includes('\n')) resolve();
        });
        void exited.then(() => reject(new Error(`the worker exited before it was ready:\n${stderr}`)));
      });
      const ready = JSON.parse(stdout.split('\n')[0]!);
      assert.deepEqual([ready.event, ready.tools], ['ready', ['files/read']]);
      const client = await ScopeClient.connect({ address: rt.temporal.address, taskQueue, store: rt.store, delegationKey: key });
      try {
        const session = await client.startSession(mcpCaller, { input: { tool: 'files/read', args: { path: '/docs/a.txt' } } });
        assert.match(await session.result(), /"scopeId":/);
        assert.equal((await rt.store.receipts().ofSession(session.sessionId)).length, 1, 'the server\'s receipt');
        const fp = await client.footprint(session.sessionId);
        assert.deepEqual(fp.resources.map((e) => `${e.source} ${e.mode} ${e.uri}`), ['receipt read file:/docs/a.txt', 'caller read mcp:files/read']);
        const touched = await client.wasTouched(session.sessionId, 'file:/docs/*');
        assert.deepEqual([touched.touched, touched.source, touched.receiptProblems], [true, 'receipt', []]);
        assert.deepEqual(touched.evidence.differences, [], 'history, the CLI worker\'s rows and the receipt agree');
      } finally {
        await client.close();
      }
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(stdout.trim().split('\n').map((l) => JSON.parse(l).event), ['ready', 'stopped']);
  });

  test('input that breaks the tool\'s JSON schema fails the attempt naming the field, without reaching the server', async () => {
    const s = await rt.client.startSession(mcpCaller, { input: { tool: 'files/read', args: { path: 3 } } });
    await assert.rejects(s.result());
    const rows = await sessionRows(rt, s.sessionId);
    const [call] = rows.actions.filter((a) => a.kind === 'tool_call');
    assert.match(call?.error ?? '', /tool files\/read: invalid field "input\.path"/);
    assert.deepEqual(await rt.store.receipts().ofSession(s.sessionId), []);
  });
});

describe('the server-side middleware', () => {
  let client: Client;
  before(async () => {
    client = new Client({ name: 'intruder', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  });
  after(async () => client?.close());

  const claims = (over: Partial<DelegationClaims> = {}): DelegationClaims => ({
    v: 1, namespace: 'default', sessionId: 'forged-session', scopeId: 'forged-session', parentScopeId: null, agent: 'mcpCaller',
    actionId: 'forged-session/a1#1', attempt: 1, server: 'files', tool: 'read', issuedAt: new Date().toISOString(), keyId: key.id, ...over,
  });

  async function refusal(meta: Record<string, unknown> | undefined): Promise<string> {
    const result = await client.callTool({ name: 'read', arguments: { path: '/secret' }, ...(meta ? { _meta: meta } : {}) });
    assert.equal(result.isError, true);
    return (result.content as Array<{ text: string }>)[0]!.text;
  }

  test('refuses a call without a delegation, a forged one, one for another tool, and a stale one; records none', async () => {
    assert.match(await refusal(undefined), /scopetrail delegation refused: no io\.scopetrail\/delegation object in _meta/);
    const valid = buildMcpMeta(claims(), delegationSigner(key), sha256Hex);
    const altered = { ...valid, [DELEGATION_META_KEY]: { ...valid[DELEGATION_META_KEY], scopeId: 'forged-session.7' } };
    assert.match(await refusal(altered), /signature does not match its claims \(forged or altered\)/);
    const otherKey = parseDelegationKey(randomBytes(32).toString('hex'), 'other');
    const foreign = buildMcpMeta(claims({ keyId: otherKey.id }), delegationSigner(otherKey), sha256Hex);
    assert.match(await refusal(foreign), /signed under key [0-9a-f]{16}, this server checks key/);
    assert.match(await refusal(buildMcpMeta(claims({ tool: 'together' }), delegationSigner(key), sha256Hex)), /issued for files\/together, not files\/read/);
    const stale = buildMcpMeta(claims({ issuedAt: new Date(Date.now() - 3_600_000).toISOString() }), delegationSigner(key), sha256Hex);
    assert.match(await refusal(stale), /issued 3600 s ago, more than the 300 s allowed/);
    assert.match(await refusal({ [DELEGATION_META_KEY]: { scopeId: 42 } }), /invalid field "v"/);
    assert.deepEqual(await rt.store.receipts().ofSession('forged-session'), []);
  });

  test('a genuine delegation sent twice leaves one receipt', { skip: receiptsSkip }, async () => {
    const meta = buildMcpMeta(claims({ sessionId: 'replayed', scopeId: 'replayed', actionId: 'replayed/a1#1' }), delegationSigner(key), sha256Hex);
    for (let i = 0; i < 2; i++) {
      const result = await client.callTool({ name: 'read', arguments: { path: '/docs/b.txt' }, _meta: meta });
      assert.equal(result.isError, undefined);
    }
    assert.equal((await rt.store.receipts().ofSession('replayed')).length, 1);
  });
});
