/**
 * The dashboard's own reads: change tokens for live updates and the resource view's
 * "who touched what" across sessions. Answered by the database so that the answer's
 * size follows the matches, not the number of actions stored.
 */
import { ScopeRecord, type ResourceMode, type ScopeStatus } from '../cim/schemas';
import { allowed } from '../cim/allowance';
import { evidenceSource, receiptSignatureProblems, type ReceiptSignatureProblem } from '../cim/forensics/receipts';
import type { McpReceipt } from '../cim/mcp-receipt';
import type { SignatureChecker } from '../cim/keyed-signature';
import type { ResourceTouch } from './dashboard-types';
import { escapeLike, json, tryRead } from './rows';
import { readReceipt } from './receipt-store';
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
  /**
   * What the MCP receipts behind the rows are checked with (the servers' delegation key), or
   * why they cannot be: as footprint and touched, a receipt that does not vouch for what it
   * says still lists its touch, counted in `unverifiedReceipts` and named in `receiptProblems`.
   */
  receiptKey: SignatureChecker;
}

export interface ResourceTouches {
  touches: ResourceTouch[];
  truncated: boolean;
  /** The receipts behind the rows that do not vouch for them: forged, unsigned, or not checkable with the reader's key. */
  receiptProblems: ReceiptSignatureProblem[];
}

export interface DashboardQueries {
  sessionChanges(sessionId: string): Promise<ChangeToken>;
  /** For the sessions list: new sessions, new actions anywhere, anything that stopped running. */
  namespaceChanges(): Promise<ChangeToken>;
  /** Newest first; at most `limit` rows, and whether more matched. */
  resourceTouches(query: ResourceTouchQuery): Promise<ResourceTouches>;
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

  async resourceTouches(q: ResourceTouchQuery): Promise<ResourceTouches> {
    const params: unknown[] = [this.namespace, globToLike(q.glob)];
    const param = (v: unknown) => `$${params.push(v)}`;
    const modes = q.modes?.length ? ` AND r.mode = ANY(${param(q.modes)}::text[])` : '';
    // Overlap, not start: an action begun before `from` and still under way then touched the resource in the range.
    const to = q.to ? param(q.to) : undefined;
    const from = q.from ? param(q.from) : undefined;
    const limit = param(q.limit + 1);
    const inRange = (row: string, endedBy: (from: string) => string) =>
      (to ? ` AND ${row}.started_at <= ${to}::timestamptz` : '') + (from ? ` AND ${endedBy(`${from}::timestamptz`)}` : '');
    // The caller's rows and the servers' receipts, each read through its own namespace and
    // start-time index, so the receipts cost what the time range holds, not the whole table.
    const { rows } = await this.db.query<Row>(
      `WITH touched AS (
         SELECT a.session_id, a.scope_id, a.agent, r.uri, r.mode, true AS caller, a.action_id, a.status,
                a.started_at, coalesce(a.ended_at, a.started_at) AS last_at
         FROM ${this.t('actions')} a
         CROSS JOIN LATERAL jsonb_to_recordset(a.resources) AS r(uri text, mode text)
         WHERE a.namespace = $1 AND a.kind <> 'denied' AND a.status <> 'denied' AND r.uri LIKE $2${modes}
           ${inRange('a', (t) => `(a.ended_at IS NULL OR a.ended_at >= ${t})`)}
         UNION ALL
         SELECT m.session_id, m.scope_id, m.agent, r.uri, r.mode, false, m.action_id, m.outcome,
                m.started_at, m.ended_at
         FROM ${this.t('mcp_receipts')} m
         CROSS JOIN LATERAL jsonb_to_recordset(m.resources) AS r(uri text, mode text)
         WHERE m.namespace = $1 AND r.uri LIKE $2${modes}
           ${inRange('m', (t) => `m.ended_at >= ${t}`)}
       ), grouped AS (
         SELECT session_id, scope_id, agent, uri, mode,
                count(*) FILTER (WHERE caller)::int AS n,
                count(*) FILTER (WHERE caller AND status = 'error')::int AS failed,
                count(*) FILTER (WHERE caller AND status = 'running')::int AS running,
                count(DISTINCT action_id) FILTER (WHERE NOT caller)::int AS receipts,
                array_agg(DISTINCT action_id) FILTER (WHERE NOT caller) AS receipt_actions,
                min(started_at) AS first_at, max(last_at) AS last_at
         FROM touched
         GROUP BY session_id, scope_id, agent, uri, mode
         ORDER BY max(last_at) DESC, scope_id, uri, mode
         LIMIT ${limit}
       )
       SELECT g.*, s.status AS scope_status, s.allowance, s.scope_id IS NOT NULL AS has_scope
       FROM grouped g
       -- The scope's own session's row first, should another session hold one under its id.
       LEFT JOIN LATERAL (
         SELECT x.status, x.allowance, x.scope_id FROM ${this.t('scopes')} x
         WHERE x.namespace = $1 AND x.scope_id = g.scope_id
         ORDER BY (x.session_id = g.session_id) DESC LIMIT 1
       ) s ON true
       ORDER BY g.last_at DESC, g.scope_id, g.uri, g.mode`,
      params,
    );
    const kept = rows.slice(0, q.limit);
    const unvouched = await this.unvouchedReceipts(kept, q.receiptKey);
    const touches = kept.map((r): ResourceTouch => {
      const uri = String(r.uri);
      const actions = Number(r.n);
      const receipts = Number(r.receipts);
      const scopeId = String(r.scope_id);
      return {
        sessionId: String(r.session_id),
        scopeId,
        agent: String(r.agent),
        scopeStatus: r.scope_status === null || r.scope_status === undefined ? null : (String(r.scope_status) as ScopeStatus),
        uri,
        mode: String(r.mode) as ResourceMode,
        source: evidenceSource(actions, receipts) ?? 'caller',
        actions,
        failedActions: Number(r.failed),
        runningActions: Number(r.running),
        receipts,
        unverifiedReceipts: receiptActions(r).filter((id) => unvouched.byKey.has(receiptKey(scopeId, id))).length,
        outsideAllowance: r.has_scope === true && outsideAllowance(r.allowance, uri),
        firstAt: isoOf(r.first_at),
        lastAt: isoOf(r.last_at),
      };
    });
    return { touches, truncated: rows.length > q.limit, receiptProblems: unvouched.problems };
  }

