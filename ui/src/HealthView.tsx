/** Sub-agent health: per agent and version, how its scopes ended, its error rate and its drift from the manifest. */
import type { AgentHealth, HealthResponse } from '../../client/ui-api-types';
import { useApi } from './api';
import { percent, visible } from './format';
import { Message } from './StatusBadge';

export function HealthView() {
  const { data, error, loading, reload } = useApi<HealthResponse>('/api/health');
  return (
    <section className="page">
      <div className="page-head">
        <h1>Agent health</h1>
        <div className="toolbar">
          <button type="button" onClick={reload} disabled={loading}>
            {loading ? 'Loading…' : 'Refresh'}
          </button>
        </div>
      </div>
      <p className="muted intro">
        Every agent version seen in the store. The error rate is the share of its ended scopes that ended in error; a call retried to
        success counts as recovered, not failed. Drift compares what the version did with its manifest.
      </p>
      {error && <Message kind="error">Could not load agent health: {error.message}</Message>}
      {data && data.agents.length === 0 && <Message kind="info">No agent has run yet.</Message>}
      {data && data.agents.length > 0 && (
        <div className="card">
          <table className="table middle" data-testid="health-table">
            <thead>
              <tr>
                <th>Agent</th>
                <th>Version</th>
                <th>Role</th>
                <th className="num">Scopes</th>
                <th>Outcomes</th>
                <th>Error rate</th>
                <th className="num">Failed calls</th>
                <th className="num">Failed attempts</th>
                <th>Drift</th>
              </tr>
            </thead>
            <tbody>
              {data.agents.map((a) => (
                <tr key={`${a.agent}@${a.version}`} data-testid="health-row" data-agent={a.agent} data-version={a.version}>
                  <td>
                    <strong>{visible(a.agent)}</strong>
                  </td>
                  <td className="mono">
                    {visible(a.version)}
                    {a.builds.length > 0 && <div className="muted" data-testid="builds">build {visible(a.builds.join(', '))}</div>}
                  </td>
                  <td>{roleText(a)}</td>
                  <td className="num">{a.scopes}</td>
                  <td>
                    <div className="outcomes">
                    {(['success', 'degraded', 'error', 'running', 'cancelled'] as const)
                      .filter((s) => a.statuses[s] > 0)
                      .map((s) => (
                        <span key={s} className={`badge status-${s}`}>
                          {a.statuses[s]} {s}
                        </span>
                      ))}
                    {a.recovered > 0 && <span className="recovered">↻ {a.recovered} recovered</span>}
                    </div>
                  </td>
                  <td>
                    <div className="rate">
                      <div className="rate-bar" aria-hidden="true">
                        <div className={`rate-fill ${a.errorRate ? 'bad' : ''}`} style={{ width: `${(a.errorRate ?? 0) * 100}%` }} />
                      </div>
                      <span className={`rate-text ${a.errorRate ? 'bad' : ''}`} data-testid="error-rate">
                        {percent(a.errorRate)}
                      </span>
                    </div>
                  </td>
                  <td className={`num ${a.failedCalls ? 'bad' : ''}`}>
                    {a.failedCalls} / {a.calls}
                  </td>
                  <td className="num">{a.failedAttempts}</td>
                  <td data-testid="drift">
                    {a.driftFlags.length === 0 ? (
                      <span className="muted">none</span>
                    ) : (
                      a.driftFlags.map((f) => (
                        <span key={f} className="chip drift">
                          {visible(f)}
                        </span>
                      ))
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function roleText(a: AgentHealth): string {
  const roles = [a.orchestrator && 'orchestrator', a.subAgent && 'sub-agent', a.handoffScopes > 0 && 'handoff target'];
  return roles.filter(Boolean).join(' · ') || '—';
}
