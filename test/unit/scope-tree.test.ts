/** Scope tree (cim/scope-tree.ts) and its rendering. Every fixture passes the real ScopeRecord schema. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ScopeRecord } from '../../cim/schemas';
import { buildScopeTree, naturalCompare, walkTree, type ScopeNode, type ScopeTree } from '../../cim/scope-tree';
import { renderTree } from '../../client/format';
import { handoffPath } from '../../cim/ids';
import { scope as baseScope } from './fixtures';

const at = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, '0')}.000Z`;

/** A scope record whose path, depth and kind follow from where it sits; validated by ScopeRecord.parse. */
function scope(id: string, fields: Partial<ScopeRecord> = {}): ScopeRecord {
  const record = baseScope(id, fields);
  return ScopeRecord.parse(record);
}
function child(id: string, parent: ScopeRecord, fields: Partial<ScopeRecord> = {}): ScopeRecord {
  return scope(id, { parentScopeId: parent.scopeId, path: `${parent.path}${id}/`, depth: parent.depth + 1, ...fields });
}
/** A handoff keeps the parent of the scope it took over from (none at the top of a session). */
function handoff(id: string, from: ScopeRecord, fields: Partial<ScopeRecord> = {}): ScopeRecord {
  return scope(id, {
    kind: 'handoff',
    handoffFromScopeId: from.scopeId,
    parentScopeId: from.parentScopeId,
    delegatedBy: null,
    path: handoffPath(from, id),
    depth: from.depth,
    ...fields,
  });
}

const ids = (nodes: readonly ScopeNode[]) => nodes.map((n) => n.scope.scopeId);
const walked = (tree: ScopeTree) => [...walkTree(tree)].map((n) => n.scope.scopeId);
function find(tree: ScopeTree, id: string): ScopeNode {
  const node = [...walkTree(tree)].find((n) => n.scope.scopeId === id);
  assert.ok(node, `scope ${id} is in the tree`);
  return node;
}

