/**
 * Builds a session's scope tree from its scope rows. Delegations nest under their
 * delegator. A handoff inside a delegation nests under the same delegator, beside the
 * scope it took over from (it finishes the delegated work, and its kind says how it
 * got there); a handoff at the top of a session has no parent, so it is attached to
 * the scope it took over from (`handoffs`), which keeps "who delegated" and "who
 * passed control sideways" apart.
 */
import type { ScopeRecord } from './schemas';

export interface ScopeNode {
  scope: ScopeRecord;
  /**
   * Scopes working for this one, in delegation order: its delegations, and the scopes
   * those handed off to (kind `handoff`, right after the scope they took over from).
   */
  children: ScopeNode[];
  /** Scopes this one handed control to at the top of the session, where no delegator owns them. */
  handoffs: ScopeNode[];
}

export interface ScopeTree {
  sessionId: string;
  /** Scopes with neither a parent nor a known handoff origin: the session's root, normally one. */
  roots: ScopeNode[];
  size: number;
}

export function buildScopeTree(sessionId: string, scopes: readonly ScopeRecord[]): ScopeTree {
  const nodes = new Map<string, ScopeNode>();
  const ordered = [...scopes].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.scopeId.localeCompare(b.scopeId));
  for (const scope of ordered) nodes.set(scope.scopeId, { scope, children: [], handoffs: [] });
  const roots: ScopeNode[] = [];
  // The list each node went into: a node is in exactly one, so the links form a forest or cycles.
  const heldIn = new Map<ScopeNode, ScopeNode[]>();
  for (const node of nodes.values()) {
    const { parentScopeId, handoffFromScopeId } = node.scope;
    const parent = parentScopeId ? nodes.get(parentScopeId) : undefined;
    const from = handoffFromScopeId ? nodes.get(handoffFromScopeId) : undefined;
    const list = parent ? parent.children : from ? from.handoffs : roots;
    list.push(node);
    heldIn.set(node, list);
  }
  // Rows changed outside scopetrail can link scopes in a cycle (a scope under its own
  // descendant, or its own parent), which leaves them under no root and out of every
  // rendering. Each cycle is cut at its earliest scope, which becomes a root: every scope
  // is shown once, and `verify` names the broken link.
  const reached = new Set<ScopeNode>();
  const reach = (from: ScopeNode) => {
    const stack = [from];
    while (stack.length) {
      const n = stack.pop()!;
      if (reached.has(n)) continue;
      reached.add(n);
      // Loops, not push(...): a scope with 200 000 delegations would overflow the call stack.
      for (const c of n.children) stack.push(c);
      for (const h of n.handoffs) stack.push(h);
    }
  };
  roots.forEach(reach);
  for (const node of nodes.values()) {
    if (reached.has(node)) continue;
    const list = heldIn.get(node)!;
    list.splice(list.indexOf(node), 1);
    roots.push(node);
    reach(node);
  }
  for (const node of nodes.values()) node.children.sort((a, b) => naturalCompare(a.scope.scopeId, b.scope.scopeId));
  return { sessionId, roots, size: nodes.size };
}

/** A root that is not one: its parent or handoff origin is not in the session, or was cut from a cycle. */
export function misplacedRoot(tree: ScopeTree, node: ScopeNode): string | undefined {
  const { parentScopeId, handoffFromScopeId } = node.scope;
  const link = parentScopeId ?? handoffFromScopeId;
  if (link === null) return undefined;
  const present = [...walkTree(tree)].some((n) => n.scope.scopeId === link);
  return present ? `its link to ${link} makes a cycle` : `${link}, which it names, is not in the session`;
}

const DIGIT_RUNS = /(\d+)/;

/** `s.2` before `s.10`: siblings appear in the order they were delegated. */
export function naturalCompare(a: string, b: string): number {
  return comparePieces(a.split(DIGIT_RUNS), b.split(DIGIT_RUNS));
}

/**
 * `values` sorted by naturalCompare, each split once instead of once per comparison (a
 * wide footprint entry lists hundreds of scopes). The comparator answers exactly as
 * naturalCompare does, so the order is the same.
 */
export function naturalSort(values: readonly string[]): string[] {
  const keyed = values.map((value) => ({ value, pieces: value.split(DIGIT_RUNS) }));
  keyed.sort((x, y) => comparePieces(x.pieces, y.pieces));
  return keyed.map((k) => k.value);
}

function comparePieces(pa: readonly string[], pb: readonly string[]): number {
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const nx = Number(x);
    const ny = Number(y);
    if (i % 2 === 1 && Number.isFinite(nx) && Number.isFinite(ny)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** Depth-first walk over delegations and handoffs. */
export function* walkTree(tree: ScopeTree): Generator<ScopeNode> {
  const stack = [...tree.roots].reverse();
  while (stack.length) {
    const node = stack.pop()!;
    yield node;
    for (let i = node.handoffs.length - 1; i >= 0; i--) stack.push(node.handoffs[i]!);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
}
