/**
 * Which sessions and scopes touched a resource: a URI or a glob (`*` is any run of
 * characters), the modes asked for, across a time range; refreshed live while
 * sessions run. Refused attempts are not touches and are not listed. What MCP servers'
 * receipts report counts as a touch, as it does in footprint and touched.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { ResourcesResponse } from '../../client/ui-api-types';
import { useApi } from './api';
import { href, MODES, type Mode, type Route } from './routes';
import { when, visible } from './format';
import { LiveBadge, liveKey, useLive } from './live';
import { Message, StatusBadge } from './StatusBadge';

type ResourcesRoute = Extract<Route, { view: 'resources' }>;

export function ResourcesView({ route }: { route: ResourcesRoute }) {
  const live = useLive(null);
  const [glob, setGlob] = useState(route.glob);
  const [modes, setModes] = useState<Mode[]>(route.modes);
  const [from, setFrom] = useState(localInput(route.from));
  const [to, setTo] = useState(localInput(route.to));
  // A link or the back button changes the route: the form follows it.
  useEffect(() => {
    setGlob(route.glob);
    setModes(route.modes);
    setFrom(localInput(route.from));
    setTo(localInput(route.to));
  }, [route.glob, route.modes.join(','), route.from, route.to]);

  const params = new URLSearchParams({ glob: route.glob });
  if (route.modes.length) params.set('mode', route.modes.join(','));
  if (route.from) params.set('from', route.from);
  if (route.to) params.set('to', route.to);
  const { data, error } = useApi<ResourcesResponse>(route.glob ? `/api/resources?${params}` : null, liveKey(live));
  const current = data && data.glob === route.glob ? data : undefined;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    window.location.hash = href({ view: 'resources', glob: glob.trim(), modes, from: isoOf(from), to: isoOf(to) });
  };
  const toggle = (m: Mode, on: boolean) => setModes((ms) => MODES.filter((x) => (x === m ? on : ms.includes(x))));

  return (
    <section className="page">
      <div className="page-head">
        <h1>
          Resources <LiveBadge live={live} />
        </h1>
      </div>
      <form className="card resource-form" onSubmit={submit} data-testid="resource-form">
        <label className="grow">
          Resource{' '}
          <input type="text" value={glob} onChange={(e) => setGlob(e.target.value)} placeholder="db:customers, api:*, data:*/all" data-testid="resource-glob"
            className="mono" />
        </label>
        <fieldset className="modes">
          {MODES.map((m) => (
            <label key={m}>
              <input type="checkbox" checked={modes.includes(m)} onChange={(e) => toggle(m, e.target.checked)} data-testid={`mode-${m}`} /> {m}
            </label>
          ))}
        </fieldset>
        <label>
          from (UTC) <input type="datetime-local" step="1" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="resource-from" />
        </label>
        <label>
          to (UTC) <input type="datetime-local" step="1" value={to} onChange={(e) => setTo(e.target.value)} data-testid="resource-to" />
        </label>
        <button type="submit" data-testid="resource-search">
          Search
        </button>
      </form>
      {!route.glob && <Message kind="info">Give a resource URI, or a pattern where * stands for any characters, to see who touched it.</Message>}
      {error && <Message kind="error">Could not search: {error.message}</Message>}
      {current && current.touches.length === 0 && <Message kind="info">Nothing touched {visible(route.glob)}{route.modes.length ? ` (${route.modes.join(', ')})` : ''} in this range.</Message>}
      {current && current.touches.length > 0 && (
        <div className="card">
          <div className="card-head">
            <h2 data-testid="resource-summary">
              {current.sessions} session{current.sessions === 1 ? '' : 's'}, {current.scopes} scope{current.scopes === 1 ? '' : 's'}
              {current.truncated && <span className="muted small"> (the newest {current.touches.length} rows; narrow the range for the rest)</span>}
            </h2>
          </div>
          {current.receiptProblems.length > 0 && (
            <Message kind="warn">
              <span data-testid="receipt-problems">
                {current.receiptProblems.length} MCP receipt{current.receiptProblems.length === 1 ? '' : 's'} behind these rows
                {current.receiptProblems.length === 1 ? ' does' : ' do'} not vouch for what {current.receiptProblems.length === 1 ? 'it says' : 'they say'}: {current.receiptProblems[0]!.detail}
                {current.receiptProblems.length > 1 ? ' (and others: scopetrail verify names them)' : ''}
              </span>
            </Message>
          )}
          <table className="table compact" data-testid="resource-table">
            <thead>
              <tr>
                <th>Resource</th>
                <th>Mode</th>
                <th title="whose record names the touch: the caller's actions, MCP servers' receipts, or both">Source</th>
                <th>Session</th>
                <th>Scope</th>
                <th>Agent</th>
                <th>Scope status</th>
                <th className="num">Actions</th>
                <th className="num">Failed</th>
                <th>First</th>
                <th>Last</th>
              </tr>
            </thead>
            <tbody>
              {current.touches.map((t) => (
                <tr key={`${t.scopeId}\u0000${t.uri}\u0000${t.mode}`} data-testid="resource-row" data-session-id={t.sessionId} data-scope-id={t.scopeId}
                  data-resource={t.uri} data-mode={t.mode} data-running={t.runningActions > 0 || t.scopeStatus === 'running' ? 'true' : 'false'}
                  data-source={t.source} data-receipts={t.receipts} data-unverified-receipts={t.unverifiedReceipts} data-outside-allowance={String(t.outsideAllowance)}>
                  <td className="mono long-text" title={visible(t.uri)}>
                    {visible(t.uri)}
                    {t.outsideAllowance && (
                      <span className="chip outside-allowance own-line" title="the scope's recorded allowance does not permit this resource">
                        outside allowance
                      </span>
                    )}
                  </td>
                  <td>
                    <span className={`mode mode-${t.mode}`}>{t.mode}</span>
                  </td>
                  <td title={SOURCE_TITLES[t.source]}>
                    {t.source}
                    {t.receipts > 0 && <span className="muted"> ({t.receipts} receipt{t.receipts === 1 ? '' : 's'})</span>}
                    {t.unverifiedReceipts > 0 && (
                      <span className="chip outside-allowance own-line" title={UNVERIFIED_TITLE} data-testid="unverified-receipts">
                        {t.unverifiedReceipts === t.receipts ? 'unverified' : `${t.unverifiedReceipts} unverified`}
                      </span>
                    )}
                  </td>
                  <td>
                    <a className="mono" href={href({ view: 'timeline', sessionId: t.sessionId, zoom: 1 })}>
                      {t.sessionId}
                    </a>
                  </td>
                  <td>
                    <a className="mono" href={href({ view: 'session', sessionId: t.sessionId, scopeId: t.scopeId, descendants: false })}>
                      {t.scopeId === t.sessionId ? 'root' : t.scopeId.slice(t.sessionId.length) || t.scopeId}
                    </a>
                  </td>
                  <td>{visible(t.agent)}</td>
                  <td>{t.scopeStatus ? <StatusBadge status={t.scopeStatus} /> : <span className="muted">no record</span>}</td>
                  <td className="num">
                    {t.actions}
                    {t.runningActions > 0 && <span className="muted"> ({t.runningActions} running)</span>}
                  </td>
                  <td className={`num ${t.failedActions ? 'bad' : ''}`}>{t.failedActions}</td>
                  <td>{when(t.firstAt)}</td>
                  <td>{when(t.lastAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const UNVERIFIED_TITLE =
  "receipts that do not vouch for what they say: forged (not matching the server's signature), unsigned, or not checkable with this reader's delegation key (SCOPETRAIL_DELEGATION_KEY); `scopetrail verify` names them";

const SOURCE_TITLES = {
  caller: "the caller's actions name it",
  receipt: "only MCP servers' receipts report it: the caller's actions named something else (the server, say)",
  both: "the caller's actions name it, and MCP servers' receipts report it",
} as const;

/** An ISO time as the value of a datetime-local input, in UTC as every time on the dashboard is. */
function localInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 19);
}

/** The input's value read as UTC (the browser would read it in its own zone). */
function isoOf(local: string): string | null {
  if (!local) return null;
  const t = new Date(`${local}Z`).getTime();
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}
