import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeScopeHeader, encodeScopeHeader, legacyHeaderObjective } from '../../cim/header';
import type { ScopeContext } from '../../cim/schemas';
import { defaultPayloadConverter } from '@temporalio/common';

const ctx: ScopeContext = {
  sessionId: 's', scopeId: 's.1', parentScopeId: 's', handoffFromScopeId: null, kind: 'delegation', agent: 'a',
  agentVersion: '1', delegatedBy: 'root', allowance: ['x*'], depth: 1, path: '/s/s.1/',
  handoffIndex: 0, visibility: false, budget: { turns: 3, tokens: null, deadline: '2026-01-01T00:00:10.000Z' },
};

test('the scope header round-trips through a Temporal payload', () => {
  assert.deepEqual(decodeScopeHeader(encodeScopeHeader(ctx)), ctx);
});

test('a missing or malformed header is not trusted', () => {
  assert.equal(decodeScopeHeader(undefined), undefined);
  assert.equal(decodeScopeHeader(defaultPayloadConverter.toPayload({ ...ctx, depth: -1 }) as never), undefined);
  assert.equal(decodeScopeHeader(defaultPayloadConverter.toPayload({ scopeId: 'x' }) as never), undefined);
  assert.equal(decodeScopeHeader({ metadata: {}, data: new Uint8Array([1, 2]) } as never), undefined);
});

test('the scope header carries no user text: payload codecs never encode headers', () => {
  const text = new TextDecoder().decode(encodeScopeHeader({ ...ctx, objective: 'secret plan' } as ScopeContext).data);
  assert.doesNotMatch(text, /objective|secret plan/);
});

test('a header written by an earlier version still gives its objective and its scope', () => {
  const old = defaultPayloadConverter.toPayload({ ...ctx, objective: 'do it' }) as never;
  assert.deepEqual(decodeScopeHeader(old), ctx);
  assert.equal(legacyHeaderObjective(old), 'do it');
  assert.equal(legacyHeaderObjective(encodeScopeHeader(ctx)), null);
});
