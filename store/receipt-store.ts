/**
 * MCP receipts (table mcp_receipts, migration 007), written by MCP servers through
 * worker/mcp-server-middleware.ts. Keyed by (namespace, scope, action id): a delegation
 * replayed within its freshness window, or a handler retried by the server, rewrites
 * the same receipt instead of adding one.
 */
import { McpReceipt } from '../cim/mcp-receipt';
import type { SqlExecutor } from './sql-store';
import { dedupe, unnestRows } from './bulk-write';
import { clean } from './rows';

export interface ReceiptStore {
  upsert(receipts: readonly McpReceipt[]): Promise<void>;
  /** Every receipt of the session, oldest first. */
  ofSession(sessionId: string): Promise<McpReceipt[]>;
}

const COLUMNS = [
  'namespace', 'session_id', 'scope_id', 'action_id', 'attempt', 'agent', 'server', 'tool',
  'resources', 'outcome', 'error', 'started_at', 'ended_at',
] as const;
const TYPES: Record<string, string> = { attempt: 'integer', resources: 'jsonb', started_at: 'timestamptz', ended_at: 'timestamptz' };
const KEY = ['namespace', 'scope_id', 'action_id'];

export class SqlReceiptStore implements ReceiptStore {
  constructor(
    private readonly db: Pick<SqlExecutor, 'query'>,
    private readonly table: string,
    private readonly namespace: string,
  ) {}

  async upsert(receipts: readonly McpReceipt[]): Promise<void> {
    const unique = dedupe(receipts.map((r) => McpReceipt.parse(r)), (r) => `${r.namespace}\u0000${r.scopeId}\u0000${r.actionId}`, (_a, b) => b);
    if (unique.length === 0) return;
    const rows = unique.map((r) =>
      clean([r.namespace, r.sessionId, r.scopeId, r.actionId, r.attempt, r.agent, r.server, r.tool,
        JSON.stringify(r.resources), r.outcome, r.error, r.startedAt, r.endedAt]),
    );
    const { select, params } = unnestRows(rows, COLUMNS, TYPES);
    const update = COLUMNS.filter((c) => !KEY.includes(c)).map((c) => `${c} = excluded.${c}`);
    await this.db.query(
      `INSERT INTO ${this.table} (${COLUMNS.join(', ')}) ${select}
       ON CONFLICT (${KEY.join(', ')}) DO UPDATE SET ${update.join(', ')}`,
      params,
    );
  }

  async ofSession(sessionId: string): Promise<McpReceipt[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT * FROM ${this.table} WHERE namespace = $1 AND session_id = $2 ORDER BY started_at, action_id`,
      [this.namespace, sessionId],
    );
    return rows.map((r) =>
      McpReceipt.parse({
        namespace: r.namespace,
        sessionId: r.session_id,
        scopeId: r.scope_id,
        actionId: r.action_id,
        attempt: Number(r.attempt),
        agent: r.agent,
        server: r.server,
        tool: r.tool,
        resources: typeof r.resources === 'string' ? JSON.parse(r.resources) : r.resources,
        outcome: r.outcome,
        error: r.error ?? null,
        startedAt: iso(r.started_at),
        endedAt: iso(r.ended_at),
      }),
    );
  }
}

function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}
