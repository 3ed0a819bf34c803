/**
 * A session's scopes as a graph: delegation edges solid and pointing down, handoff
 * edges dashed and sideways, each labelled; nodes coloured by rolled-up status.
 */
import type { ScopeNodeJson } from '../../client/ui-api-types';
import { edgeLabelWidth, graphMinWidth, layoutScopeTree, NODE_H, NODE_W } from './graph-layout';
import { duration, scopeSuffix, truncate, visible } from './format';
import { useMemo } from 'react';
import { ArrowMarkers } from './ArrowMarkers';

interface Props {
  sessionId: string;
  roots: ScopeNodeJson[];
  selected: string | null;
  onSelect(scopeId: string): void;
}

export function ScopeGraph({ sessionId, roots, selected, onSelect }: Props) {
  const layout = useMemo(() => layoutScopeTree(roots), [roots]);
  return (
    <div className="graph-wrap" data-testid="graph-wrap">
      <svg
        className="graph"
        data-testid="scope-graph"
        // Shrinks to fit the card down to a readable size; past it the card scrolls sideways.
        style={{ minWidth: graphMinWidth(layout.width) }}
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        role="group"
        aria-label="scope tree"
      >
        <defs>
          <clipPath id="node-clip">
            <rect width={NODE_W} height={NODE_H} rx={9} />
          </clipPath>
          <ArrowMarkers prefix="" />
        </defs>
        {layout.edges.map((e) => (
          <g key={`${e.kind}:${e.from}:${e.to}`} data-testid="scope-edge" data-kind={e.kind} data-from={e.from} data-to={e.to}>
            <path d={e.d} className={`edge edge-${e.kind}`} markerEnd={`url(#arrow-${e.kind})`} />
          </g>
        ))}
        {layout.nodes.map(({ scope, x, y }) => {
          const isSelected = scope.scopeId === selected;
          const label = `${visible(scope.agent)}@${visible(scope.agentVersion)}, ${scope.kind} scope ${scope.scopeId}, ${scope.status}${scope.recovered ? ', recovered' : ''}`;
          return (
            <g
              key={scope.scopeId}
              className={`node status-${scope.status}${isSelected ? ' selected' : ''}`}
              transform={`translate(${x} ${y})`}
              data-testid="scope-node"
              data-scope-id={scope.scopeId}
              data-status={scope.status}
              data-recovered={scope.recovered ? 'true' : 'false'}
              role="button"
              tabIndex={0}
              aria-pressed={isSelected}
              aria-label={label}
              onClick={() => onSelect(scope.scopeId)}
              onKeyDown={(ev) => {
                if (ev.key === 'Enter' || ev.key === ' ') {
                  ev.preventDefault();
                  onSelect(scope.scopeId);
                }
              }}
            >
              <title>{`${label}\n${visible(scope.objective ?? '')}`}</title>
              <rect className="node-box" width={NODE_W} height={NODE_H} rx={9} />
              <rect className="node-stripe" width={6} height={NODE_H} clipPath="url(#node-clip)" />
              <text x={16} y={21} className="node-title">
                {truncate(`${visible(scope.agent)}@${visible(scope.agentVersion)}`, 22)}
              </text>
              <text x={16} y={38} className="node-id">
                {scope.scopeId === sessionId ? 'root scope' : truncate(`${scope.kind} · ${scopeSuffix(scope.scopeId, sessionId)}`, 26)}
              </text>
              <text x={16} y={55} className="node-status">
                {scope.status}
                <tspan className="node-duration"> · {duration(scope.startedAt, scope.endedAt)}</tspan>
              </text>
              {scope.recovered && (
                <g transform={`translate(${NODE_W - 14} 14)`} className="node-recovered" data-testid="recovered-marker">
                  <circle r={9} />
                  <text textAnchor="middle" dy="0.35em">
                    ↻
                  </text>
                </g>
              )}
            </g>
          );
        })}
        {/* Over the nodes, so that no box hides a label. */}
        {layout.edges.map((e) => (
          <EdgeLabel key={`label:${e.kind}:${e.from}:${e.to}`} x={e.labelX} y={e.labelY} text={EDGE_TEXT[e.kind]} kind={e.kind} from={e.from} to={e.to} />
        ))}
      </svg>
    </div>
  );
}

const EDGE_TEXT = { handoff: 'handoff', delegation: 'delegates' } as const;

function EdgeLabel({ x, y, text, kind, from, to }: { x: number; y: number; text: string; kind: string; from: string; to: string }) {
  const w = edgeLabelWidth(text);
  return (
    <g transform={`translate(${x} ${y})`} className={`edge-label edge-label-${kind}`} data-testid="edge-label" data-kind={kind} data-from={from} data-to={to}>
      <rect x={-w / 2} y={-8} width={w} height={16} rx={8} />
      <text textAnchor="middle" dy="0.35em">
        {text}
      </text>
    </g>
  );
}

export function GraphLegend() {
  return (
    <div className="legend" data-testid="graph-legend">
      <span className="legend-item">
        <svg width="34" height="10" aria-hidden="true">
          <line x1="0" y1="5" x2="34" y2="5" className="edge edge-delegation" />
        </svg>
        delegation
      </span>
      <span className="legend-item">
        <svg width="34" height="10" aria-hidden="true">
          <line x1="0" y1="5" x2="34" y2="5" className="edge edge-handoff" />
        </svg>
        handoff
      </span>
      {(['success', 'degraded', 'error', 'running', 'cancelled'] as const).map((s) => (
        <span key={s} className="legend-item">
          <span className={`swatch status-${s}`} data-testid={`swatch-${s}`} /> {s}
        </span>
      ))}
      <span className="legend-item">
        <span className="recovered-dot">↻</span> recovered
      </span>
    </div>
  );
}
