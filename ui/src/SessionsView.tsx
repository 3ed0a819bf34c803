/** Every recorded session, newest first, filtered by status, agent and start time; updates live. */
import { useEffect, useMemo, useState } from 'react';
import type { HealthResponse, SessionsResponse } from '../../client/ui-api-types';
import { useApi } from './api';
import { href, sinceTime, STATUSES, type Route } from './routes';
import { duration, when, visible } from './format';
import { LiveBadge, liveKey, useLive } from './live';
import { Message, StatusBadge } from './StatusBadge';

type SessionsRoute = Extract<Route, { view: 'sessions' }>;

const SINCE_PRESETS: Array<[string, string]> = [
  ['', 'any time'],
  ['15m', 'last 15 minutes'],
  ['1h', 'last hour'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
];

/** Sessions read at first, and added by each "show more". */
export const SESSIONS_PAGE = 200;
/** The API's most (client/limits.ts). */
const SESSIONS_MAX = 10_000;

export function SessionsView({ route }: { route: SessionsRoute }) {
  const live = useLive(null);
  // A new filter starts again from the newest sessions.
  const go = (change: Partial<SessionsRoute>) => (window.location.hash = href({ ...route, after: null, ...change }));
  // A relative window moves with time: recomputed whenever something changed.
  const since = useMemo(() => (route.since ? sinceTime(route.since, Date.now()) : null), [route.since, live.cursor]);
  const badSince = route.since !== null && since === null;
  // Older sessions are read by asking for more (newest first, so the first rows stay put); new filters start over.
  const filterKey = `${route.status}\u0000${route.agent}\u0000${route.since}\u0000${route.after}`;
  const [more, setMore] = useState({ filterKey, limit: SESSIONS_PAGE });
  const limit = more.filterKey === filterKey ? more.limit : SESSIONS_PAGE;
  // Another list (a filter, a page of older sessions) forgets what was shown more of: back on this one, it starts over too.
  useEffect(() => {
    if (more.filterKey !== filterKey) setMore({ filterKey, limit: SESSIONS_PAGE });
  }, [filterKey]);
  const setLimit = (n: number) => setMore({ filterKey, limit: n });
  const params = new URLSearchParams({ limit: String(limit) });
  if (route.status) params.set('status', route.status);
  if (route.agent) params.set('agent', route.agent);
  if (since) params.set('since', since);
  if (route.after) params.set('after', route.after);
  const { data, error, loading, reload } = useApi<SessionsResponse>(badSince ? null : `/api/sessions?${params}`, liveKey(live));
  const health = useApi<HealthResponse>('/api/health');
  const agents = useMemo(() => {
    const names = new Set((health.data?.agents ?? []).map((a) => a.agent));
    if (route.agent) names.add(route.agent);
    return [...names].sort();
  }, [health.data, route.agent]);
  const presets = route.since && !SINCE_PRESETS.some(([v]) => v === route.since) ? [...SINCE_PRESETS, [route.since, `since ${route.since}`] as [string, string]] : SINCE_PRESETS;
  const filtered = route.status || route.agent || route.since;

  return (
    <section className="page">
      <div className="page-head">
        <h1>
          Sessions <LiveBadge live={live} />
        </h1>
        <div className="toolbar">
          <label>
            Status{' '}
            <select value={route.status ?? ''} onChange={(e) => go({ status: (e.target.value || null) as SessionsRoute['status'] })} data-testid="status-filter">
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Agent{' '}
            <select value={route.agent ?? ''} onChange={(e) => go({ agent: e.target.value || null })} data-testid="agent-filter">
              <option value="">any</option>
              {agents.map((a) => (
                <option key={a} value={a}>
                  {visible(a)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Started{' '}
            <select value={route.since ?? ''} onChange={(e) => go({ since: e.target.value || null })} data-testid="since-filter">
              {presets.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={reload} disabled={loading}>
            {loading ? 'Loading…' : 'Refresh'}
          </button>
        </div>
      </div>
      {badSince && <Message kind="error">The "since" filter "{route.since}" is neither a time (ISO 8601) nor a window like 15m, 1h, 24h or 7d.</Message>}
      {error && <Message kind="error">Could not list sessions: {error.message}</Message>}
      {route.after && (
        <div className="more" data-testid="older-page">
          <span className="muted">Older sessions: those that started before the last one of the page before.</span>{' '}
          <a href={href({ ...route, after: null })} data-testid="newest-sessions">
            ← Newest sessions
          </a>
        </div>
      )}
      {data && data.sessions.length === 0 && <Message kind="info">No {route.after ? 'older ' : ''}sessions recorded{filtered ? ' that match these filters' : ''}{route.after ? '' : ' yet'}.</Message>}
      {data && data.sessions.length > 0 && (
        <div className="card">
          <table className="table" data-testid="sessions-table" data-filter={params.toString()} data-truncated={String(data.truncated)}>
            <thead>
              <tr>
                <th>Session</th>
                <th>Status</th>
                <th>Root → final agent</th>
                <th className="num">Scopes</th>
                <th className="num">Actions</th>
                <th className="num">Failed actions</th>
                <th>Started</th>
                <th className="num">Duration</th>
              </tr>
            </thead>
            <tbody>
              {data.sessions.map((s) => (
                <tr key={s.sessionId} data-testid="session-row" data-session-id={s.sessionId} data-status={s.status} className="clickable"
                  onClick={() => (window.location.hash = href({ view: 'session', sessionId: s.sessionId, scopeId: null, descendants: false }))}>
                  <td>
                    <a className="mono" href={href({ view: 'session', sessionId: s.sessionId, scopeId: null, descendants: false })}>
                      {s.sessionId}
                    </a>
                  </td>
                  <td>
                    <StatusBadge status={s.status} />
                  </td>
                  <td>
                    {visible(s.rootAgent)}
                    {s.finalAgent !== s.rootAgent && <span className="muted"> ⇢ {visible(s.finalAgent)}</span>}
                  </td>
                  <td className="num">{s.scopes}</td>
                  <td className="num">{s.actions}</td>
                  <td className={`num ${s.failedActions ? 'bad' : ''}`}>{s.failedActions}</td>
                  <td>{when(s.startedAt)}</td>
                  <td className="num">{duration(s.startedAt, s.endedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.truncated && (
            <div className="more" data-testid="sessions-more">
              <span className="muted">
                The {route.after ? '' : 'newest '}{data.sessions.length} session{data.sessions.length === 1 ? '' : 's'} {data.sessions.length === 1 ? 'is' : 'are'} shown; older ones
                {filtered ? ' that match these filters' : ''} are not.
              </span>{' '}
              {data.limit < SESSIONS_MAX ? (
                <button type="button" onClick={() => setLimit(Math.min(SESSIONS_MAX, data.limit + SESSIONS_PAGE))} disabled={loading} data-testid="show-more">
                  {loading ? 'Loading…' : `Show ${Math.min(SESSIONS_PAGE, SESSIONS_MAX - data.limit)} more`}
                </button>
              ) : data.next ? (
                // A list this long is read a page at a time from here: the cursor keeps its place however many there are.
                <a href={href({ ...route, after: data.next })} data-testid="older-sessions">
                  Older sessions →
                </a>
              ) : (
                <span className="muted">Narrow the list with the filters above to see older ones.</span>
              )}
            </div>
          )}
        </div>
      )}
    </section>
  );
}

