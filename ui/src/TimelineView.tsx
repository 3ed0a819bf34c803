/**
 * A session as a waterfall: one lane per scope, each call a bar made of its attempts
 * (failed attempts in the error colour, retries counted), arrows for delegations
 * (solid) and handoffs (dashed), running scopes and calls marked and growing live.
 * The zoom is part of the URL.
 */
import { useMemo } from 'react';
import type { TimelineResponse } from '../../client/ui-api-types';
import { enc, useApi } from './api';
import { href, ZOOMS } from './routes';
import { clock, duration, scopeSuffix, truncate, visible, count } from './format';
import { LiveBadge, liveKey, useLive } from './live';
import { SessionTabs } from './SessionTabs';
import { Message, StatusBadge } from './StatusBadge';
import { LANE_ROW_H, layoutWaterfall, type Bar } from './waterfall';
import { ArrowMarkers } from './ArrowMarkers';

const BASE_WIDTH = 900;
const AXIS_H = 24;

export function TimelineView({ sessionId, zoom }: { sessionId: string; zoom: number }) {
  const live = useLive(sessionId);
  const { data, error } = useApi<TimelineResponse>(`/api/sessions/${enc(sessionId)}/timeline`, liveKey(live));
  const layout = useMemo(
    () => (data ? layoutWaterfall(data.tree.roots, data.actions, { now: data.now, zoom, baseWidth: BASE_WIDTH }) : null),
    [data, zoom],
  );
  const zoomTo = (z: number) => (window.location.hash = href({ view: 'timeline', sessionId, zoom: z }));
  const i = ZOOMS.indexOf(zoom as (typeof ZOOMS)[number]);

  return (
    <section className="page">
      <div className="crumbs">
        <a href="#/">Sessions</a> <span className="muted">/</span> <span className="mono">{sessionId}</span> <span className="muted">/ timeline</span>
      </div>
      <SessionTabs sessionId={sessionId} current="timeline">
        <LiveBadge live={live} />
      </SessionTabs>
      {error && <Message kind="error">Could not load session {sessionId}: {error.message}</Message>}
      {data && layout && (
        <div className="card">
          <div className="card-head">
            <h2>
              Timeline <StatusBadge status={data.summary.status} />{' '}
              <span className="muted small">
                {count(data.summary.scopes, 'scope')} · {count(data.summary.actions, 'action row')} · {duration(data.summary.startedAt, data.summary.endedAt)}
              </span>
            </h2>
            <div className="toolbar">
              <TimelineLegend />
              <span className="zoom">
                <button type="button" onClick={() => zoomTo(ZOOMS[i - 1]!)} disabled={i <= 0} data-testid="zoom-out" aria-label="zoom out">
                  −
                </button>
                <span data-testid="zoom-level">{zoom}×</span>
                <button type="button" onClick={() => zoomTo(ZOOMS[i + 1]!)} disabled={i >= ZOOMS.length - 1} data-testid="zoom-in" aria-label="zoom in">
                  +
                </button>
              </span>
            </div>
          </div>
          <div className="timeline-wrap">
            <svg className="timeline" data-testid="timeline" data-zoom={zoom} width={layout.width} height={layout.height + AXIS_H}
              viewBox={`0 0 ${layout.width} ${layout.height + AXIS_H}`} role="group" aria-label="session timeline">
              <defs>
                <ArrowMarkers prefix="tl-" />
                <pattern id="tl-running" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                  <rect width="8" height="8" className="hatch-bg" />
                  <rect width="3" height="8" className="hatch-fg" />
                </pattern>
              </defs>
              <g className="axis">
                {layout.ticks.map((t) => (
                  <g key={t.ms}>
                    <line x1={t.x} x2={t.x} y1={AXIS_H - 6} y2={layout.height + AXIS_H} className="tick" />
                    <text x={t.x + 3} y={AXIS_H - 9}>
                      +{tickLabel(t.ms)}
                    </text>
                  </g>
                ))}
              </g>
              <g transform={`translate(0 ${AXIS_H})`}>
                {layout.lanes.map((l, n) => (
                  <g key={l.scope.scopeId} data-testid="timeline-lane" data-scope-id={l.scope.scopeId} data-status={l.scope.status}
                    data-running={l.running ? 'true' : 'false'} className={`lane status-${l.scope.status}${l.running ? ' running' : ''}`}>
                    <rect x={0} y={l.y} width={layout.width} height={l.height} className={n % 2 ? 'lane-bg odd' : 'lane-bg'} />
                    <a href={href({ view: 'session', sessionId, scopeId: l.scope.scopeId, descendants: false })}>
                      <text x={8} y={l.y + 17} className="lane-label">
                        {'  '.repeat(Math.min(l.scope.depth, 6))}
                        {truncate(`${visible(l.scope.agent)}@${visible(l.scope.agentVersion)}`, 22)}
                        <tspan className="lane-kind"> {l.scope.kind === 'root' ? 'root' : scopeSuffix(l.scope.scopeId, sessionId)}</tspan>
                      </text>
                      <text x={8} y={l.y + 31} className={`lane-status status-text-${l.scope.status}`}>
                        {'  '.repeat(Math.min(l.scope.depth, 6))}
                        {l.running ? '● running' : l.scope.status}
                        {l.scope.recovered ? ' ↻' : ''}
                      </text>
                    </a>
                    <rect x={l.x} y={l.y + 2} width={l.width} height={l.height - 4} rx={4} className="scope-span" />
                  </g>
                ))}
                {layout.arrows.map((a) => (
                  <path key={`${a.kind}:${a.to}`} data-testid="timeline-arrow" data-kind={a.kind} data-from={a.from} data-to={a.to}
                    className={`edge edge-${a.kind}`} markerEnd={`url(#tl-arrow-${a.kind})`}
                    d={`M ${a.x1} ${a.y1} C ${a.x1} ${(a.y1 + a.y2) / 2}, ${Math.max(a.x1, a.x2 - 14)} ${a.y2}, ${a.x2} ${a.y2}`} />
                ))}
                {layout.bars.map((b) => (
                  <BarView key={b.id} bar={b} sessionId={sessionId} />
                ))}
              </g>
            </svg>
          </div>
        </div>
      )}
    </section>
  );
}

