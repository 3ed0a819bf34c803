/**
 * A session as a waterfall, computed without the DOM: one lane per scope (in tree
 * order: a scope, its delegations, then the scopes it handed off to), each call as a
 * bar spanning all of its attempts, and an arrow for every delegation and handoff.
 * Parallel calls in one scope stack in rows of their lane so no bar hides another.
 */
import type { ActionRecord, ScopeNodeJson, ScopeRecord } from '../../client/ui-api-types';

export const LANE_ROW_H = 22;
export const LANE_PAD = 6;
export const LABEL_W = 230;

export interface Attempt {
  action: ActionRecord;
  x: number;
  width: number;
}

export interface Bar {
  /** The first attempt's id: stable while retries are added. */
  id: string;
  scopeId: string;
  kind: ActionRecord['kind'];
  name: string;
  /** The last attempt's status: a retried call that succeeded is a success. */
  status: ActionRecord['status'];
  attempts: Attempt[];
  /** Attempts that failed before the last one. */
  retries: number;
  running: boolean;
  x: number;
  width: number;
  row: number;
  y: number;
}

export interface Lane {
  scope: ScopeRecord;
  y: number;
  height: number;
  /** The scope's own span: from its start to its end (or now, while it runs). */
  x: number;
  width: number;
  running: boolean;
}

