/** One session: its summary, reconcile result, scope graph and the selected scope's details; updates live. */
import { useEffect, useMemo, useState } from 'react';
import type { ScopeNodeJson, ScopeRecord, SessionResponse } from '../../client/ui-api-types';
import { enc, useApi } from './api';
import { href } from './routes';
import { LiveBadge, liveKey, useLive } from './live';
import { SessionTabs } from './SessionTabs';
import { duration, when, visible } from './format';
import { GraphLegend, ScopeGraph } from './ScopeGraph';
import { ReconcilePanel } from './ReconcilePanel';
import { ScopePanel } from './ScopePanel';
import { Message, StatusBadge } from './StatusBadge';

function flatten(nodes: readonly ScopeNodeJson[], out: ScopeRecord[] = []): ScopeRecord[] {
  for (const n of nodes) {
    out.push(n.scope);
    flatten(n.children, out);
    flatten(n.handoffs, out);
  }
  return out;
}

export function SessionView({ sessionId, scopeId, descendants }: { sessionId: string; scopeId: string | null; descendants: boolean }) {
  const live = useLive(sessionId);
  const { data, error } = useApi<SessionResponse>(`/api/sessions/${enc(sessionId)}`, liveKey(live));
  const scopes = useMemo(() => (data ? flatten(data.tree.roots) : []), [data]);
  const selected = scopes.find((s) => s.scopeId === scopeId) ?? null;
  // The toggle shows its new state at once: the route follows the hash only when the
  // browser reports the change, and until then a controlled checkbox would snap back.
  const [shownDescendants, setShownDescendants] = useState(descendants);
  useEffect(() => setShownDescendants(descendants), [descendants]);
  const select = (id: string) => (window.location.hash = href({ view: 'session', sessionId, scopeId: id, descendants: shownDescendants }));
  const setDescendants = (on: boolean) => {
    setShownDescendants(on);
    window.location.hash = href({ view: 'session', sessionId, scopeId, descendants: on });
  };

  return (
    <section className="page">
      <div className="crumbs">
        <a href="#/">Sessions</a> <span className="muted">/</span> <span className="mono">{sessionId}</span>
      </div>
      <SessionTabs sessionId={sessionId} current="graph">
        <LiveBadge live={live} />
      </SessionTabs>
      {error && <Message kind="error">Could not load session {sessionId}: {error.message}</Message>}
      {data && data.sealProblems.length > 0 && <SealWarning sessionId={sessionId} problems={data.sealProblems} />}
      {data && (
        <>
          <div className="summary-row">
            <div className="card summary" data-testid="session-summary">
              <h1 className="mono">{sessionId}</h1>
              <div className="summary-status">
                <StatusBadge status={data.summary.status} />
              </div>
              <dl className="stats">
                <div>
                  <dt>agents</dt>
                  <dd>
                    {visible(data.summary.rootAgent)}
                    {data.summary.finalAgent !== data.summary.rootAgent && <> ⇢ {visible(data.summary.finalAgent)}</>}
                  </dd>
                </div>
                <div>
                  <dt>scopes</dt>
                  <dd data-testid="summary-scopes">{data.summary.scopes}</dd>
                </div>
                <div>
                  <dt>actions</dt>
                  <dd>{data.summary.actions}</dd>
                </div>
                <div>
                  <dt>failed actions</dt>
                  <dd className={data.summary.failedActions ? 'bad' : ''}>{data.summary.failedActions}</dd>
                </div>
                <div>
                  <dt>started</dt>
                  <dd>{when(data.summary.startedAt)}</dd>
                </div>
                <div>
                  <dt>took</dt>
                  <dd>{duration(data.summary.startedAt, data.summary.endedAt)}</dd>
                </div>
              </dl>
            </div>
            <div className="card">
              <ReconcilePanel sessionId={sessionId} />
            </div>
          </div>

          <div className="card">
            <div className="card-head">
              <h2>Scope tree</h2>
              <GraphLegend />
            </div>
            <ScopeGraph sessionId={sessionId} roots={data.tree.roots} selected={selected?.scopeId ?? null} onSelect={select} />
            {!selected && scopeId !== null && (
              // A link to a scope this session does not have (mistyped, or another session's) says so instead of showing nothing.
              <Message kind="error">
                Session {sessionId} has no scope {scopeId}
                {scopeId.startsWith(`${sessionId}.`) || scopeId.startsWith(`${sessionId}~`) ? '' : ` (a scope's id starts with its session's)`}.
              </Message>
            )}
            {!selected && <p className="muted hint">Select a scope to see its actions and footprint.</p>}
          </div>

          {selected && (
            <ScopePanel key={selected.scopeId} scope={selected} sessionId={sessionId} descendants={shownDescendants} setDescendants={setDescendants} refreshKey={liveKey(live)} />
          )}
        </>
      )}
    </section>
  );
}

/** Rows changed, added or removed after they were sealed: what the page shows rests on them. */
function SealWarning({ sessionId, problems }: { sessionId: string; problems: SessionResponse['sealProblems'] }) {
  // As the CLI counts them: a removed row is named at its scope and at the row after it.
  const rows = new Set(problems.map((p) => `${p.scopeId}\u0000${p.recordId}`)).size;
  const scopes = [...new Set(problems.map((p) => p.scopeId))];
  const shown = scopes.slice(0, 5).map(visible).join(', ') + (scopes.length > 5 ? ` and ${scopes.length - 5} more` : '');
  return (
    <Message kind="error">
      <span data-testid="seal-warning">
        {rows} record{rows === 1 ? '' : 's'} of this session do{rows === 1 ? 'es' : ''} not match {rows === 1 ? 'its seal' : 'their seals'} (scope{scopes.length === 1 ? '' : 's'} {shown}): they were changed, added or removed after they were sealed, and what this page shows rests on them. <code>scopetrail verify {visible(sessionId)}</code> names every change.
      </span>
    </Message>
  );
}
