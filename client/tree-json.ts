/** The `tree --json` document (docs/cli-json.md), shared by `scopetrail tree` and `scopetrail run demo --json`. */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { ScopeNode, ScopeTree } from '../cim/scope-tree';

export type ScopeTreeJson = ScopeRecord & { actions: ActionRecord[]; children: ScopeTreeJson[]; handoffs: ScopeTreeJson[] };

export function treeJson(tree: ScopeTree, actions: readonly ActionRecord[]): { sessionId: string; scopes: number; roots: ScopeTreeJson[] } {
  const byScope = new Map<string, ActionRecord[]>();
  for (const a of actions) {
    const list = byScope.get(a.scopeId);
    if (list) list.push(a);
    else byScope.set(a.scopeId, [a]);
  }
  const node = (n: ScopeNode): ScopeTreeJson => ({
    ...n.scope,
    actions: byScope.get(n.scope.scopeId) ?? [],
    children: n.children.map(node),
    handoffs: n.handoffs.map(node),
  });
  return { sessionId: tree.sessionId, scopes: tree.size, roots: tree.roots.map(node) };
}