export interface Arrow {
  kind: 'delegation' | 'handoff';
  from: string;
  to: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface Waterfall {
  lanes: Lane[];
  bars: Bar[];
  arrows: Arrow[];
  start: number;
  end: number;
  /** Pixels per millisecond at this zoom. */
  scale: number;
  width: number;
  height: number;
  ticks: Array<{ x: number; ms: number }>;
}

/** Smallest width a bar is drawn with, so an instant is still visible and clickable. */
const MIN_BAR_W = 3;

export function laneOrder(roots: readonly ScopeNodeJson[], out: ScopeRecord[] = []): ScopeRecord[] {
  for (const n of roots) {
    out.push(n.scope);
    laneOrder(n.children, out);
    laneOrder(n.handoffs, out);
  }
  return out;
}

/** Attempts of one call: an activity's attempts share its id within a scope; other actions stand alone. */
export function groupCalls(actions: readonly ActionRecord[]): ActionRecord[][] {
  const groups = new Map<string, ActionRecord[]>();
  for (const a of actions) {
    const key = a.activityId !== null && (a.kind === 'tool_call' || a.kind === 'llm_call') ? `${a.scopeId}\u0000call:${a.activityId}` : `action:${a.actionId}`;
    const g = groups.get(key);
    if (g) g.push(a);
    else groups.set(key, [a]);
  }
  return [...groups.values()].map((g) => g.sort((x, y) => x.attempt - y.attempt || Date.parse(x.startedAt) - Date.parse(y.startedAt)));
}

export function layoutWaterfall(
  roots: readonly ScopeNodeJson[],
  actions: readonly ActionRecord[],
  options: { now: string; zoom: number; baseWidth: number },
): Waterfall {
  const scopes = laneOrder(roots);
  const now = Date.parse(options.now);
  const endOf = (startedAt: string, endedAt: string | null) => (endedAt === null ? Math.max(now, Date.parse(startedAt)) : Date.parse(endedAt));
  const times = [...scopes.map((s) => Date.parse(s.startedAt)), ...actions.map((a) => Date.parse(a.startedAt))];
  const ends = [...scopes.map((s) => endOf(s.startedAt, s.endedAt)), ...actions.map((a) => endOf(a.startedAt, a.endedAt))];
  const start = times.length ? times.reduce((a, b) => Math.min(a, b)) : now;
  const end = Math.max(start + 1, ...ends);
  const scale = (options.baseWidth / (end - start)) * options.zoom;
  const xOf = (t: number) => LABEL_W + (t - start) * scale;

  const byScope = new Map<string, ActionRecord[][]>();
  for (const g of groupCalls(actions)) {
    const list = byScope.get(g[0]!.scopeId) ?? [];
    list.push(g);
    byScope.set(g[0]!.scopeId, list);
  }

  const lanes: Lane[] = [];
  const bars: Bar[] = [];
  let y = 0;
  for (const scope of scopes) {
    const calls = (byScope.get(scope.scopeId) ?? []).sort((a, b) => Date.parse(a[0]!.startedAt) - Date.parse(b[0]!.startedAt));
    // Greedy rows: a call goes to the first row whose last bar ended before it starts.
    const rowEnds: number[] = [];
    const laneBars: Bar[] = [];
    for (const attempts of calls) {
      const first = attempts[0]!;
      const last = attempts.at(-1)!;
      const x = xOf(Date.parse(first.startedAt));
      const right = attempts.reduce((r, a) => Math.max(r, xOf(endOf(a.startedAt, a.endedAt))), -Infinity);
      const width = Math.max(MIN_BAR_W, right - x);
      let row = rowEnds.findIndex((e) => e <= x);
      if (row < 0) row = rowEnds.push(0) - 1;
      rowEnds[row] = x + width + 1;
      laneBars.push({
        id: first.actionId,
        scopeId: scope.scopeId,
        kind: first.kind,
        name: first.name,
        status: last.status,
        attempts: attempts.map((a) => {
          const ax = xOf(Date.parse(a.startedAt));
          return { action: a, x: ax, width: Math.max(MIN_BAR_W, xOf(endOf(a.startedAt, a.endedAt)) - ax) };
        }),
        retries: attempts.length - 1,
        running: attempts.some((a) => a.status === 'running'),
        x,
        width,
        row,
        y: y + LANE_PAD + row * LANE_ROW_H,
      });
    }
    const height = LANE_PAD * 2 + Math.max(1, rowEnds.length) * LANE_ROW_H;
    const sx = xOf(Date.parse(scope.startedAt));
    lanes.push({ scope, y, height, x: sx, width: Math.max(MIN_BAR_W, xOf(endOf(scope.startedAt, scope.endedAt)) - sx), running: scope.status === 'running' });
    bars.push(...laneBars);
    y += height;
  }

  const laneOf = new Map(lanes.map((l) => [l.scope.scopeId, l]));
  const arrows: Arrow[] = [];
  for (const lane of lanes) {
    const s = lane.scope;
    const kind = s.kind === 'handoff' ? 'handoff' : s.kind === 'delegation' ? 'delegation' : null;
    const fromId = kind === 'handoff' ? s.handoffFromScopeId : kind === 'delegation' ? s.parentScopeId : null;
    const from = fromId === null ? undefined : laneOf.get(fromId);
    if (!kind || !from) continue;
    // Leave from the action that made the scope when it is recorded, else from the scope's own start.
    const maker = bars.find((b) => b.attempts.some((a) => a.action.targetScopeId === s.scopeId));
    const x1 = maker ? maker.x : kind === 'handoff' ? from.x + from.width : lane.x;
    const y1 = maker ? maker.y + LANE_ROW_H / 2 : from.y + from.height / 2;
    arrows.push({ kind, from: from.scope.scopeId, to: s.scopeId, x1, y1, x2: lane.x, y2: lane.y + LANE_PAD + LANE_ROW_H / 2 });
  }

  const width = LABEL_W + options.baseWidth * options.zoom + 40;
  return { lanes, bars, arrows, start, end, scale, width, height: y, ticks: ticks(start, end, scale, options.baseWidth * options.zoom) };
}

const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000];

/** Time marks about every 110 pixels, at a round step. */
function ticks(start: number, end: number, scale: number, span: number): Array<{ x: number; ms: number }> {
  const step = STEPS.find((s) => s * scale >= 110) ?? STEPS.at(-1)!;
  const out: Array<{ x: number; ms: number }> = [];
  for (let ms = 0; ms * scale <= span && start + ms <= end + step; ms += step) out.push({ x: LABEL_W + ms * scale, ms });
  return out;
}
