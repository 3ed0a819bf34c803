/** The OCSF mapping (cim/ocsf.ts) and the validator of events against the vendored definitions (cim/ocsf-validate.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sessionToOcsfEvents, ocsfEventUid, type OcsfScopeInput } from '../../cim/ocsf';
import { validateOcsfEvent } from '../../cim/ocsf-validate';
import { OCSF_VERSION, ocsfClass, ocsfObject } from '../../cim/ocsf-schema';
import { recordSpanId, sessionToGenAiSpans } from '../../cim/otel-genai';
import { computeChain } from '../../store/chain';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { action, scope } from './fixtures';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
const NOW = '2026-01-01T00:00:09.000Z';
const options = { hash, productVersion: '0.1.0', now: NOW };

const scopes = [
  scope('s', { agent: 'orchestrator', status: 'degraded' }),
  scope('s.1', { parentScopeId: 's', agent: 'researcher', depth: 1 }),
  scope('s.2', { parentScopeId: 's', agent: 'translator', status: 'error', error: 'quota exceeded', depth: 1 }),
  scope('s~1', { kind: 'handoff', handoffFromScopeId: 's', agent: 'reviewer', endedAt: null, status: 'running' }),
];
const actions = [
  action('s/w1', 's', { kind: 'delegate', name: 'researcher', targetScopeId: 's.1', agent: 'orchestrator' }),
  action('s/w2', 's', { kind: 'handoff', name: 'reviewer', targetScopeId: 's~1', agent: 'orchestrator', startedAt: '2026-01-01T00:00:00.900Z' }),
  action('s.1/a1#1', 's.1', { name: 'search', agent: 'researcher', resources: [{ uri: 'api:web-search', mode: 'read' }] }),
  action('s.1/a2#1', 's.1', {
    name: 'notes/save', agent: 'researcher', startedAt: '2026-01-01T00:00:00.300Z',
    resources: [{ uri: 'mcp:notes/save', mode: 'write' }, { uri: 'db:notes', mode: 'read' }],
  }),
  action('s.2/a1#1', 's.2', { name: 'translate', agent: 'translator', status: 'error', error: 'quota exceeded' }),
  action('s.2/a2#1', 's.2', { kind: 'denied', name: 'saveNote', agent: 'translator', status: 'denied', error: 'db:notes is outside the allowance', startedAt: '2026-01-01T00:00:00.500Z' }),
  action('s/a3#1', 's', {
    kind: 'llm_call', name: 'llm', agent: 'orchestrator', resources: [{ uri: 'llm:openai/gpt-x', mode: 'share' }],
    attributes: { provider: 'openai', requestedModel: 'gpt-x', model: 'gpt-x-2026', httpStatus: 429 }, status: 'error', error: 'rate limited',
  }),
  action('s~1/a1#1', 's~1', { name: 'search', agent: 'reviewer', status: 'running', endedAt: null, resources: [{ uri: 'api:web-search', mode: 'read' }] }),
];

/** Scopes as the exporter reads them: ended scopes sealed with store/chain.ts, the running one not yet. */
function sealed(ss: ScopeRecord[], as: ActionRecord[]): OcsfScopeInput[] {
  return ss.map((s) => {
    const own = as.filter((a) => a.scopeId === s.scopeId);
    const chain = s.status === 'running' ? [] : computeChain(s, own);
    return {
      scope: s,
      actions: own.map((record) => {
        const link = chain.find((l) => l.actionId === record.actionId);
        return { record, link: link ? { seq: link.seq, prevHash: link.prevHash, hash: link.hash } : null };
      }),
    };
  });
}

const events = sessionToOcsfEvents(sealed(scopes, actions), options);
const byAction = (id: string) => events.find((e) => (e.unmapped as any).scopetrail.action_id === id)! as any;

test('every action is one API Activity event, each valid against the vendored OCSF 1.9.0-dev definitions', () => {
  assert.equal(OCSF_VERSION, '1.9.0-dev');
  assert.equal(events.length, actions.length);
  for (const e of events) {
    assert.equal(e.class_uid, 6003);
    const result = validateOcsfEvent(e);
    assert.deepEqual(result.errors, [], `${(e.unmapped as any).scopetrail.action_id}: ${result.errors.join('; ')}`);
  }
});

