import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPayloadConverter } from '@temporalio/common';
import { encodeScopeHeader } from '../../cim/header';
import type { ScopeContext } from '../../cim/schemas';
import { ScopeHeaderCache } from '../../worker/scope-header-cache';

const ctx: ScopeContext = {
  sessionId: 's', scopeId: 's.1', parentScopeId: 's', handoffFromScopeId: null, kind: 'delegation', agent: 'a',
  agentVersion: '1', delegatedBy: 'root', objective: 'do it', allowance: ['x*'], depth: 1, path: '/s/s.1/',
  handoffIndex: 0, visibility: false, budget: null,
};

test('the same header bytes decode once: later attempts get the context already validated', () => {
  const cache = new ScopeHeaderCache();
  const first = cache.decode(encodeScopeHeader(ctx));
  assert.deepEqual(first, ctx);
  // A fresh payload with the same bytes, as each activity task brings its own.
  assert.equal(cache.decode(encodeScopeHeader({ ...ctx })), first);
});

test('a header that differs in one field is decoded on its own', () => {
  const cache = new ScopeHeaderCache();
  cache.decode(encodeScopeHeader(ctx));
  assert.deepEqual(cache.decode(encodeScopeHeader({ ...ctx, allowance: ['y*'] }))?.allowance, ['y*']);
});

test('a malformed header stays untrusted however often it comes', () => {
  const cache = new ScopeHeaderCache();
  const bad = () => defaultPayloadConverter.toPayload({ ...ctx, depth: -1 }) as never;
  assert.equal(cache.decode(bad()), undefined);
  assert.equal(cache.decode(bad()), undefined);
  assert.equal(cache.decode(undefined), undefined);
});

test('the same bytes under another encoding are another header', () => {
  const cache = new ScopeHeaderCache();
  const good = encodeScopeHeader(ctx);
  assert.deepEqual(cache.decode(good), ctx);
  assert.equal(cache.decode({ metadata: { encoding: new TextEncoder().encode('binary/plain') }, data: good.data } as never), undefined);
});

test('the cache keeps at most its capacity, dropping the least recently used header', () => {
  const cache = new ScopeHeaderCache(2);
  const a = cache.decode(encodeScopeHeader({ ...ctx, scopeId: 's.1' }));
  cache.decode(encodeScopeHeader({ ...ctx, scopeId: 's.2' }));
  assert.equal(cache.decode(encodeScopeHeader({ ...ctx, scopeId: 's.1' })), a); // s.1 is now the most recent
  cache.decode(encodeScopeHeader({ ...ctx, scopeId: 's.3' })); // evicts s.2
  assert.equal(cache.decode(encodeScopeHeader({ ...ctx, scopeId: 's.1' })), a);
  assert.equal((cache as unknown as { entries: Map<string, unknown> }).entries.size, 2);
});