function BarView({ bar, sessionId }: { bar: Bar; sessionId: string }) {
  const label = `${visible(bar.name)}${bar.retries ? ` ↻${bar.retries}` : ''}`;
  const right = bar.x + bar.width;
  const title = bar.attempts
    .map(({ action: a }) => `${a.kind} ${visible(a.name)} attempt ${a.attempt}: ${a.status} at ${clock(a.startedAt)} UTC (${duration(a.startedAt, a.endedAt)})${a.error ? ` — ${visible(a.error)}` : ''}`)
    .join('\n');
  return (
    <g data-testid="timeline-bar" data-action-id={bar.id} data-scope-id={bar.scopeId} data-kind={bar.kind} data-name={bar.name} data-status={bar.status}
      data-attempts={bar.attempts.length} data-running={bar.running ? 'true' : 'false'} className={`bar kind-${bar.kind}${bar.running ? ' running' : ''}`}>
      <title>{`${scopeSuffix(bar.scopeId, sessionId)}\n${title}`}</title>
      {bar.attempts.map((a) => (
        <rect key={a.action.actionId} data-testid="timeline-attempt" data-attempt={a.action.attempt} data-status={a.action.status}
          x={a.x} y={bar.y + 3} width={a.width} height={LANE_ROW_H - 6} rx={3} className={`attempt status-${a.action.status}`}
          fill={a.action.status === 'running' ? 'url(#tl-running)' : undefined} />
      ))}
      <text x={right + 4} y={bar.y + LANE_ROW_H / 2 + 4} className="bar-label">
        {truncate(label, 28)}
      </text>
    </g>
  );
}

function TimelineLegend() {
  return (
    <span className="legend small">
      <span className="legend-item"><span className="chip status-success" /> attempt ok</span>
      <span className="legend-item"><span className="chip status-error" /> attempt failed</span>
      <span className="legend-item"><span className="chip chip-running" /> running</span>
      <span className="legend-item"><span className="line line-delegation" /> delegates</span>
      <span className="legend-item"><span className="line line-handoff" /> handoff</span>
    </span>
  );
}

function tickLabel(ms: number): string {
  if (ms === 0) return '0';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${ms / 1000} s`;
  return `${Math.floor(ms / 60_000)} min${ms % 60_000 ? ` ${(ms % 60_000) / 1000} s` : ''}`;
}

