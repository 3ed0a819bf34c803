/**
 * The dashboard's own reads: change tokens for live updates and the resource view's
 * "who touched what" across sessions. Answered by the database so that the answer's
 * size follows the matches, not the number of actions stored.
 */
import type { ResourceMode, ScopeStatus } from '../cim/schemas';
import type { ResourceTouch } from './dashboard-types';
import { escapeLike } from './rows';
import type { SqlExecutor } from './sql-store';

export type { ResourceTouch };

/**
 * An opaque token that changes whenever what the dashboard shows may have changed:
 * a row added, a row ended, a status changed. Equal tokens mean "nothing to fetch".
 */
export interface ChangeToken {
  cursor: string;
  /** Scopes still running (in the session, or in the namespace for the sessions list). */
  runningScopes: number;
}

export interface ResourceTouchQuery {
  /** A resource URI; `*` matches any run of characters, also inside a pattern. */
  glob: string;
  modes?: readonly ResourceMode[];
  /** Only touches by actions that were under way at some time in [from, to]. */
  from?: string;
  to?: string;
  limit: number;
}

export interface DashboardQueries {
  sessionChanges(sessionId: string): Promise<ChangeToken>;
  /** For the sessions list: new sessions, new actions anywhere, anything that stopped running. */
  namespaceChanges(): Promise<ChangeToken>;
  /** Newest first; at most `limit` rows, and whether more matched. */
  resourceTouches(query: ResourceTouchQuery): Promise<{ touches: ResourceTouch[]; truncated: boolean }>;
}

/** A glob as a LIKE pattern: the URI's own %, _ and \ are literal, `*` is any run. */
export function globToLike(glob: string): string {
  return escapeLike(glob).replaceAll('*', '%');
}

export class SqlDashboardQueries implements DashboardQueries {
  constructor(
    private readonly db: Pick<SqlExecutor, 'query'>,
    private readonly t: (table: string) => string,
    private readonly namespace: string,
  ) {}

  async sessionChanges(sessionId: string): Promise<ChangeToken> {
    // Both reads go through the session indexes; the sums over statuses catch a status
    // that changes without a time changing (a roll-up, a recovered flag).
    const part = (table: string) => `SELECT count(*)::int AS n, count(ended_at)::int AS ended,
        count(*) FILTER (WHERE status = 'running')::int AS running,
        coalesce(sum(length(status) * (1 + ascii(status))), 0)::bigint AS statuses,
        max(started_at)::text AS started, max(ended_at)::text AS ended_last
      FROM ${this.t(table)} WHERE namespace = $1 AND session_id = $2`;
    const [scopes, actions] = await Promise.all([
      this.db.query<Row>(part('scopes'), [this.namespace, sessionId]),
      this.db.query<Row>(part('actions'), [this.namespace, sessionId]),
    ]);
    const s = scopes.rows[0]!;
    const a = actions.rows[0]!;
    return { cursor: token([s.n, s.ended, s.running, s.statuses, s.started, s.ended_last, a.n, a.ended, a.running, a.statuses, a.started, a.ended_last]), runningScopes: Number(s.running) };
  }

  async namespaceChanges(): Promise<ChangeToken> {
    const { rows } = await this.db.query<Row>(
      `SELECT
         (SELECT max(started_at)::text FROM ${this.t('scopes')} WHERE namespace = $1 AND kind = 'root') AS root_started,
         (SELECT max(started_at)::text FROM ${this.t('actions')} WHERE namespace = $1) AS action_started,
         (SELECT count(*)::int FROM ${this.t('scopes')} WHERE namespace = $1 AND status = 'running') AS running_scopes,
         (SELECT count(*)::int FROM ${this.t('actions')} WHERE namespace = $1 AND status = 'running') AS running_actions`,
      [this.namespace],
    );
    const r = rows[0]!;
    return { cursor: token([r.root_started, r.action_started, r.running_scopes, r.running_actions]), runningScopes: Number(r.running_scopes) };
  }

  async resourceTouches(q: ResourceTouchQuery): Promise<{ touches: ResourceTouch[]; truncated: boolean }> {
    const params: unknown[] = [this.namespace, globToLike(q.glob)];
    let where = `a.namespace = $1 AND a.kind <> 'denied' AND a.status <> 'denied' AND r.uri LIKE $2`;
    if (q.modes?.length) {
      params.push(q.modes);
      where += ` AND r.mode = ANY($${params.length}::text[])`;
    }
    // Overlap, not start: an action begun before `from` and still under way then touched the resource in the range.
    if (q.to) {
      params.push(q.to);
      where += ` AND a.started_at <= $${params.length}::timestamptz`;
    }
    if (q.from) {
      params.push(q.from);
      where += ` AND (a.ended_at IS NULL OR a.ended_at >= $${params.length}::timestamptz)`;
    }
    params.push(q.limit + 1);
    const { rows } = await this.db.query<Row>(
      `SELECT a.session_id, a.scope_id, a.agent, s.status AS scope_status, r.uri, r.mode,
              count(*)::int AS n,
              count(*) FILTER (WHERE a.status = 'error')::int AS failed,
              count(*) FILTER (WHERE a.status = 'running')::int AS running,
              min(a.started_at) AS first_at, max(coalesce(a.ended_at, a.started_at)) AS last_at
       FROM ${this.t('actions')} a
       CROSS JOIN LATERAL jsonb_to_recordset(a.resources) AS r(uri text, mode text)
       LEFT JOIN ${this.t('scopes')} s ON s.namespace = a.namespace AND s.scope_id = a.scope_id
       WHERE ${where}
       GROUP BY a.session_id, a.scope_id, a.agent, s.status, r.uri, r.mode
       ORDER BY max(coalesce(a.ended_at, a.started_at)) DESC, a.scope_id, r.uri, r.mode
       LIMIT $${params.length}`,
      params,
    );
    const touches = rows.slice(0, q.limit).map((r) => ({
      sessionId: String(r.session_id),
      scopeId: String(r.scope_id),
      agent: String(r.agent),
      scopeStatus: r.scope_status === null || r.scope_status === undefined ? null : (String(r.scope_status) as ScopeStatus),
      uri: String(r.uri),
      mode: String(r.mode) as ResourceMode,
      actions: Number(r.n),
      failedActions: Number(r.failed),
      runningActions: Number(r.running),
      firstAt: isoOf(r.first_at),
      lastAt: isoOf(r.last_at),
    }));
    return { touches, truncated: rows.length > q.limit };
  }
}

type Row = Record<string, unknown>;

function token(parts: unknown[]): string {
  return parts.map((p) => (p === null || p === undefined ? '-' : String(p))).join('|');
}

function isoOf(v: unknown): string {
  return (v instanceof Date ? v : new Date(String(v))).toISOString();
}
