/**
 * Hash routes: the server serves one page, the view and all of its state (filters,
 * selection, zoom) are in the part after #, so every view can be linked to and
 * reloaded as it was. Parameters left at their defaults are left out of links.
 */
export const STATUSES = ['success', 'degraded', 'error', 'running', 'cancelled'] as const;
export type StatusFilter = (typeof STATUSES)[number];
export const MODES = ['read', 'write', 'share'] as const;
export type Mode = (typeof MODES)[number];
export const ZOOMS = [1, 2, 4, 8, 16, 32] as const;

/** A relative window (15m, 1h, 24h, 7d) or an ISO time. */
export type Since = string;

export type Route =
  /** `after`: a page of older sessions, those after this cursor (the `next` of the page before). */
  | { view: 'sessions'; status: StatusFilter | null; agent: string | null; since: Since | null; after: string | null }
  | { view: 'session'; sessionId: string; scopeId: string | null; descendants: boolean }
  | { view: 'timeline'; sessionId: string; zoom: number }
  | { view: 'resources'; glob: string; modes: Mode[]; from: string | null; to: string | null }
  | { view: 'health' };

export const SESSIONS: Route = { view: 'sessions', status: null, agent: null, since: null, after: null };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const parts = (q < 0 ? raw : raw.slice(0, q)).split('/').map(safeDecode);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const get = (name: string) => params.get(name) || null;
  if (parts[0] === 'sessions' && parts[1]) {
    if (parts[2] === 'timeline') {
      const zoom = Number(get('zoom'));
      return { view: 'timeline', sessionId: parts[1], zoom: (ZOOMS as readonly number[]).includes(zoom) ? zoom : 1 };
    }
    return {
      view: 'session',
      sessionId: parts[1],
      scopeId: parts[2] === 'scopes' && parts[3] ? parts[3] : null,
      descendants: get('descendants') === '1',
    };
  }
  if (parts[0] === 'resources') {
    const modes = (get('mode') ?? '').split(',').filter((m): m is Mode => (MODES as readonly string[]).includes(m));
    return { view: 'resources', glob: get('glob') ?? '', modes, from: get('from'), to: get('to') };
  }
  if (parts[0] === 'health') return { view: 'health' };
  const status = get('status');
  return {
    view: 'sessions',
    status: status && (STATUSES as readonly string[]).includes(status) ? (status as StatusFilter) : null,
    agent: get('agent'),
    since: get('since'),
    after: get('after'),
  };
}

export function href(route: Route): string {
  switch (route.view) {
    case 'sessions':
      return `#/${query({ status: route.status, agent: route.agent, since: route.since, after: route.after })}`;
    case 'health':
      return '#/health';
    case 'session':
      return (
        `#/sessions/${encodeURIComponent(route.sessionId)}${route.scopeId ? `/scopes/${encodeURIComponent(route.scopeId)}` : ''}` +
        query({ descendants: route.descendants ? '1' : null })
      );
    case 'timeline':
      return `#/sessions/${encodeURIComponent(route.sessionId)}/timeline${query({ zoom: route.zoom === 1 ? null : String(route.zoom) })}`;
    case 'resources':
      return `#/resources${query({ glob: route.glob || null, mode: route.modes.length ? route.modes.join(',') : null, from: route.from, to: route.to })}`;
  }
}

function query(params: Record<string, string | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

const RELATIVE = /^(\d{1,4})(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The ISO time a `since` filter stands for at `now`, or null when it is neither relative nor a time. */
export function sinceTime(since: Since, now: number): string | null {
  const rel = RELATIVE.exec(since);
  if (rel) return new Date(now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]).toISOString();
  const t = Date.parse(since);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** A hand-typed hash may hold a stray %: keep it as typed rather than fail. */
function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
