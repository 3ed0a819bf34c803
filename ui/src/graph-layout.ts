/**
 * Places a session's scope tree on a grid for the graph view. Pure: the same tree
 * always gives the same picture.
 *
 * Delegations hang below their delegator, which is centred over them. A handoff
 * target sits on the same row as the scope that handed off, to the right of that
 * scope's whole delegation subtree, so a handoff edge runs sideways and never
 * crosses a delegation edge: control passed laterally, nobody was delegated to.
 * Inside a delegation the target is one of the delegator's children (it finishes the
 * delegated work), placed right after the scope it took over from, so it hangs under
 * the delegator while its edge still comes sideways from that scope.
 */
import type { ScopeNodeJson, ScopeRecord } from '../../client/ui-api-types';

export const NODE_W = 188;
export const NODE_H = 66;
/** Wide enough for an edge's label between two neighbours ("handoff" runs sideways between them). */
const GAP_X = 68;

/** The width an edge label takes (its pill), as the graph draws it. */
export function edgeLabelWidth(text: string): number {
  return text.length * 6.4 + 12;
}
const GAP_Y = 58;

/**
 * How far a wide graph may shrink to fit the page: below this its node labels are too
 * small to read and its nodes to hit, so it scrolls sideways instead.
 */
export const MIN_GRAPH_SCALE = 0.7;

/** The narrowest the graph may be drawn (CSS pixels) for a layout `width` wide. */
export function graphMinWidth(width: number): number {
  return Math.round(width * MIN_GRAPH_SCALE);
}
const PAD = 24;

export interface PlacedScope {
  scope: ScopeRecord;
  x: number;
  y: number;
}

export interface PlacedEdge {
  kind: 'delegation' | 'handoff';
  from: string;
  to: string;
  /** SVG path data. */
  d: string;
  /** Where the edge's label goes. */
  labelX: number;
  labelY: number;
}

export interface GraphLayout {
  width: number;
  height: number;
  nodes: PlacedScope[];
  edges: PlacedEdge[];
}

export function layoutScopeTree(roots: readonly ScopeNodeJson[]): GraphLayout {
  const cells: Array<{ scope: ScopeRecord; col: number; row: number }> = [];
  const links: Array<{ kind: PlacedEdge['kind']; from: string; to: string }> = [];
  let nextCol = 0;

  const place = (node: ScopeNodeJson, row: number): number => {
    let col: number;
    if (node.children.length === 0) {
      col = nextCol++;
    } else {
      const cols = node.children.map((child) => place(child, row + 1));
      col = (cols[0]! + cols[cols.length - 1]!) / 2;
    }
    cells.push({ scope: node.scope, col, row });
    for (const child of node.children) {
      const from = child.scope.kind === 'handoff' ? child.scope.handoffFromScopeId : null;
      links.push(from ? { kind: 'handoff', from, to: child.scope.scopeId } : { kind: 'delegation', from: node.scope.scopeId, to: child.scope.scopeId });
    }
    for (const target of node.handoffs) {
      place(target, row);
      links.push({ kind: 'handoff', from: node.scope.scopeId, to: target.scope.scopeId });
    }
    return col;
  };
  for (const root of roots) place(root, 0);

  const cols = Math.max(1, nextCol);
  const rows = Math.max(1, ...cells.map((c) => c.row + 1));
  const nodes = cells.map((c) => ({ scope: c.scope, x: PAD + c.col * (NODE_W + GAP_X), y: PAD + c.row * (NODE_H + GAP_Y) }));
  const at = new Map(nodes.map((n) => [n.scope.scopeId, n]));
  const edges = links.flatMap((l) => {
    const a = at.get(l.from);
    const b = at.get(l.to);
    return a && b ? [edgePath(l.kind, l.from, l.to, a, b)] : [];
  });
  return {
    width: PAD * 2 + cols * NODE_W + (cols - 1) * GAP_X,
    height: PAD * 2 + rows * NODE_H + (rows - 1) * GAP_Y,
    nodes: nodes.sort((p, q) => p.scope.scopeId.localeCompare(q.scope.scopeId)),
    edges,
  };
}

function edgePath(kind: PlacedEdge['kind'], from: string, to: string, a: PlacedScope, b: PlacedScope): PlacedEdge {
  if (kind === 'handoff') {
    // Right side of the origin to the left side of the target, on their shared row.
    const y = a.y + NODE_H / 2;
    const x1 = a.x + NODE_W;
    const x2 = b.x;
    return { kind, from, to, d: `M ${x1} ${y} L ${x2 - 2} ${b.y + NODE_H / 2}`, labelX: (x1 + x2) / 2, labelY: y - 9 };
  }
  const x1 = a.x + NODE_W / 2;
  const y1 = a.y + NODE_H;
  const x2 = b.x + NODE_W / 2;
  const y2 = b.y - 2;
  const mid = (y1 + y2) / 2;
  return {
    kind,
    from,
    to,
    d: `M ${x1} ${y1} C ${x1} ${mid}, ${x2} ${mid}, ${x2} ${y2}`,
    labelX: (x1 + x2) / 2,
    labelY: mid,
  };
}