test('the activity comes from the resource modes; delegations and handoffs are events of their own', () => {
  const activity = (id: string) => `${byAction(id).activity_id} ${byAction(id).activity_name}`;
  assert.equal(activity('s.1/a1#1'), '2 Read');
  assert.equal(activity('s.1/a2#1'), '3 Update', 'a write wins over a read');
  assert.equal(activity('s/a3#1'), '99 Share');
  assert.equal(activity('s/w1'), '1 Create');
  assert.equal(activity('s/w2'), '99 Handoff');
  assert.equal(byAction('s/w1').type_uid, 600301);
  assert.deepEqual(byAction('s/w1').resources.at(-1), { uid: 's.1', name: 'researcher', type: 'delegation', role_id: 1, role: 'Target' });
  const mcp = byAction('s.1/a2#1');
  assert.deepEqual([mcp.api.service.name, mcp.api.operation], ['mcp:notes', 'save']);
  assert.deepEqual(mcp.resources.map((r: any) => `${r.uid} ${r.labels}`), ['mcp:notes/save mode:write', 'db:notes mode:read']);
});

test('failures and refusals carry their status, code and detail', () => {
  const refusal = byAction('s.2/a2#1');
  assert.deepEqual([refusal.status_id, refusal.status, refusal.status_code, refusal.status_detail], [2, 'Failure', 'denied', 'db:notes is outside the allowance']);
  assert.deepEqual(refusal.api.response, { error: 'denied', error_message: 'db:notes is outside the allowance' });
  const llm = byAction('s/a3#1');
  assert.deepEqual([llm.status_code, llm.api.operation, llm.api.service.name], ['429', 'chat', 'openai']);
  assert.deepEqual(llm.ai_agent.ai_model, { name: 'gpt-x-2026', ai_provider: 'openai' });
  assert.deepEqual([byAction('s.1/a1#1').status_id, byAction('s.1/a1#1').status], [1, 'Success']);
  assert.deepEqual([byAction('s~1/a1#1').status_id, byAction('s~1/a1#1').status], [99, 'Running']);
});

test('the delegation names the scope, its parent and the issuer; the agent names itself', () => {
  assert.deepEqual(byAction('s.1/a1#1').delegation, { uid: 's.1', parent_uid: 's', created_time: Date.parse(scopes[1]!.startedAt), issuer_uid: 'scopetrail:default' });
  assert.equal(byAction('s/w1').delegation.parent_uid, undefined, 'a root scope has no parent delegation');
  assert.deepEqual(byAction('s.1/a1#1').ai_agent, { uid: 'researcher', name: 'researcher', version: '1.0.0', instance_uid: 's.1', type_id: 99, type: 'scopetrail' });
});

test('trace and span ids are the OpenTelemetry export’s', () => {
  const otel = sessionToGenAiSpans('s', scopes, actions, { hash, now: NOW });
  for (const e of events as any[]) {
    const id = e.unmapped.scopetrail.action_id;
    assert.equal(e.trace.uid, otel.traceId);
    const span = otel.spans.find((s) => s.source.id === id) ?? otel.spans.find((s) => s.source.id === e.unmapped.scopetrail.scope_id)!;
    assert.equal(e.trace.span.uid, span.spanId, id);
    assert.equal(e.trace.span.parent_uid, span.parentSpanId ?? undefined, id);
  }
  assert.equal(byAction('s/w1').trace.span.uid, recordSpanId('scope', 'default', 's', hash), 'a delegation is a moment of its scope’s span');
});

test('record_integrity follows the scope’s hash chain; a scope not sealed yet carries none', () => {
  const chain = computeChain(scopes[1]!, actions.filter((a) => a.scopeId === 's.1'));
  const [first, second] = [byAction(chain[0]!.actionId), byAction(chain[1]!.actionId)];
  assert.equal(first.attestation_list[0].fingerprint.value, chain[0]!.hash);
  assert.equal(first.attestation_list[0].prev_event, undefined, 'the genesis link has no previous event');
  assert.equal(second.attestation_list[0].fingerprint.value, chain[1]!.hash);
  assert.deepEqual(second.attestation_list[0].prev_event.uid, first.metadata.uid);
  assert.equal(second.attestation_list[0].prev_event.fingerprint.value, chain[1]!.prevHash);
  assert.equal(second.attestation_list[0].chain_uid, 'default/s.1');
  assert.ok(first.metadata.profiles.includes('record_integrity'));
  const running = byAction('s~1/a1#1');
  assert.equal(running.attestation_list, undefined);
  assert.ok(!running.metadata.profiles.includes('record_integrity'));
});