describe('buildScopeTree', () => {
  test('fixtures are valid CIM records', () => {
    const root = scope('s');
    assert.doesNotThrow(() => ScopeRecord.parse(child('s.1', root)));
    assert.doesNotThrow(() => ScopeRecord.parse(handoff('s~1', root)));
    assert.throws(() => scope('bad id with spaces'));
  });

  test('no rows: no roots, size 0, an empty walk', () => {
    const tree = buildScopeTree('s', []);
    assert.deepEqual(tree, { sessionId: 's', roots: [], size: 0 });
    assert.deepEqual(walked(tree), []);
  });

  test('delegations nest under their delegator, at every depth', () => {
    const s = scope('s', { startedAt: at(0) });
    const s1 = child('s.1', s, { startedAt: at(1) });
    const s11 = child('s.1.1', s1, { startedAt: at(2) });
    const s111 = child('s.1.1.1', s11, { startedAt: at(3) });
    const s2 = child('s.2', s, { startedAt: at(4) });
    const tree = buildScopeTree('s', [s111, s2, s11, s, s1]);
    assert.equal(tree.sessionId, 's');
    assert.equal(tree.size, 5);
    assert.deepEqual(ids(tree.roots), ['s']);
    const root = tree.roots[0]!;
    assert.equal(root.scope, s, 'the node carries the record itself');
    assert.deepEqual(ids(root.children), ['s.1', 's.2']);
    assert.deepEqual(ids(find(tree, 's.1').children), ['s.1.1']);
    assert.deepEqual(ids(find(tree, 's.1.1').children), ['s.1.1.1']);
    assert.deepEqual(ids(find(tree, 's.1.1.1').children), []);
    assert.deepEqual(ids(find(tree, 's.2').children), []);
    for (const n of walkTree(tree)) assert.deepEqual(n.handoffs, [], 'no handoffs here');
  });

  test('siblings come in delegation order (s.2 before s.10), not string order, whatever the input order', () => {
    const s = scope('s');
    const kids = [10, 2, 1, 11, 3].map((n) => child(`s.${n}`, s)); // all started at the same instant
    const tree = buildScopeTree('s', [...kids, s]);
    assert.deepEqual(ids(tree.roots[0]!.children), ['s.1', 's.2', 's.3', 's.10', 's.11']);
  });

  test('a handoff attaches under `handoffs` of the scope it took over from, not as a child and not as a root', () => {
    const s = scope('s', { startedAt: at(0) });
    const s1 = child('s.1', s, { startedAt: at(1) });
    const h = handoff('s~1', s, { startedAt: at(5) });
    const tree = buildScopeTree('s', [h, s1, s]);
    assert.deepEqual(ids(tree.roots), ['s']);
    const root = tree.roots[0]!;
    assert.deepEqual(ids(root.handoffs), ['s~1']);
    assert.deepEqual(ids(root.children), ['s.1'], 'the handoff is not counted as a delegation');
    assert.equal(tree.size, 3);
  });

  test('a chain of handoffs nests origin by origin, and each handoff scope keeps its own delegations', () => {
    const s = scope('s', { startedAt: at(0) });
    const h1 = handoff('s~1', s, { startedAt: at(1) });
    const h1c = child('s~1.1', h1, { startedAt: at(2) });
    const h2 = handoff('s~2', h1, { startedAt: at(3) });
    const tree = buildScopeTree('s', [h2, h1c, h1, s]);
    assert.deepEqual(ids(tree.roots), ['s']);
    assert.deepEqual(ids(tree.roots[0]!.handoffs), ['s~1']);
    assert.deepEqual(ids(find(tree, 's~1').handoffs), ['s~2']);
    assert.deepEqual(ids(find(tree, 's~1').children), ['s~1.1']);
  });

  test('a delegated scope that hands off keeps its handoff beside it, under the same delegator, before the next delegation', () => {
    const s = scope('s', { startedAt: at(0) });
    const s1 = child('s.1', s, { startedAt: at(1) });
    const s1h = handoff('s.1~1', s1, { startedAt: at(2) });
    const s1h2 = handoff('s.1~2', s1h, { startedAt: at(3) });
    const s2 = child('s.2', s, { startedAt: at(1) });
    const tree = buildScopeTree('s', [s2, s1h2, s, s1, s1h]);
    assert.deepEqual(ids(tree.roots), ['s']);
    assert.deepEqual(ids(tree.roots[0]!.children), ['s.1', 's.1~1', 's.1~2', 's.2']);
    assert.deepEqual(ids(find(tree, 's.1').handoffs), [], 'the scope that handed off does not own its successor');
    assert.equal(s1h2.path, '/s/s.1~2/');
    const text = renderTree(tree);
    assert.match(text, /├─⇢ \[s\.1~1\] \S+ · handoff from s\.1 ·/);
    assert.match(text, /├─⇢ \[s\.1~2\] \S+ · handoff from s\.1~1 ·/);
    assert.match(text, /└─\[s\.2\]/);
  });

  test('a scope whose parent is missing from the rows becomes a root rather than disappearing, and keeps its own subtree', () => {
    const s = scope('s', { startedAt: at(0) });
    const orphan = scope('s.1.1', { parentScopeId: 's.1', path: '/s/s.1/s.1.1/', depth: 2, startedAt: at(2) });
    const grandchild = child('s.1.1.1', orphan, { startedAt: at(3) });
    const tree = buildScopeTree('s', [grandchild, orphan, s]);
    assert.deepEqual(ids(tree.roots), ['s', 's.1.1'], 'roots in start order');
    assert.deepEqual(ids(find(tree, 's.1.1').children), ['s.1.1.1']);
    assert.equal(tree.size, 3);
    assert.deepEqual(walked(tree).sort(), ['s', 's.1.1', 's.1.1.1'], 'every row is reachable');
  });

  test('a handoff whose origin is missing becomes a root', () => {
    const h = scope('s~1', { kind: 'handoff', handoffFromScopeId: 's', path: '/s~1/' });
    const tree = buildScopeTree('s', [h]);
    assert.deepEqual(ids(tree.roots), ['s~1']);
  });

  test('several roots are ordered by start time, then id', () => {
    const tree = buildScopeTree('s', [
      scope('c', { startedAt: at(1) }),
      scope('b', { startedAt: at(2) }),
      scope('a', { startedAt: at(1) }),
    ]);
    assert.deepEqual(ids(tree.roots), ['a', 'c', 'b']);
  });
});

