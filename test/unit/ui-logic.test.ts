/** The dashboard's pure parts: per-version agent health and the scope graph's layout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentHealth } from '../../cim/forensics/health';
import { buildScopeTree } from '../../cim/scope-tree';
import { edgeLabelWidth, layoutScopeTree, NODE_H, NODE_W } from '../../ui/src/graph-layout';
import { action, scope } from './fixtures';

test('health is per agent version: error rate over ended scopes, retried calls counted as attempts, drift flags named', () => {
  const scopes = [
    scope('s', { agent: 'boss', status: 'degraded' }),
    scope('s.1', { parentScopeId: 's', agent: 'worker', agentVersion: '1.0.0', status: 'error' }),
    scope('s.2', { parentScopeId: 's', agent: 'worker', agentVersion: '1.0.0', status: 'success', recovered: true }),
    scope('s.3', { parentScopeId: 's', agent: 'worker', agentVersion: '2.0.0', status: 'running', endedAt: null }),
    scope('s~1', { agent: 'peer', kind: 'handoff', handoffFromScopeId: 's' }),
  ];
  const actions = [
    action('a1', 's.1', { agent: 'worker', activityId: '1', attempt: 1, status: 'error', error: 'boom' }),
    action('a2', 's.1', { agent: 'worker', activityId: '1', attempt: 2, status: 'error', error: 'boom' }),
    action('b1', 's.2', { agent: 'worker', activityId: '1', attempt: 1, status: 'error', error: 'flaky' }),
    action('b2', 's.2', { agent: 'worker', activityId: '1', attempt: 2, status: 'success' }),
    action('d1', 's', { agent: 'boss', kind: 'delegate', name: 'worker', activityId: null }),
  ];
  const drift = [
    {
      agent: 'worker', version: '2.0.0', manifest: false, undeclaredTools: ['tool'], undeclaredSubAgents: [], undeclaredHandoffs: [], unusedTools: [], unusedHandoffs: [],
      unusedSubAgents: [], versionMismatches: [{ parent: 'boss', parentVersion: '1.0.0', expected: '1.0.0', observed: '2.0.0' }], builds: [], drifted: true,
    },
  ];
  const roles = [{ agent: 'worker', versions: [], orchestrator: false, subAgent: true, declaredSubAgents: [], observedSubAgents: [], delegatedBy: ['boss'], declaredHandoffs: [], handsOffTo: [], takesOverFrom: [], byVersion: [], evidence: [] }];
  const health = agentHealth(scopes, actions, drift, roles);
  assert.deepEqual(health.map((h) => `${h.agent}@${h.version}`), ['boss@1.0.0', 'peer@1.0.0', 'worker@1.0.0', 'worker@2.0.0']);
  const [boss, peer, v1, v2] = health;
  assert.deepEqual(
    { scopes: v1!.scopes, errorRate: v1!.errorRate, recovered: v1!.recovered, calls: v1!.calls, failedCalls: v1!.failedCalls, failedAttempts: v1!.failedAttempts },
    { scopes: 2, errorRate: 0.5, recovered: 1, calls: 2, failedCalls: 1, failedAttempts: 3 },
  );
  assert.equal(v1!.subAgent, true);
  assert.deepEqual(v1!.driftFlags, []);
  assert.equal(v2!.errorRate, null, 'no ended scope: no rate yet');
  assert.deepEqual(v2!.driftFlags, ['no manifest for this version', 'undeclared tool tool', 'boss@1.0.0 expects 1.0.0, ran 2.0.0']);
  assert.equal(boss!.errorRate, 0, 'degraded is not an error');
  assert.equal(boss!.calls, 0, 'a delegation is not a call');
  assert.equal(peer!.handoffScopes, 1);
});

test('the graph layout centres delegators over their delegates and puts a handoff target beside its origin', () => {
  const tree = buildScopeTree('s', [
    scope('s', { startedAt: '2026-01-01T00:00:00.000Z' }),
    scope('s.1', { parentScopeId: 's', startedAt: '2026-01-01T00:00:00.100Z' }),
    scope('s.1.1', { parentScopeId: 's.1', startedAt: '2026-01-01T00:00:00.200Z' }),
    scope('s.2', { parentScopeId: 's', startedAt: '2026-01-01T00:00:00.300Z' }),
    scope('s~1', { kind: 'handoff', handoffFromScopeId: 's', startedAt: '2026-01-01T00:00:02.000Z' }),
  ]);
  const layout = layoutScopeTree(tree.roots);
  const at = (id: string) => layout.nodes.find((n) => n.scope.scopeId === id)!;
  assert.equal(layout.nodes.length, 5);
  assert.equal(at('s').x, (at('s.1').x + at('s.2').x) / 2, 'the root is centred over its two delegates');
  assert.equal(at('s.1.1').x, at('s.1').x);
  assert.ok(at('s.1.1').y > at('s.1').y && at('s.1').y > at('s').y, 'each delegation one row lower');
  assert.equal(at('s~1').y, at('s').y, 'the handoff target shares its origin\'s row');
  assert.ok(at('s~1').x >= at('s.2').x + NODE_W, 'right of the origin\'s whole subtree');
  for (const a of layout.nodes) {
    for (const b of layout.nodes) {
      if (a === b) continue;
      const overlap = Math.abs(a.x - b.x) < NODE_W && Math.abs(a.y - b.y) < NODE_H;
      assert.ok(!overlap, `${a.scope.scopeId} and ${b.scope.scopeId} overlap`);
    }
  }
  assert.deepEqual(
    layout.edges.map((e) => `${e.kind} ${e.from}→${e.to}`).sort(),
    ['delegation s.1→s.1.1', 'delegation s→s.1', 'delegation s→s.2', 'handoff s→s~1'],
  );
  assert.ok(layout.nodes.every((n) => n.x + NODE_W <= layout.width && n.y + NODE_H <= layout.height), 'everything fits the canvas');
  // A handoff's label sits between origin and target: the gap must hold it whole.
  for (const e of layout.edges.filter((x) => x.kind === 'handoff')) {
    assert.ok(at(e.to).x - (at(e.from).x + NODE_W) >= edgeLabelWidth('handoff'), `the handoff label fits between ${e.from} and ${e.to}`);
  }
});

test('inside a delegation the graph puts a handoff target under the delegator, right of its origin, with a sideways handoff edge', () => {
  const tree = buildScopeTree('s', [
    scope('s', { startedAt: '2026-01-01T00:00:00.000Z' }),
    scope('s.1', { parentScopeId: 's', path: '/s/s.1/', depth: 1, startedAt: '2026-01-01T00:00:00.100Z' }),
    scope('s.1.1', { parentScopeId: 's.1', path: '/s/s.1/s.1.1/', depth: 2, startedAt: '2026-01-01T00:00:00.200Z' }),
    scope('s.1~1', { kind: 'handoff', parentScopeId: 's', handoffFromScopeId: 's.1', path: '/s/s.1~1/', depth: 1, startedAt: '2026-01-01T00:00:01.000Z' }),
    scope('s.2', { parentScopeId: 's', path: '/s/s.2/', depth: 1, startedAt: '2026-01-01T00:00:00.300Z' }),
  ]);
  const layout = layoutScopeTree(tree.roots);
  const at = (id: string) => layout.nodes.find((n) => n.scope.scopeId === id)!;
  assert.equal(at('s.1~1').y, at('s.1').y, 'the target shares its origin\'s row');
  assert.ok(at('s.1~1').x >= at('s.1.1').x + NODE_W, 'right of the origin\'s whole subtree');
  assert.ok(at('s.2').x >= at('s.1~1').x + NODE_W, 'before the next delegation');
  assert.deepEqual(
    layout.edges.map((e) => `${e.kind} ${e.from}→${e.to}`).sort(),
    ['delegation s.1→s.1.1', 'delegation s→s.1', 'delegation s→s.2', 'handoff s.1→s.1~1'],
  );
});