test('ids are derived from the records: exporting again gives identical lines', () => {
  const again = sessionToOcsfEvents(sealed([...scopes].reverse(), [...actions].reverse()), options);
  assert.deepEqual(again.map((e) => JSON.stringify(e)), events.map((e) => JSON.stringify(e)));
  assert.equal(byAction('s/w1').metadata.uid, ocsfEventUid('default', 's/w1', hash));
  assert.notEqual(ocsfEventUid('other', 's/w1', hash), ocsfEventUid('default', 's/w1', hash));
});

test('the vendored files are the upstream ones, unchanged', () => {
  const dir = join(__dirname, '..', '..', 'cim', 'ocsf', 'schema');
  const digest = (f: string) => createHash('sha256').update(readFileSync(join(dir, f))).digest('hex').slice(0, 16);
  // Blob digests of ocsf-schema at eaff97e8d2845c8055e24e6ebd64529ee772cbb6 (see cim/ocsf/schema/README.md).
  assert.deepEqual(
    Object.fromEntries(['objects/delegation.json', 'objects/ai_agent.json', 'profiles/record_integrity.json', 'events/application/api_activity.json'].map((f) => [f, digest(f)])),
    VENDORED_DIGESTS,
  );
});

function broken(change: (e: any) => void): string[] {
  const e = structuredClone(byAction('s.1/a1#1'));
  change(e);
  return validateOcsfEvent(e).errors;
}

