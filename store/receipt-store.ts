/**
 * MCP receipts (table mcp_receipts, migration 007), written by MCP servers through
 * worker/mcp-server-middleware.ts. Keyed by (namespace, scope, action id): a delegation
 * replayed within its freshness window, or a handler retried by the server, rewrites
 * the same receipt instead of adding one.
 */
import { McpReceipt, ReceiptSignature } from '../cim/mcp-receipt';
import type { SqlExecutor } from './sql-store';
import { dedupe, unnestRows } from './bulk-write';
import { clean, json, parseRow, tryRead, type InvalidRow } from './rows';
import { isoTime } from './row-times';

export interface ReceiptStore {
  upsert(receipts: readonly McpReceipt[]): Promise<void>;
  /**
   * Every receipt of the session, oldest first. A row that does not parse as a receipt
   * (written outside scopetrail) fails the read with InvalidStoredRowError naming it.
   */
  ofSession(sessionId: string): Promise<McpReceipt[]>;
  /** Every receipt of the session, and the rows that do not parse as receipts, named: what verify checks. */
  checkedOfSession(sessionId: string): Promise<{ receipts: McpReceipt[]; invalid: InvalidRow[] }>;
}

const COLUMNS = [
  'namespace', 'session_id', 'scope_id', 'action_id', 'attempt', 'agent', 'server', 'tool',
  'resources', 'outcome', 'error', 'started_at', 'ended_at', 'signature', 'signature_key',
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
        JSON.stringify(r.resources), r.outcome, r.error, r.startedAt, r.endedAt, r.signature?.mac ?? null, r.signature?.keyId ?? null]),
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
    return (await this.rows(sessionId)).map(readReceipt);
  }

  async checkedOfSession(sessionId: string): Promise<{ receipts: McpReceipt[]; invalid: InvalidRow[] }> {
    const receipts: McpReceipt[] = [];
    const invalid: InvalidRow[] = [];
    for (const row of await this.rows(sessionId)) {
      const read = tryRead(readReceipt, row);
      if (read.ok) receipts.push(read.value);
      else invalid.push(read.invalid);
    }
    return { receipts, invalid };
  }

  private async rows(sessionId: string): Promise<Array<Record<string, unknown>>> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT * FROM ${this.table} WHERE namespace = $1 AND session_id = $2 ORDER BY started_at, action_id`,
      [this.namespace, sessionId],
    );
    return rows;
  }
}

/** A stored receipt row as its record, or InvalidStoredRowError naming the row and the field it got wrong. */
export function readReceipt(r: Record<string, unknown>): McpReceipt {
  return parseRow(McpReceipt, 'mcp_receipts', r.action_id, r, {
    namespace: r.namespace,
    sessionId: r.session_id,
    scopeId: r.scope_id,
    actionId: r.action_id,
    attempt: typeof r.attempt === 'string' ? Number(r.attempt) : r.attempt,
    agent: r.agent,
    server: r.server,
    tool: r.tool,
    resources: json(r.resources),
    outcome: r.outcome,
    error: r.error ?? null,
    startedAt: isoTime(r.started_at),
    endedAt: isoTime(r.ended_at),
    ...signatureOf(r),
  });
}

/**
 * The stored signature. One that is not a signature (half of one, not hex) is no reason to
 * leave the receipt out of every answer: it reads, and vouches for nothing (cim/mcp-receipt.ts).
 */
function signatureOf(r: Record<string, unknown>): Pick<McpReceipt, 'signature' | 'signatureInvalid'> {
  if (r.signature == null && r.signature_key == null) return { signature: null };
  const parsed = ReceiptSignature.safeParse({ mac: r.signature, keyId: r.signature_key });
  return parsed.success ? { signature: parsed.data } : { signature: null, signatureInvalid: true };
}
