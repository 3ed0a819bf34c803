/** The session's record checked against Temporal history: complete, its differences, or why it could not be checked. */
import { visible, count } from './format';
import type { ReconcileResponse } from '../../client/ui-api-types';
import { ApiFailure, enc, useApi } from './api';
import { Message } from './StatusBadge';

export function ReconcilePanel({ sessionId }: { sessionId: string }) {
  const { data, error, loading, reload } = useApi<ReconcileResponse>(`/api/sessions/${enc(sessionId)}/reconcile`);
  const r = data?.report;
  return (
    <section className="reconcile" data-testid="reconcile" data-state={loading ? 'loading' : error ? 'unavailable' : data?.complete ? 'complete' : 'differences'}>
      <div className="reconcile-head">
        <h3>Reconcile with Temporal history</h3>
        <button type="button" onClick={reload} disabled={loading}>
          {loading ? 'Checking…' : 'Re-check'}
        </button>
      </div>
      {loading && !data && <p className="muted">Reading the session's workflow histories…</p>}
      {error && (
        <Message kind={error instanceof ApiFailure && error.status === 503 ? 'warn' : 'error'}>
          {error instanceof ApiFailure && error.status === 503 ? 'Temporal unavailable: ' : 'Reconcile failed: '}
          {error.message}
        </Message>
      )}
      {r && data?.complete && (
        <p className="reconcile-ok" data-testid="reconcile-result">
          <span className="tick">✓</span> <strong>complete</strong> — {count(r.runs, 'workflow run')} read; {count(r.expected.scopes, 'scope')} and{' '}
          {count(r.expected.actions, 'action')} expected, {r.stored.scopes} and {r.stored.actions} stored, 0 differences.
        </p>
      )}
      {r && !data?.complete && (
        <>
          <p className="reconcile-bad" data-testid="reconcile-result">
            <strong>{count(r.differences.length, 'difference')}</strong> — expected {count(r.expected.scopes, 'scope')} /{' '}
            {count(r.expected.actions, 'action')}, stored{' '}
            {r.stored.scopes} / {r.stored.actions}.
          </p>
          <table className="table compact" data-testid="differences-table">
            <thead>
              <tr>
                <th>Kind</th>
                <th>Record</th>
                <th>Id</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {r.differences.map((d) => (
                <tr key={`${d.kind}:${d.record}:${d.id}`}>
                  <td>{d.kind}</td>
                  <td>{d.record}</td>
                  <td className="mono long-text">{visible(d.id)}</td>
                  <td className="long-text">{visible(d.detail)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {data && <p className="muted small">Temporal at {data.temporalAddress}</p>}
    </section>
  );
}
