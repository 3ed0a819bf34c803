/** Receipts in the forensic answers: whose word each footprint entry rests on, and calls owed a receipt. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evidenceSource, footprintWithReceipts, receiptDifferences, receiptSignatureProblems, receiptsTouching } from '../../cim/forensics';
import { signReceipt, type McpReceipt } from '../../cim/mcp-receipt';
import { delegationSigner, parseDelegationKey, receiptChecker } from '../../store/delegation-key';
import { renderFootprint } from '../../client/format-forensics';
import { action, scope } from './fixtures';

const scopes = [scope('s'), scope('s.1', { parentScopeId: 's', depth: 1, path: '/s/s.1/' }), scope('s.2', { parentScopeId: 's', depth: 1, path: '/s/s.2/' })];
const expected = { 'mcp.server': 'files', 'mcp.tool': 'read', 'mcp.receipt': 'expected' };
const actions = [
  action('s.1/a1#1', 's.1', { name: 'files/read', resources: [{ uri: 'mcp:files/read', mode: 'read' }], attributes: expected }),
  action('s.2/a1#1', 's.2', { name: 'files/read', resources: [{ uri: 'mcp:files/read', mode: 'read' }, { uri: 'file:/a', mode: 'read' }], attributes: expected }),
  action('s.2/a2#1', 's.2', { name: 'echo', resources: [{ uri: 'api:echo', mode: 'read' }] }),
];
function receipt(actionId: string, scopeId: string, over: Partial<McpReceipt> = {}): McpReceipt {
  return {
    namespace: 'default', sessionId: 's', scopeId, actionId, attempt: 1, agent: 'researcher', server: 'files', tool: 'read',
    resources: [{ uri: 'file:/a', mode: 'read' }], outcome: 'success', error: null,
    startedAt: '2026-01-01T00:00:01.000Z', endedAt: '2026-01-01T00:00:02.000Z', ...over,
  };
}

test('footprint marks each (resource, mode) as the caller\'s, the receipt\'s, or both', () => {
  const receipts = [receipt('s.1/a1#1', 's.1'), receipt('s.2/a1#1', 's.2')];
  const fp = footprintWithReceipts('s', scopes, actions, receipts, { descendants: true });
  assert.deepEqual(fp.map((e) => `${e.source} ${e.mode} ${e.uri} actions=${e.actions} receipts=${e.receipts}`), [
    'caller read api:echo actions=1 receipts=0',
    'both read file:/a actions=1 receipts=2',
    'caller read mcp:files/read actions=2 receipts=0',
  ]);
  const file = fp.find((e) => e.uri === 'file:/a')!;
  assert.deepEqual(file.scopes, ['s.1', 's.2']);
  assert.deepEqual(file.servers, ['files']);
  const one = footprintWithReceipts('s.1', scopes, actions, receipts, { descendants: true });
  assert.deepEqual(one.map((e) => `${e.source} ${e.uri} ${e.scopes.join(',')}`), ['receipt file:/a s.1', 'caller mcp:files/read s.1']);
});

test('the footprint table shows the receipts beside the actions, with their servers; without receipts it has no such column', () => {
  const report = (resources: ReturnType<typeof footprintWithReceipts>) => ({ scopeId: 's.1', descendants: true, resources, denied: [], receiptProblems: [] });
  // The table's lines under the heading, the rule left out, each cut into its cells.
  const rows = (text: string) => text.split('\n').slice(1).filter((l) => !/^-/.test(l)).map((l) => l.split(/\s{2,}/));
  const vouched = renderFootprint(report(footprintWithReceipts('s.1', scopes, actions, [receipt('s.1/a1#1', 's.1')], { descendants: true })));
  assert.deepEqual(rows(vouched), [
    ['resource', 'mode', 'source', 'actions', 'receipts', 'tools', 'scopes', 'agents'],
    ['file:/a', 'read', 'receipt', '0', '1 (files)', 'files/read', 's.1', 'researcher'],
    ['mcp:files/read', 'read', 'caller', '1', '0', 'files/read', 's.1', 'agent'],
  ]);
  const plain = renderFootprint(report(footprintWithReceipts('s.1', scopes, actions, [], { descendants: true })));
  assert.deepEqual(rows(plain)[0], ['resource', 'mode', 'source', 'actions', 'tools', 'scopes', 'agents']);
});

test('touched: receipts count only under the asked scopes, and the answer says whose word it rests on', () => {
  const receipts = [receipt('s.1/a1#1', 's.1')];
  assert.deepEqual(receiptsTouching(receipts, 'file:*', new Set(['s.1'])).length, 1);
  assert.deepEqual(receiptsTouching(receipts, 'file:*', new Set(['s.2'])), []);
  assert.equal(evidenceSource(0, 1), 'receipt');
  assert.equal(evidenceSource(2, 0), 'caller');
  assert.equal(evidenceSource(1, 1), 'both');
  assert.equal(evidenceSource(0, 0), null);
});

test('reconcile: an answered call of a receipts server without its receipt is missing; one naming another scope or tool is mismatched', () => {
  assert.deepEqual(receiptDifferences(actions, [receipt('s.1/a1#1', 's.1'), receipt('s.2/a1#1', 's.2')]), []);
  const missing = receiptDifferences(actions, [receipt('s.1/a1#1', 's.1')]);
  assert.deepEqual(missing.map((d) => `${d.kind} ${d.record} ${d.id} ${d.scopeId}`), ['missing receipt s.2/a1#1 s.2']);
  assert.match(missing[0]!.detail, /MCP server files answered files\/read \(attempt 1\) but the store holds no receipt of it: the server recorded none, or its row was removed or moved/);
  const wrong = receiptDifferences(actions, [receipt('s.1/a1#1', 's.2', { tool: 'write' }), receipt('s.2/a1#1', 's.2')]);
  assert.deepEqual(wrong.map((d) => d.detail), ['scope: caller s.1, receipt s.2; tool: caller files/read, receipt files/write']);
  const notExpected = actions.map((a) => ({ ...a, attributes: {} }));
  assert.deepEqual(receiptDifferences(notExpected, []), [], 'a call that never reached the server owes nothing');
  const forged = receiptDifferences(actions, [receipt('s.1/a1#1', 's.1'), receipt('s.2/a1#1', 's.2'), receipt('s.2/a9#1', 's.2')]);
  assert.deepEqual(forged.map((d) => `${d.kind} ${d.record} ${d.id} ${d.scopeId}`), ['extra receipt s.2/a9#1 s.2'], 'a receipt of a call the session never made');
});

test('a signed receipt checks under its key, the same after the store gives its times back in another form', () => {
  const key = parseDelegationKey('11'.repeat(32), 'test');
  const checker = { keyId: key.id, sign: delegationSigner(key) };
  const signed = signReceipt({ ...receipt('s.1/a1#1', 's.1'), startedAt: '2026-01-01T01:00:01+01:00' }, checker.sign, key.id);
  assert.equal(signed.signature?.keyId, key.id);
  // Read back: UTC, and jsonb's own key order inside the resources.
  const read: McpReceipt = { ...signed, startedAt: '2026-01-01T00:00:01.000Z', resources: [{ mode: 'read', uri: 'file:/a' } as McpReceipt['resources'][number]] };
  assert.deepEqual(receiptSignatureProblems([signed, read], checker), []);
});

test('a receipt changed, moved to another call, unsigned or signed under another key is named, each by kind', () => {
  const key = parseDelegationKey('11'.repeat(32), 'test');
  const other = parseDelegationKey('22'.repeat(32), 'test');
  const checker = { keyId: key.id, sign: delegationSigner(key) };
  const good = signReceipt(receipt('s.1/a1#1', 's.1'), checker.sign, key.id);
  const dropped = { ...good, actionId: 's.1/a2#1', resources: [] };
  const moved = { ...good, actionId: 's.1/a3#1', scopeId: 's.2' };
  const flipped = { ...good, actionId: 's.1/a4#1', outcome: 'error' as const, error: 'no' };
  const unsigned = { ...receipt('s.1/a5#1', 's.1'), signature: null };
  const foreign = signReceipt(receipt('s.1/a6#1', 's.1'), delegationSigner(other), other.id);
  // The right key id with another key's mac is a forgery, not a key mismatch.
  const borrowed = { ...foreign, actionId: 's.1/a7#1', signature: { keyId: key.id, mac: foreign.signature!.mac } };
  // Signed under the reader's key, its key id changed to pass for another deployment's: forged, not unchecked.
  const relabelled = signReceipt(receipt('s.1/a8#1', 's.1'), checker.sign, other.id);
  const broken = { ...receipt('s.1/a9#1', 's.1'), signature: null, signatureInvalid: true as const };
  const problems = receiptSignatureProblems([good, dropped, moved, flipped, unsigned, foreign, borrowed, relabelled, broken], checker);
  assert.deepEqual(problems.map((p) => `${p.id} ${p.kind}`), [
    's.1/a2#1 receipt_forged', 's.1/a3#1 receipt_forged', 's.1/a4#1 receipt_forged', 's.1/a5#1 receipt_unsigned', 's.1/a6#1 receipt_unchecked', 's.1/a7#1 receipt_forged',
    's.1/a8#1 receipt_forged', 's.1/a9#1 receipt_forged',
  ]);
  assert.match(problems[4]!.detail, new RegExp(`signed under key ${other.id} \\(as its row says\\), this reader holds key ${key.id}`));
  // A reader with no key checks nothing, and says why for each receipt.
  const none = receiptSignatureProblems([good], { missing: 'no fingerprint key: $SCOPETRAIL_FINGERPRINT_KEY is not set' });
  assert.deepEqual(none.map((p) => p.kind), ['receipt_unchecked']);
  assert.match(none[0]!.detail, /cannot be checked against its signature: no fingerprint key/);
});

test('receiptChecker: the key given, else the environment\'s, else why there is none', () => {
  const key = parseDelegationKey('11'.repeat(32), 'test');
  const given = receiptChecker(key, {});
  assert.ok('keyId' in given && given.keyId === key.id);
  const fromEnv = receiptChecker(undefined, { SCOPETRAIL_DELEGATION_KEY: '11'.repeat(32) });
  assert.ok('keyId' in fromEnv && fromEnv.keyId === key.id);
  const missing = receiptChecker(undefined, {}, '/nonexistent-scopetrail-test/key');
  assert.ok('missing' in missing, JSON.stringify(missing));
  assert.match(missing.missing, /no delegation key: \$SCOPETRAIL_DELEGATION_KEY is not set, and it cannot be derived from the deployment key .*or start a worker of the deployment first/);
});
