/** A footprint flags every touch its scope's recorded allowance does not permit, however it got there. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { footprint, footprintWithReceipts, matchesResource, scopesOutsideAllowance, allowancesOf, touchesOutsideAllowance } from '../../cim/forensics';
import type { McpReceipt } from '../../cim/mcp-receipt';
import { renderFootprint } from '../../client/format-forensics';
import { action, scope } from './fixtures';

const root = scope('s', { allowance: ['llm:openai/gpt-4o', 'db:notes*'] });
const kid = scope('s.1', { parentScopeId: 's', depth: 1, path: '/s/s.1/', allowance: ['db:notes/public'] });
const open = scope('s.2', { parentScopeId: 's', depth: 1, path: '/s/s.2/', allowance: null });
const scopes = [root, kid, open];
const share = (uri: string) => [{ uri, mode: 'share' as const }];
const read = (uri: string) => [{ uri, mode: 'read' as const }];

test('a model served outside the allowance is flagged, with the scope that touched it; the model asked for is not', () => {
  const actions = [
    action('s/a1#1', 's', { kind: 'llm_call', name: 'llm.generate', resources: [...share('llm:openai/gpt-4o'), ...share('llm:openai/other-model')] }),
  ];
  const fp = footprint('s', scopes, actions, { descendants: true });
  assert.deepEqual(
    fp.map((e) => [e.uri, e.outsideAllowance, e.outsideAllowanceScopes]),
    [
      ['llm:openai/gpt-4o', false, []],
      ['llm:openai/other-model', true, ['s']],
    ],
  );
});

test('each scope is held to its own allowance: a delegate narrower than its delegator is flagged where the delegator would not be', () => {
  const actions = [
    action('s/a1#1', 's', { resources: read('db:notes/private') }),
    action('s.1/a1#1', 's.1', { resources: read('db:notes/private') }),
    action('s.1/a2#1', 's.1', { resources: read('db:notes/public') }),
  ];
  const fp = footprint('s', scopes, actions, { descendants: true });
  assert.deepEqual(
    fp.map((e) => `${e.uri} ${e.scopes.join(',')} ${e.outsideAllowance ? `OUTSIDE ${e.outsideAllowanceScopes.join(',')}` : 'ok'}`),
    ['db:notes/private s,s.1 OUTSIDE s.1', 'db:notes/public s.1 ok'],
  );
});

test('an unrestricted scope and a scope without a row are never flagged; a refusal is not in the footprint at all', () => {
  const actions = [
    action('s.2/a1#1', 's.2', { resources: read('anything:at-all') }),
    action('s.9/a1#1', 's.9', { resources: read('db:secret') }),
    action('s/d1', 's', { kind: 'denied', status: 'denied', resources: read('db:secret') }),
  ];
  assert.deepEqual(footprint('s.2', scopes, actions, { descendants: false }).map((e) => e.outsideAllowance), [false]);
  assert.deepEqual(footprint('s.9', scopes, actions, { descendants: false }).map((e) => [e.uri, e.outsideAllowance]), [['db:secret', false]]);
  assert.deepEqual(footprint('s', scopes, actions, { descendants: false }), []);
  assert.deepEqual(scopesOutsideAllowance('db:secret', ['s', 's.2', 's.9'], allowancesOf(scopes)), ['s']);
});

test("a server's receipt naming a resource outside the scope's allowance is flagged like the caller's own row", () => {
  const receipt: McpReceipt = {
    namespace: 'default', sessionId: 's', scopeId: 's.1', actionId: 's.1/a1#1', attempt: 1, agent: 'agent', server: 'files', tool: 'read',
    resources: [...read('db:notes/public'), ...read('file:/etc/passwd')], outcome: 'success', error: null,
    startedAt: '2026-01-01T00:00:01.000Z', endedAt: '2026-01-01T00:00:02.000Z',
  };
  const actions = [action('s.1/a1#1', 's.1', { resources: read('db:notes/public') })];
  const fp = footprintWithReceipts('s', scopes, actions, [receipt], { descendants: true });
  assert.deepEqual(
    fp.map((e) => `${e.source} ${e.uri} ${e.outsideAllowance ? `OUTSIDE ${e.outsideAllowanceScopes.join(',')}` : 'ok'}`),
    ['both db:notes/public ok', 'receipt file:/etc/passwd OUTSIDE s.1'],
  );
});

test('the human footprint marks the entry and warns under the table; a footprint inside its allowance has neither', () => {
  const report = (uri: string) => ({
    scopeId: 's',
    descendants: true,
    resources: footprintWithReceipts('s', scopes, [action('s/a1#1', 's', { resources: share(uri) })], [], { descendants: true }),
    denied: [],
    receiptProblems: [],
  });
  const outside = renderFootprint(report('llm:openai/other-model'));
  assert.match(outside, /llm:openai\/other-model \(OUTSIDE ALLOWANCE of s\)/);
  assert.match(outside, /\nWARNING: 1 resource\(s\) were touched outside the allowance of the scope that touched them: llm:openai\/other-model \(s\)/);
  const inside = renderFootprint(report('llm:openai/gpt-4o'));
  assert.doesNotMatch(inside, /OUTSIDE|WARNING/);
});

test('touched names each matching touch its scope was not allowed, from actions and receipts alike', () => {
  const hits = [
    action('s/a1#1', 's', { resources: [...share('llm:openai/gpt-4o'), ...share('llm:openai/other-model'), ...share('llm:openai/other-model')] }),
    action('s.1/a1#1', 's.1', { resources: read('db:notes/private') }),
  ];
  const receipts = [{ actionId: 's.2/a1#1', scopeId: 's.2', resources: read('llm:openai/anything') }, { actionId: 's.1/a2#1', scopeId: 's.1', resources: read('llm:openai/x') }];
  assert.deepEqual(touchesOutsideAllowance(hits, receipts, (uri) => matchesResource('llm:*', uri), allowancesOf(scopes)), [
    { scopeId: 's', uri: 'llm:openai/other-model', actionId: 's/a1#1', source: 'caller' },
    { scopeId: 's.1', uri: 'llm:openai/x', actionId: 's.1/a2#1', source: 'receipt' },
  ]);
});
