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
  for (const node of nodes.values()) {
    const { parentScopeId, handoffFromScopeId } = node.scope;
    const parent = parentScopeId ? nodes.get(parentScopeId) : undefined;
    const from = handoffFromScopeId ? nodes.get(handoffFromScopeId) : undefined;
    if (parent) parent.children.push(node);
    else if (from) from.handoffs.push(node);
    else roots.push(node);
  }
  for (const node of nodes.values()) node.children.sort((a, b) => naturalCompare(a.scope.scopeId, b.scope.scopeId));
  return { sessionId, roots, size: nodes.size };
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
    stack.push(...[...node.handoffs].reverse(), ...[...node.children].reverse());
  }
}
