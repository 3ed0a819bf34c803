/** The `_meta` a scopetrail MCP call carries: its shape, its signature and every refusal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DELEGATION_META_KEY, buildMcpMeta, delegationSigningText, signDelegation, verifyDelegation, type DelegationClaims,
} from '../../cim/mcp-meta';
import { recordSpanId, sessionTraceId } from '../../cim/otel-genai';
import { canonicalJson } from '../../cim/canonical-json';
import { deriveDelegationKey, loadDelegationKey, parseDelegationKey } from '../../store/delegation-key';
import { parseKey } from '../../worker/fingerprint-key';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
const secret = Buffer.alloc(32, 7);
const sign = (text: string) => createHmac('sha256', secret).update(text).digest('hex');
const KEY_ID = 'a1b2c3d4e5f60718';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const claims: DelegationClaims = {
  v: 1, namespace: 'default', sessionId: 's', scopeId: 's.2', parentScopeId: 's', agent: 'researcher',
  actionId: 's.2/a1#2', attempt: 2, server: 'files', tool: 'read', issuedAt: '2026-03-01T11:59:59.000Z', keyId: KEY_ID,
};
const verify = (meta: unknown, over: Partial<Parameters<typeof verifyDelegation>[1]> = {}) =>
  verifyDelegation(meta, { sign, keyId: KEY_ID, server: 'files', tool: 'read', now: NOW, ...over });

test('the meta carries traceparent with the OTel export\'s session trace id and action span id, baggage, and the signed object', () => {
  const meta = buildMcpMeta(claims, sign, hash);
  assert.equal(meta.traceparent, `00-${sessionTraceId('default', 's', hash)}-${recordSpanId('action', 'default', 's.2/a1#2', hash)}-01`);
  assert.match(meta.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(meta.baggage, 'scopetrail.session=s,scopetrail.scope=s.2,scopetrail.agent=researcher');
  const d = meta[DELEGATION_META_KEY];
  assert.equal(d.sig, sign(`scopetrail delegation v1\n${canonicalJson(claims)}`));
  assert.deepEqual(verify(meta), { ok: true, delegation: d });
});

test('the signature covers the claims in canonical form: key order does not matter, any changed claim does', () => {
  const reordered = Object.fromEntries(Object.entries(claims).reverse()) as DelegationClaims;
  assert.equal(delegationSigningText(reordered), delegationSigningText(claims));
  const d = signDelegation(claims, sign);
  for (const [field, value] of [['scopeId', 's.1'], ['parentScopeId', null], ['agent', 'verifier'], ['attempt', 1], ['actionId', 's.2/a1#1'], ['namespace', 'other']] as const) {
    const result = verify({ [DELEGATION_META_KEY]: { ...d, [field]: value } });
    assert.equal(result.ok, false, field);
    assert.match((result as { reason: string }).reason, /signature does not match its claims/, field);
  }
});

test('refusals name what failed: missing, malformed, other key, other tool or server, stale, from the future', () => {
  const reason = (meta: unknown, over = {}) => {
    const r = verify(meta, over);
    assert.equal(r.ok, false);
    return (r as { reason: string }).reason;
  };
  const meta = buildMcpMeta(claims, sign, hash);
  assert.match(reason(undefined), /no io\.scopetrail\/delegation object in _meta/);
  assert.match(reason({ traceparent: meta.traceparent }), /no io\.scopetrail\/delegation object/);
  assert.match(reason({ [DELEGATION_META_KEY]: { ...meta[DELEGATION_META_KEY], attempt: 0 } }), /invalid field "attempt"/);
  assert.match(reason({ [DELEGATION_META_KEY]: { ...meta[DELEGATION_META_KEY], sig: 'abc' } }), /invalid field "sig": must be 64 lowercase hex digits/);
  assert.match(reason(meta, { keyId: 'ffffffffffffffff' }), /signed under key a1b2c3d4e5f60718, this server checks key ffffffffffffffff/);
  assert.match(reason(meta, { tool: 'write' }), /issued for files\/read, not files\/write/);
  assert.match(reason(meta, { server: 'notes' }), /issued for files\/read, not notes\/read/);
  assert.match(reason(meta, { now: new Date('2026-03-01T12:10:00.000Z') }), /issued 601 s ago, more than the 300 s allowed/);
  assert.match(reason(meta, { now: new Date('2026-03-01T11:58:00.000Z') }), /issued 119 s in the future/);
  assert.equal(verify(meta, { now: new Date('2026-03-01T12:10:00.000Z'), maxAgeMs: 3_600_000 }).ok, true);
});

test('a signature made with another key does not verify', () => {
  const other = (text: string) => createHmac('sha256', Buffer.alloc(32, 8)).update(text).digest('hex');
  const r = verify(buildMcpMeta(claims, other, hash));
  assert.equal(r.ok, false);
});

test('signing refuses bad claims naming the field', () => {
  assert.throws(() => signDelegation({ ...claims, issuedAt: 'yesterday' }, sign), /delegation: invalid field "issuedAt"/);
});

test('the delegation key: from the environment, else derived from the deployment key; bad keys are refused by name', () => {
  const deployment = parseKey('00'.repeat(32), 'test');
  const derived = deriveDelegationKey(deployment);
  assert.notDeepEqual(derived.bytes, deployment.bytes, 'the derived key is not the fingerprint key');
  assert.deepEqual(loadDelegationKey({ SCOPETRAIL_FINGERPRINT_KEY: '00'.repeat(32) }).bytes, derived.bytes);
  assert.deepEqual(loadDelegationKey({ SCOPETRAIL_DELEGATION_KEY: '11'.repeat(16) }).bytes, Buffer.alloc(16, 0x11));
  assert.throws(() => parseDelegationKey('short', '$SCOPETRAIL_DELEGATION_KEY'), /invalid delegation key in \$SCOPETRAIL_DELEGATION_KEY/);
});

test('without any key, a server refuses to start and names what to set; a worker creates the deployment key it derives from', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scopetrail-key-'));
  const path = join(dir, 'fingerprint.key');
  assert.throws(() => loadDelegationKey({}, { path }), /no delegation key: \$SCOPETRAIL_DELEGATION_KEY is not set, and it cannot be derived from the deployment key \(\$SCOPETRAIL_FINGERPRINT_KEY is not set/);
  const created = loadDelegationKey({}, { path, create: true });
  assert.deepEqual(loadDelegationKey({}, { path }).bytes, created.bytes, 'the server then derives the same key');
});
