import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildScopeTree, naturalCompare, walkTree } from '../../cim/scope-tree';
import { renderTree } from '../../client/format';
import { scope } from './fixtures';

const at = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, '0')}.000Z`;

test('delegations nest under their delegator and handoffs sit beside the scope they came from', () => {
  const tree = buildScopeTree('s', [
    scope('s~1', { kind: 'handoff', handoffFromScopeId: 's', path: '/s~1/', startedAt: at(5) }),
    scope('s.10', { parentScopeId: 's', path: '/s/s.10/', startedAt: at(1) }),
    scope('s', { startedAt: at(0) }),
    scope('s.2', { parentScopeId: 's', path: '/s/s.2/', startedAt: at(2) }),
    scope('s.2.1', { parentScopeId: 's.2', path: '/s/s.2/s.2.1/', startedAt: at(3) }),
  ]);
  assert.equal(tree.size, 5);
  assert.deepEqual(tree.roots.map((r) => r.scope.scopeId), ['s']);
  const root = tree.roots[0]!;
  assert.deepEqual(root.children.map((c) => c.scope.scopeId), ['s.2', 's.10'], 'delegation order, not string order');
  assert.deepEqual(root.handoffs.map((c) => c.scope.scopeId), ['s~1']);
  assert.deepEqual([...walkTree(tree)].map((n) => n.scope.scopeId), ['s', 's.2', 's.2.1', 's.10', 's~1']);
});

test('a scope whose parent is missing from the rows becomes a root rather than disappearing', () => {
  const tree = buildScopeTree('s', [scope('s'), scope('s.1.1', { parentScopeId: 's.1', path: '/s/s.1/s.1.1/' })]);
  assert.deepEqual(tree.roots.map((r) => r.scope.scopeId).sort(), ['s', 's.1.1']);
});

test('natural order compares numbers as numbers', () => {
  assert.ok(naturalCompare('s.2', 's.10') < 0);
  assert.ok(naturalCompare('s.1.9', 's.1.10') < 0);
  assert.ok(naturalCompare('a', 'b') < 0);
  assert.equal(naturalCompare('s.1', 's.1'), 0);
});

test('the rendered tree shows every scope with its kind, status and handoff marker', () => {
  const text = renderTree(
    buildScopeTree('s', [
      scope('s', { status: 'degraded', recovered: true }),
      scope('s.1', { parentScopeId: 's', path: '/s/s.1/', status: 'error', agent: 'worker', delegatedBy: 'agent' }),
      scope('s~1', { kind: 'handoff', handoffFromScopeId: 's', path: '/s~1/', agent: 'peer' }),
    ]),
  );
  assert.match(text, /^Session s — 3 scopes/);
  assert.match(text, /\[s\] agent@1\.0\.0 · root · degraded \(recovered\)/);
  assert.match(text, /├─\[s\.1\] worker@1\.0\.0 · delegated by agent · error/);
  assert.match(text, /└─⇢ \[s~1\] peer@1\.0\.0 · handoff from s · success/);
});
