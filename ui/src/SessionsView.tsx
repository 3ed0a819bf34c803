/** Every recorded session, newest first, with its rolled-up status. */
import { useState } from 'react';
import type { SessionsResponse } from '../../client/ui-api-types';
import { useApi } from './api';
import { href } from './routes';
import { duration, when } from './format';
import { Message, StatusBadge } from './StatusBadge';

const STATUSES = ['', 'success', 'degraded', 'error', 'running', 'cancelled'] as const;

export function SessionsView() {
  const [status, setStatus] = useState<(typeof STATUSES)[number]>('');
  const { data, error, loading, reload } = useApi<SessionsResponse>(`/api/sessions?limit=200${status ? `&status=${status}` : ''}`);
  return (
    <section className="page">
      <div className="page-head">
        <h1>Sessions</h1>
        <div className="toolbar">
          <label>
            Status{' '}
            <select value={status} onChange={(e) => setStatus(e.target.value as (typeof STATUSES)[number])} data-testid="status-filter">
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s || 'any'}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={reload} disabled={loading}>
            {loading ? 'Loading…' : 'Refresh'}
          </button>
        </div>
      </div>
      {error && <Message kind="error">Could not list sessions: {error.message}</Message>}
      {data && data.sessions.length === 0 && <Message kind="info">No sessions recorded{status ? ` with status ${status}` : ''} yet.</Message>}
      {data && data.sessions.length > 0 && (
        <div className="card">
          <table className="table" data-testid="sessions-table">
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
                <tr key={s.sessionId} data-testid="session-row" data-session-id={s.sessionId} className="clickable"
                  onClick={() => (window.location.hash = href({ view: 'session', sessionId: s.sessionId, scopeId: null }))}>
                  <td>
                    <a className="mono" href={href({ view: 'session', sessionId: s.sessionId, scopeId: null })}>
                      {s.sessionId}
                    </a>
                  </td>
                  <td>
                    <StatusBadge status={s.status} />
                  </td>
                  <td>
                    {s.rootAgent}
                    {s.finalAgent !== s.rootAgent && <span className="muted"> ⇢ {s.finalAgent}</span>}
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
        </div>
      )}
    </section>
  );
}
