/**
 * The resource view ("who touched X" across sessions) agrees with footprint and touched:
 * what MCP servers' receipts report is a touch too, marked as the receipts' word, and a
 * touch the toucher's allowance does not permit is flagged. Run through the API's own
 * handler over an embedded store; no Temporal server is needed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../store';
import type { Store } from '../../store/types';
import { signReceipt, type McpReceipt } from '../../cim/mcp-receipt';
import { delegationSigner, parseDelegationKey } from '../../store/delegation-key';
import type { ResourcesResponse } from '../../client/ui-api-types';
import { ScopeClient } from '../../client/scope-client';
import { handleApi } from '../../client/ui-api';
import { action, scope } from './fixtures';

let store: Store;
let client: ScopeClient;

const DAY = { startedAt: '2026-12-06T10:00:00.000Z', endedAt: '2026-12-06T10:05:00.000Z' };
const call = (n: number) => ({ startedAt: `2026-12-06T10:0${n}:00.000Z`, endedAt: `2026-12-06T10:0${n}:01.000Z` });

function receipt(actionId: string, scopeId: string, resources: McpReceipt['resources'], over: Partial<McpReceipt> = {}): McpReceipt {
  return {
    namespace: 'default', sessionId: 's', scopeId, actionId, attempt: 1, agent: 'agent', server: 'notes', tool: 'put',
    resources, outcome: 'success', error: null, ...call(1), signature: null, ...over,
  };
}

before(async () => {
  store = await openStore({ memory: true, url: undefined });
  client = await ScopeClient.connect({ store, taskQueue: 'ui-resource-receipts' });
  await store.upsertScopes([
    scope('s', { ...DAY, allowance: ['mcp:notes', 'note:*'] }),
    // The delegate may only call the server: the note its receipt names is outside its allowance.
    scope('s.1', { ...DAY, parentScopeId: 's', path: '/s/s.1/', depth: 1, allowance: ['mcp:notes'] }),
    scope('old', { sessionId: 'old', path: '/old/', startedAt: '2026-12-01T10:00:00.000Z', endedAt: '2026-12-01T10:05:00.000Z' }),
  ]);
  await store.upsertActions([
    // The caller declares the server; the server reports the note it wrote, on each attempt.
    action('s/a1#1', 's', { ...call(1), name: 'notes/put', status: 'error', resources: [{ uri: 'mcp:notes', mode: 'write' }] }),
    action('s/a1#2', 's', { ...call(2), name: 'notes/put', attempt: 2, resources: [{ uri: 'mcp:notes', mode: 'write' }] }),
    // Here both sides name the note.
    action('s/a2#1', 's', { ...call(3), name: 'notes/get', resources: [{ uri: 'note:k3', mode: 'read' }] }),
    action('s.1/a1#1', 's.1', { ...call(4), name: 'notes/put', resources: [{ uri: 'mcp:notes', mode: 'write' }] }),
  ]);
  await store.receipts().upsert([
    receipt('s/a1#1', 's', [{ uri: 'note:k1', mode: 'write' }], { ...call(1), outcome: 'error', error: 'timeout' }),
    receipt('s/a1#2', 's', [{ uri: 'note:k1', mode: 'write' }], { ...call(2), attempt: 2 }),
    receipt('s/a2#1', 's', [{ uri: 'note:k3', mode: 'read' }], { ...call(3), tool: 'get' }),
    receipt('s.1/a1#1', 's.1', [{ uri: 'note:k2', mode: 'write' }], call(4)),
    receipt('old/a1#1', 'old', [{ uri: 'note:old', mode: 'write' }], {
      sessionId: 'old', startedAt: '2026-12-01T10:01:00.000Z', endedAt: '2026-12-01T10:01:01.000Z',
    }),
  ]);
});
after(async () => {
  await client?.close();
  await store?.close();
});

async function resources(query: string): Promise<ResourcesResponse> {
  const res = await handleApi({ client, temporalAddress: 'localhost:7233' }, 'GET', new URL(`/api/resources?${query}`, 'http://127.0.0.1/'));
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as ResourcesResponse;
}

const rows = (r: ResourcesResponse) =>
  r.touches.map((t) => `${t.scopeId} ${t.uri} ${t.mode} ${t.source} actions=${t.actions} receipts=${t.receipts}${t.outsideAllowance ? ' outside' : ''}`).sort();

test('a resource only an MCP server reported is listed, from its receipts, as footprint lists it', async () => {
  const r = await resources('glob=note:k1');
  assert.deepEqual(rows(r), ['s note:k1 write receipt actions=0 receipts=2']);
  const [k1] = r.touches;
  assert.equal(k1!.agent, 'agent');
  assert.equal(k1!.scopeStatus, 'success');
  assert.deepEqual([k1!.firstAt, k1!.lastAt], ['2026-12-06T10:01:00.000Z', '2026-12-06T10:02:01.000Z']);
  assert.deepEqual([r.sessions, r.scopes], [1, 1]);

  const footprint = await client.footprint('s', { descendants: false });
  const entry = footprint.resources.find((e) => e.uri === 'note:k1')!;
  assert.deepEqual([entry.source, entry.receipts, entry.actions], [k1!.source, k1!.receipts, k1!.actions]);
});

test('each row says whose word it rests on, and flags a touch outside the scope\'s allowance', async () => {
  assert.deepEqual(rows(await resources('glob=note:*')), [
    's note:k1 write receipt actions=0 receipts=2',
    's note:k3 read both actions=1 receipts=1',
    's.1 note:k2 write receipt actions=0 receipts=1 outside',
    'old note:old write receipt actions=0 receipts=1',
  ].sort());
  assert.deepEqual(rows(await resources('glob=mcp:*&mode=write')), [
    's mcp:notes write caller actions=2 receipts=0',
    's.1 mcp:notes write caller actions=1 receipts=0',
  ]);
});

test('receipts are held to the same modes and time range as the caller\'s actions', async () => {
  assert.deepEqual(rows(await resources('glob=note:*&mode=read')), ['s note:k3 read both actions=1 receipts=1']);
  assert.deepEqual(rows(await resources('glob=note:*&from=2026-12-06T10:02:30Z')), [
    's note:k3 read both actions=1 receipts=1',
    's.1 note:k2 write receipt actions=0 receipts=1 outside',
  ]);
  assert.deepEqual(rows(await resources('glob=note:*&to=2026-12-02T00:00:00Z')), ['old note:old write receipt actions=0 receipts=1']);
  const limited = await resources('glob=note:*&limit=1');
  assert.deepEqual([limited.touches.length, limited.truncated, limited.touches[0]!.uri], [1, true, 'note:k2']);
});

test('a receipt that does not vouch for what it says (forged, unsigned, unchecked) is flagged on its row, as footprint flags it', async () => {
  const key = parseDelegationKey('11'.repeat(32), 'test');
  const sign = delegationSigner(key);
  const at = { startedAt: '2026-12-07T10:00:00.000Z', endedAt: '2026-12-07T10:05:00.000Z' };
  const when = { startedAt: '2026-12-07T10:01:00.000Z', endedAt: '2026-12-07T10:01:01.000Z' };
  await store.upsertScopes([scope('v', { sessionId: 'v', path: '/v/', ...at, allowance: ['mcp:notes', 'note:*'] })]);
  await store.upsertActions(
    ['a1', 'a2', 'a3'].map((a) => action(`v/${a}#1`, 'v', { ...when, sessionId: 'v', name: 'notes/put', resources: [{ uri: 'mcp:notes', mode: 'write' as const }] })),
  );
  const signed = (actionId: string, uri: string) =>
    signReceipt(receipt(actionId, 'v', [{ uri, mode: 'write' }], { ...when, sessionId: 'v' }), sign, key.id);
  // Rewritten after the server signed it: it now claims a note the server never reported.
  const forged = { ...signed('v/a2#1', 'note:v-real'), resources: [{ uri: 'note:v-forged', mode: 'write' as const }] };
  await store.receipts().upsert([
    signed('v/a1#1', 'note:v-good'),
    forged,
    receipt('v/a3#1', 'v', [{ uri: 'note:v-unsigned', mode: 'write' }], { ...when, sessionId: 'v' }),
  ]);
  const keyed = await ScopeClient.connect({ store, taskQueue: 'ui-resource-receipts', delegationKey: key });
  try {
    const res = await handleApi({ client: keyed, temporalAddress: 'localhost:7233' }, 'GET', new URL('/api/resources?glob=note:v-*', 'http://127.0.0.1/'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const r = res.body as ResourcesResponse;
    assert.deepEqual(r.touches.map((t) => `${t.uri} ${t.source} receipts=${t.receipts} unverified=${t.unverifiedReceipts}`).sort(), [
      'note:v-forged receipt receipts=1 unverified=1',
      'note:v-good receipt receipts=1 unverified=0',
      'note:v-unsigned receipt receipts=1 unverified=1',
    ]);
    const problems = (p: ReadonlyArray<{ kind: string; id: string }>) => p.map((x) => `${x.kind} ${x.id}`).sort();
    assert.deepEqual(problems(r.receiptProblems), ['receipt_forged v/a2#1', 'receipt_unsigned v/a3#1']);
    // The same receipts, the same verdicts as footprint's.
    assert.deepEqual(problems(r.receiptProblems), problems((await keyed.footprint('v')).receiptProblems));
  } finally {
    await keyed.close();
  }
  // A reader without the servers' key cannot check any of them: none counts as verified.
  const unkeyed = await resources('glob=note:v-*');
  assert.deepEqual(unkeyed.touches.map((t) => t.unverifiedReceipts), [1, 1, 1]);
  assert.deepEqual(unkeyed.receiptProblems.map((p) => p.id).sort(), ['v/a1#1', 'v/a2#1', 'v/a3#1']);
});