test('the validator rejects a missing required attribute, an unknown one, a wrong type and an undefined enum value', () => {
  assert.deepEqual(broken((e) => delete e.actor), ['missing required attribute "actor"']);
  assert.deepEqual(broken((e) => delete e.delegation.uid), ['missing required attribute "delegation.uid"']);
  assert.deepEqual(broken((e) => (e.delegation.scope = 'x')), ['"delegation.scope" is not an attribute of delegation']);
  assert.match(broken((e) => (e.time = '2026-01-01'))[0]!, /^"time" must be an integer \(timestamp_t\)/);
  assert.match(broken((e) => (e.ai_agent.type_id = 7))[0]!, /^"ai_agent.type_id" is 7, not one of its defined values 0, 1, 2, 3, 4, 99/);
  assert.match(broken((e) => (e.activity_id = 5))[0]!, /^"activity_id" is 5/);
  assert.match(broken((e) => (e.resources = { uid: 'x' }))[0]!, /^"resources" must be an array of resource_details/);
  assert.match(broken((e) => (e.attestation_list[0].fingerprint.value = 42))[0]!, /fingerprint.value" must be a string \(file_hash_t\)/);
});

test('the validator checks captions, classification ids, constraints and profiles', () => {
  assert.match(broken((e) => (e.status = 'Failure'))[0]!, /^"status" must be the caption of status_id 1, "Success"/);
  assert.match(broken((e) => (e.ai_agent.type = undefined))[0]!, /is 99 \(Other\), so "ai_agent.type" must say what it is/);
  assert.deepEqual(broken((e) => (e.type_uid = 600399)), [
    '"type_name" must be the caption of type_uid 600399, "API Activity: Other", got "API Activity: Read"',
    'type_uid must be class_uid * 100 + activity_id = 600302, got 600399',
  ]);
  assert.match(broken((e) => (e.category_uid = 1))[0]!, /^"category_uid" is 1, not one of its defined values 6/);
  assert.match(broken((e) => (e.actor = { user_agent: 'x' }))[0]!, /"actor.user_agent" is not an attribute of actor/);
  assert.ok(broken((e) => (e.actor = {})).some((m) => /actor \(actor\) needs at least one of process, user/.test(m)));
  assert.deepEqual(broken((e) => (e.metadata.profiles = ['ai_operation', 'trace'])), [
    '"attestation_list" belongs to the record_integrity profile, which metadata.profiles does not declare',
  ]);
  assert.deepEqual(broken((e) => e.metadata.profiles.push('network_proxy')), ['metadata.profiles lists "network_proxy", a profile class api_activity does not support']);
  assert.deepEqual(broken((e) => (e.class_uid = 4001)), ['class_uid 4001 is not a vendored OCSF class']);
  assert.match(broken((e) => (e.metadata.version = '1.8.0'))[0]!, /^metadata.version must be the schema version/);
  assert.deepEqual(validateOcsfEvent([]).errors, ['the event must be a JSON object']);
});

test('the resolved class and objects follow the upstream inheritance', () => {
  const cls = ocsfClass(6003)!;
  assert.deepEqual([cls.name, cls.categoryUid], ['api_activity', 6]);
  assert.deepEqual(Object.keys(cls.attributes.get('activity_id')!.enum!), ['0', '1', '2', '3', '4', '99']);
  assert.equal(cls.attributes.get('actor')!.profile, null, 'api_activity takes actor out of the host profile');
  assert.equal(cls.attributes.get('delegation')!.profile, 'ai_operation');
  assert.equal(cls.attributes.get('trace')!.profile, 'trace');
  assert.deepEqual(ocsfObject('ai_agent')!.constraints, { at_least_one: ['name', 'uid'] }, 'inherited from _entity');
});

const VENDORED_DIGESTS: Record<string, string> = {
  'objects/delegation.json': '090af3fbd62e2592',
  'objects/ai_agent.json': '56c975b40ade7149',
  'profiles/record_integrity.json': 'c6f1159a32f806ff',
  'events/application/api_activity.json': '2daf6b950e41ed5e',
};

test('an exported MCP call carries the resources its receipt reports, labelled with how the receipt stands against its signature, as footprint counts them', async () => {
  const { openStore } = await import('../../store');
  const { ScopeClient } = await import('../../client/scope-client');
  const { exportOcsf } = await import('../../client/ocsf-export');
  const { receiptChecker } = await import('../../store/delegation-key');
  const { RECEIPT_SESSION, writeReceiptSession } = await import('../helpers/receipt-session');
  const store = await openStore({ memory: true, url: undefined });
  try {
    const { key } = await writeReceiptSession(store);
    const lines: string[] = [];
    const summary = await exportOcsf(store, { sessionId: RECEIPT_SESSION }, async (l) => lines.push(...l), receiptChecker(key));
    assert.equal(summary.events, 3);
    const exported = lines.map((l) => JSON.parse(l));
    for (const e of exported) assert.deepEqual(validateOcsfEvent(e).errors, []);
    const of = (n: number) => exported.find((e) => e.unmapped.scopetrail.action_id === `${RECEIPT_SESSION}/a${n}#1`);
    const targets = (n: number) => of(n).resources.map((r: { uid: string; labels: string[] }) => `${r.uid} ${r.labels.join(' ')}`);
    assert.deepEqual(targets(1), ['mcp:notes/save mode:read', 'note:k1 mode:write reported_by:mcp:notes receipt:verified']);
    assert.deepEqual(targets(2), ['mcp:notes/save mode:read', 'note:forged mode:write reported_by:mcp:notes receipt:forged']);
    assert.deepEqual(targets(3), ['mcp:notes/save mode:read', 'note:k3 mode:write reported_by:mcp:notes receipt:unsigned']);
    // The server's signed word that it wrote makes the call an Update; a receipt that vouches for nothing does not.
    assert.deepEqual([of(1).activity_name, of(2).activity_name, of(3).activity_name], ['Update', 'Read', 'Read']);
    assert.deepEqual(of(2).unmapped.scopetrail.receipt, { server: 'notes', tool: 'save', outcome: 'success', signature: 'forged', resources: ['write note:forged'] });

    // The same resources footprint lists, and the same receipts it flags.
    const client = await ScopeClient.connect({ store, taskQueue: 'ocsf-receipts', delegationKey: key });
    try {
      const footprint = await client.footprint(RECEIPT_SESSION);
      const exportedUris = new Set(exported.flatMap((e) => e.resources.map((r: { uid: string }) => r.uid)));
      assert.deepEqual(footprint.resources.map((r) => r.uri).filter((u) => !exportedUris.has(u)), []);
      const flagged = exported.filter((e) => e.unmapped.scopetrail.receipt?.signature !== 'verified').map((e) => e.unmapped.scopetrail.action_id).sort();
      assert.deepEqual(footprint.receiptProblems.map((p) => p.id).sort(), flagged);
    } finally {
      await client.close();
    }
  } finally {
    await store.close();
  }
});