  /**
   * The receipts behind `rows` checked against their signatures, as footprint checks a
   * session's (cim/forensics/receipts.ts). A row that does not read as a receipt (written
   * outside scopetrail) vouches for nothing either.
   */
  private async unvouchedReceipts(rows: readonly Row[], key: SignatureChecker): Promise<{ byKey: Set<string>; problems: ReceiptSignatureProblem[] }> {
    const keys = new Map<string, [string, string]>();
    for (const r of rows) for (const id of receiptActions(r)) keys.set(receiptKey(String(r.scope_id), id), [String(r.scope_id), id]);
    if (keys.size === 0) return { byKey: new Set(), problems: [] };
    const { rows: stored } = await this.db.query<Row>(
      `SELECT m.* FROM ${this.t('mcp_receipts')} m
       JOIN unnest($2::text[], $3::text[]) AS k(scope_id, action_id) ON m.scope_id = k.scope_id AND m.action_id = k.action_id
       WHERE m.namespace = $1
       ORDER BY m.started_at, m.action_id`,
      [this.namespace, [...keys.values()].map((k) => k[0]), [...keys.values()].map((k) => k[1])],
    );
    const receipts: McpReceipt[] = [];
    const problems: ReceiptSignatureProblem[] = [];
    for (const row of stored) {
      const read = tryRead(readReceipt, row);
      if (read.ok) receipts.push(read.value);
      else {
        problems.push({
          kind: 'receipt_forged', id: read.invalid.id, scopeId: read.invalid.scopeId,
          detail: `MCP receipt row ${read.invalid.id} does not read as a receipt (field "${read.invalid.field}": ${read.invalid.message}): it vouches for nothing`,
        });
      }
    }
    problems.push(...receiptSignatureProblems(receipts, key));
    return { byKey: new Set(problems.map((p) => receiptKey(p.scopeId, p.id))), problems };
  }
}

function receiptActions(r: Row): string[] {
  return Array.isArray(r.receipt_actions) ? r.receipt_actions.map(String) : [];
}

function receiptKey(scopeId: string, actionId: string): string {
  return `${scopeId}\u0000${actionId}`;
}

/**
 * Judged as footprint judges (cim/forensics/outside-allowance.ts). A stored allowance that is
 * not one (written outside scopetrail) is not judged here: the scope's own views name that row.
 */
function outsideAllowance(stored: unknown, uri: string): boolean {
  const allowance = StoredAllowance.safeParse(json(stored));
  return allowance.success && !allowed(allowance.data, uri);
}

type Row = Record<string, unknown>;

const StoredAllowance = ScopeRecord.shape.allowance;

function token(parts: unknown[]): string {
  return parts.map((p) => (p === null || p === undefined ? '-' : String(p))).join('|');
}

function isoOf(v: unknown): string {
  return (v instanceof Date ? v : new Date(String(v))).toISOString();
}
