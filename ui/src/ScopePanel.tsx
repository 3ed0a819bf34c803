/** The selected scope: who it is, the actions done under it, and what it touched. */
import type { ActionsResponse, FootprintResponse, ScopeRecord } from '../../client/ui-api-types';
import { enc, useApi } from './api';
import { clock, duration, scopeSuffix, truncate, when, visible, count } from './format';
import { Message, StatusBadge } from './StatusBadge';

interface Props {
  scope: ScopeRecord;
  sessionId: string;
  /** Kept in the URL by the caller, so a link opens the same tables. */
  descendants: boolean;
  setDescendants(on: boolean): void;
  /** The session's live change token: the tables refetch when it changes. */
  refreshKey: string | false;
}

export function ScopePanel({ scope, sessionId, descendants, setDescendants, refreshKey }: Props) {
  const q = `descendants=${descendants}`;
  const actions = useApi<ActionsResponse>(`/api/scopes/${enc(scope.scopeId)}/actions?${q}`, refreshKey);
  const footprint = useApi<FootprintResponse>(`/api/scopes/${enc(scope.scopeId)}/footprint?${q}`, refreshKey);
  // Only the answer for the current toggle counts: a stale list must not be mistaken for the new one.
  const current = actions.data && actions.data.scopeId === scope.scopeId && actions.data.descendants === descendants ? actions.data : undefined;
  const fp = footprint.data && footprint.data.scopeId === scope.scopeId && footprint.data.descendants === descendants ? footprint.data : undefined;
  return (
    <section className="card scope-panel" data-testid="scope-panel" data-scope-id={scope.scopeId}>
      <div className="scope-head">
        <div>
          <h2>
            <span>
              {visible(scope.agent)}
              <span className="muted">@{visible(scope.agentVersion)}</span>
            </span>
            <StatusBadge status={scope.status} recovered={scope.recovered} />
          </h2>
          <dl className="facts">
            <dt>scope</dt>
            <dd className="mono">{scope.scopeId}</dd>
            <dt>kind</dt>
            <dd>
              {scope.kind}
              {scope.delegatedBy && <> · delegated by {visible(scope.delegatedBy)}</>}
              {scope.handoffFromScopeId && <> · handoff from <span className="mono">{scopeSuffix(scope.handoffFromScopeId, sessionId)}</span></>}
            </dd>
            <dt>objective</dt>
            <dd className="long-text">{scope.objective === null ? '—' : visible(scope.objective)}</dd>
            <dt>ran</dt>
            <dd>
              {when(scope.startedAt)} · {duration(scope.startedAt, scope.endedAt)}
            </dd>
          </dl>
        </div>
        <label className="toggle">
          <input type="checkbox" checked={descendants} onChange={(e) => setDescendants(e.target.checked)} data-testid="descendants-toggle" />
          include descendants
        </label>
      </div>

      <h3>
        Actions{' '}
        <span className="count" data-testid="actions-count" data-loaded-descendants={current ? String(current.descendants) : undefined}>
          {current ? current.actions.length : '…'}
        </span>
      </h3>
      {actions.error && <Message kind="error">Could not load actions: {actions.error.message}</Message>}
      {current && current.actions.length === 0 && <Message kind="info">No actions under this scope.</Message>}
      {current && current.actions.length > 0 && (
        <div className="table-scroll">
          <table className="table compact" data-testid="actions-table">
            <thead>
              <tr>
                <th>Started (UTC)</th>
                <th>Scope</th>
                <th>Agent</th>
                <th>Kind</th>
                <th>Name</th>
                <th className="num">Try</th>
                <th>Status</th>
                <th>Resources</th>
                <th className="num">Took</th>
              </tr>
            </thead>
            <tbody>
              {current.actions.map((a) => (
                <tr key={a.actionId} data-testid="action-row" data-action-id={a.actionId}>
                  <td className="mono">{clock(a.startedAt)}</td>
                  <td className="mono">{scopeSuffix(a.scopeId, sessionId)}</td>
                  <td>{visible(a.agent)}</td>
                  <td>{a.kind}</td>
                  <td>
                    {visible(a.name)}
                    {a.error && (
                      <div className="error-text" title={visible(a.error)}>
                        {truncate(visible(a.error), 70)}
                      </div>
                    )}
                  </td>
                  <td className="num">{a.attempt}</td>
                  <td>
                    <span className={`badge status-${a.status}`}>{a.status}</span>
                  </td>
                  <td className="resources">
                    {a.resources.map((r) => (
                      <span key={`${r.mode}:${r.uri}`} className={`chip mode-${r.mode}`} title={visible(r.uri)}>
                        {r.mode} {visible(r.uri)}
                      </span>
                    ))}
                  </td>
                  <td className="num">{duration(a.startedAt, a.endedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h3>
        Footprint <span className="muted small">{descendants ? 'this scope and its descendants' : 'this scope alone'}</span>
      </h3>
      {footprint.error && <Message kind="error">Could not load the footprint: {footprint.error.message}</Message>}
      {fp && fp.resources.length === 0 && <Message kind="info">This scope touched no resources.</Message>}
      {fp && fp.resources.length > 0 && (
        <table className="table compact" data-testid="footprint-table" data-descendants={String(fp.descendants)}>
          <thead>
            <tr>
              <th>Resource</th>
              <th>Mode</th>
              <th className="num">Actions</th>
              <th>Tools</th>
              <th>Scopes</th>
              <th>Agents</th>
            </tr>
          </thead>
          <tbody>
            {fp.resources.map((r) => (
              <tr key={`${r.mode}:${r.uri}`} data-testid="footprint-row" data-resource={r.uri} data-mode={r.mode} data-outside-allowance={String(r.outsideAllowance)}>
                <td className="mono long-text">
                  {visible(r.uri)}
                  {r.outsideAllowance && (
                    <span className="chip outside-allowance" title={`not permitted by the allowance of ${r.outsideAllowanceScopes.join(', ')}`}>
                      outside allowance
                    </span>
                  )}
                </td>
                <td>
                  <span className={`chip mode-${r.mode}`}>{r.mode}</span>
                </td>
                <td className="num">{r.actions}</td>
                <td>{visible(r.tools.join(', '))}</td>
                <td className="mono">{r.scopes.map((s) => scopeSuffix(s, sessionId)).join(', ')}</td>
                <td>{visible(r.agents.join(', '))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {fp && fp.resources.some((r) => r.outsideAllowance) && (
        <Message kind="error">
          Touched outside the allowance of the scope that touched it:{' '}
          {fp.resources
            .filter((r) => r.outsideAllowance)
            .map((r) => `${visible(r.uri)} (${r.outsideAllowanceScopes.map((s) => scopeSuffix(s, sessionId)).join(', ')})`)
            .join(', ')}
        </Message>
      )}
      {fp && fp.denied.length > 0 && (
        <Message kind="warn">
          {count(fp.denied.length, 'attempt')} refused by the scope's allowance touched nothing:{' '}
          {fp.denied.map((d) => `${visible(d.name)} in ${scopeSuffix(d.scopeId, sessionId)}`).join(', ')}
        </Message>
      )}
    </section>
  );
}
