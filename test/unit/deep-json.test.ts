/** JSON for stdout at any depth: the text JSON.stringify writes, without its recursion or its quadratic indent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INDENT_LEVELS, deeperThan, stringifyAnyDepth, stringifyDeep } from '../../client/deep-json';
import { terminalJson } from '../../client/visible-text';
import { treeJson } from '../../client/tree-json';
import { buildScopeTree } from '../../cim/scope-tree';
import type { ScopeRecord } from '../../cim/schemas';
import { action, scope } from './fixtures';

const t = (i: number) => new Date(Date.UTC(2026, 0, 1) + i).toISOString();

/** A chain `levels` scopes long: each delegated by the one before, or each the handoff of the one before. */
function chain(kind: 'delegation' | 'handoff', levels: number): ScopeRecord[] {
  const scopes = [scope('s', { startedAt: t(0) })];
  for (let i = 1; i < levels; i++) {
    const prev = scopes[i - 1]!.scopeId;
    scopes.push(
      kind === 'delegation'
        ? scope(`s.${i}`, { parentScopeId: prev, startedAt: t(i) })
        : scope(`s~${i}`, { kind: 'handoff', handoffFromScopeId: prev, delegatedBy: null, startedAt: t(i) }),
    );
  }
  return scopes;
}

test('the same text as JSON.stringify, at every indent, for the values JSON.stringify treats specially', () => {
  const odd = {
    a: undefined, b: [undefined, () => 1, Symbol('x'), NaN, -0, Infinity, null], c: new Date(0), d: {}, e: [], f: { g: undefined },
    h: 'é\u2028"\\\u0000', i: new Number(3), j: [[[]], [{}]], k: { toJSON: (key: string) => `key=${key}` }, l: new String('s'), m: new Boolean(false), 'n"': true,
  };
  for (const space of [0, 2, 4, 20]) {
    assert.equal(stringifyDeep(odd, space), JSON.stringify(odd, null, space), `space ${space}`);
    assert.equal(stringifyDeep([odd, [odd]], space), JSON.stringify([odd, [odd]], null, space));
  }
  for (const v of [undefined, () => 1, 'x', 1, null, [], {}]) assert.equal(stringifyDeep(v, 2), JSON.stringify(v, null, 2));
  const cycle: Record<string, unknown> = {};
  cycle.self = { back: cycle };
  assert.throws(() => stringifyDeep(cycle, 2), { name: 'TypeError', message: /circular/ });
  assert.throws(() => stringifyDeep({ n: 1n }, 2), { name: 'TypeError', message: /BigInt/ });
  const shared = { x: 1 };
  assert.equal(stringifyDeep({ a: shared, b: [shared] }), JSON.stringify({ a: shared, b: [shared] }), 'a value met twice, not inside itself, is no cycle');
});

test('an ordinary scope tree document is written exactly as before', () => {
  const root = scope('s', { startedAt: t(0) });
  const scopes = [root, scope('s.1', { parentScopeId: 's', startedAt: t(1) }), scope('s.1.1', { parentScopeId: 's.1', startedAt: t(2) }), scope('s~1', { kind: 'handoff', handoffFromScopeId: 's', delegatedBy: null, startedAt: t(3) })];
  const doc = treeJson(buildScopeTree('s', scopes), [action('s/w1', 's'), action('s.1.1/a1#1', 's.1.1')]);
  assert.equal(terminalJson(doc, 2), JSON.stringify(doc, null, 2));
  assert.equal(stringifyDeep(doc, 2, INDENT_LEVELS), JSON.stringify(doc, null, 2));
  assert.equal(doc.roots[0]!.children[0]!.children[0]!.actions[0]!.actionId, 's.1.1/a1#1');
  assert.equal(doc.roots[0]!.handoffs[0]!.scopeId, 's~1');
});

for (const kind of ['delegation', 'handoff'] as const) {
  test(`tree --json of a ${kind} chain 20 000 scopes deep: one JSON document, every scope in place, lines of bounded length`, () => {
    const scopes = chain(kind, 20_000);
    const tree = buildScopeTree('s', scopes);
    const text = terminalJson(treeJson(tree, scopes.map((s) => action(`${s.scopeId}/w1`, s.scopeId))), 2);
    let node = (JSON.parse(text) as { roots: any[] }).roots[0];
    for (let i = 0; i < 20_000; i++) {
      assert.equal(node.scopeId, i === 0 ? 's' : kind === 'delegation' ? `s.${i}` : `s~${i}`);
      assert.equal(node.actions[0].actionId, `${node.scopeId}/w1`);
      const next = kind === 'delegation' ? node.children : node.handoffs;
      assert.equal(next.length, i === 19_999 ? 0 : 1);
      node = next[0];
    }
    for (const line of text.split('\n')) assert.ok(line.length <= 2 * INDENT_LEVELS + 200, `a line of ${line.length} characters: the indent stops growing`);
  });
}

test('the depth probe: a value nested past the limit is found without recursion; a flat one is not', () => {
  let deep: unknown = {};
  for (let i = 0; i < 50_000; i++) deep = { next: [deep] };
  assert.equal(deeperThan(deep, INDENT_LEVELS), true);
  assert.equal(deeperThan({ rows: Array.from({ length: 1000 }, (_, i) => ({ i, tags: ['a'] })) }, INDENT_LEVELS), false);
  assert.equal(stringifyAnyDepth({ a: [1, { b: 2 }] }, 2), JSON.stringify({ a: [1, { b: 2 }] }, null, 2));
  assert.doesNotThrow(() => JSON.parse(stringifyAnyDepth(deep, 2)!));
});

test('a scope with 150 000 delegations: walked and written without spreading them into one call', () => {
  const scopes = [scope('s', { startedAt: t(0) })];
  for (let i = 1; i <= 150_000; i++) scopes.push(scope(`s.${i}`, { parentScopeId: 's', startedAt: t(i) }));
  const doc = JSON.parse(terminalJson(treeJson(buildScopeTree('s', scopes), []), 2)) as { scopes: number; roots: any[] };
  assert.equal(doc.scopes, 150_001);
  assert.equal(doc.roots[0].children.length, 150_000);
  assert.equal(doc.roots[0].children.at(-1).scopeId, 's.150000');
});
