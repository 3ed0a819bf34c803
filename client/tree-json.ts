/** The `tree --json` document (docs/cli-json.md), shared by `scopetrail tree` and `scopetrail run demo --json`. */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import { walkTree, type ScopeNode, type ScopeTree } from '../cim/scope-tree';

export type ScopeTreeJson = ScopeRecord & { actions: ActionRecord[]; children: ScopeTreeJson[]; handoffs: ScopeTreeJson[] };

export function treeJson(tree: ScopeTree, actions: readonly ActionRecord[]): { sessionId: string; scopes: number; roots: ScopeTreeJson[] } {
  const byScope = new Map<string, ActionRecord[]>();
  for (const a of actions) {
    const list = byScope.get(a.scopeId);
    if (list) list.push(a);
    else byScope.set(a.scopeId, [a]);
  }
  // Built without recursion: a chain of delegations or handoffs can be thousands of scopes deep.
  const made = new Map<ScopeNode, ScopeTreeJson>();
  const json = (n: ScopeNode): ScopeTreeJson => made.get(n)!;
  const nodes = [...walkTree(tree)];
  for (const n of nodes) made.set(n, { ...n.scope, actions: byScope.get(n.scope.scopeId) ?? [], children: [], handoffs: [] });
  for (const n of nodes) {
    json(n).children = n.children.map(json);
    json(n).handoffs = n.handoffs.map(json);
  }
  return { sessionId: tree.sessionId, scopes: tree.size, roots: tree.roots.map(json) };
}