describe('walkTree', () => {
  test('walks depth first: a scope, then its delegations (each with its subtree), then its handoffs', () => {
    const s = scope('s', { startedAt: at(0) });
    const s2 = child('s.2', s, { startedAt: at(2) });
    const s21 = child('s.2.1', s2, { startedAt: at(3) });
    const s10 = child('s.10', s, { startedAt: at(1) });
    const s2h = handoff('s.2~1', s2, { startedAt: at(4) });
    const h = handoff('s~1', s, { startedAt: at(5) });
    const hc = child('s~1.1', h, { startedAt: at(6) });
    const tree = buildScopeTree('s', [h, s10, s, s2, hc, s21, s2h]);
    assert.deepEqual(walked(tree), ['s', 's.2', 's.2.1', 's.2~1', 's.10', 's~1', 's~1.1']);
  });

  test('visits every scope exactly once and several roots in order', () => {
    const a = scope('a', { startedAt: at(0) });
    const b = scope('b', { startedAt: at(1) });
    const rows = [a, b, child('a.1', a), child('a.2', a), child('b.1', b), handoff('b~1', b, { startedAt: at(3) })];
    const tree = buildScopeTree('x', rows);
    const seen = walked(tree);
    assert.deepEqual(seen, ['a', 'a.1', 'a.2', 'b', 'b.1', 'b~1']);
    assert.equal(seen.length, tree.size);
    assert.equal(new Set(seen).size, seen.length);
  });

  test('walking twice gives the same order and does not change the tree', () => {
    const s = scope('s');
    const tree = buildScopeTree('s', [s, child('s.1', s), child('s.2', s)]);
    assert.deepEqual(walked(tree), walked(tree));
    assert.deepEqual(ids(tree.roots[0]!.children), ['s.1', 's.2']);
  });
});

describe('naturalCompare', () => {
  test('compares numbers as numbers and text as text', () => {
    assert.ok(naturalCompare('s.2', 's.10') < 0);
    assert.ok(naturalCompare('s.10', 's.2') > 0);
    assert.ok(naturalCompare('s.1.9', 's.1.10') < 0);
    assert.ok(naturalCompare('s.1', 's.1.1') < 0, 'a prefix sorts first');
    assert.ok(naturalCompare('a', 'b') < 0);
    assert.equal(naturalCompare('s.1', 's.1'), 0);
  });
});

describe('renderTree', () => {
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
});

describe('links changed outside scopetrail', () => {
  const t = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  const ids = (tree: ReturnType<typeof buildScopeTree>) => [...walkTree(tree)].map((n) => n.scope.scopeId);

  test('a cycle of parent links is cut at its earliest scope: every scope is shown once, and the cut one says why', () => {
    const root = scope('s', { startedAt: t(0) });
    const a = scope('s.1', { parentScopeId: 's.1.1', startedAt: t(1) });
    const b = scope('s.1.1', { parentScopeId: 's.1', startedAt: t(2) });
    const self = scope('s.2', { parentScopeId: 's.2', startedAt: t(3) });
    const tree = buildScopeTree('s', [root, a, b, self]);
    assert.deepEqual(tree.roots.map((n) => n.scope.scopeId), ['s', 's.1', 's.2']);
    assert.deepEqual(ids(tree).sort(), ['s', 's.1', 's.1.1', 's.2']);
    const out = renderTree(tree);
    assert.match(out, /s\.1\].* — shown as a root: its link to s\.1\.1 makes a cycle \(run scopetrail verify\)/);
    assert.match(out, /s\.2\].* — shown as a root: its link to s\.2 makes a cycle/);
    assert.doesNotMatch(out.split('\n').find((l) => l.includes('[s]'))!, /shown as a root/, 'the real root is not marked');
  });

  test('a root moved under its own descendant, and a handoff origin in a cycle, still show every scope', () => {
    const root = scope('s', { parentScopeId: 's.1', startedAt: t(0) });
    const kid = scope('s.1', { parentScopeId: 's', startedAt: t(1) });
    const peer = scope('s~1', { kind: 'handoff', handoffFromScopeId: 's~2', startedAt: t(2) });
    const peer2 = scope('s~2', { kind: 'handoff', handoffFromScopeId: 's~1', startedAt: t(3) });
    const tree = buildScopeTree('s', [root, kid, peer, peer2]);
    assert.deepEqual(ids(tree).sort(), ['s', 's.1', 's~1', 's~2']);
    assert.equal(tree.roots[0]!.scope.scopeId, 's');
  });

  test('a chain 50 000 delegations deep renders without overflowing the stack', () => {
    const chain = [scope('s', { startedAt: t(0) })];
    for (let i = 1; i < 50_000; i++) chain.push(scope(`s.${i}`, { parentScopeId: chain[i - 1]!.scopeId, startedAt: t(0) }));
    const out = renderTree(buildScopeTree('s', chain));
    const lines = out.split('\n');
    assert.equal(lines.length, 50_001);
    assert.ok(out.length < 50_001 * 300, 'each line stays short: past 40 levels the indent stops growing');
    assert.match(lines.at(-1)!, /\[level 49999\] \[s\.49999\]/);
  });
});
