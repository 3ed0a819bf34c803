/**
 * Output fingerprints (table output_fingerprints, migration 003): keyed, truncated
 * hashes of winnowed shingles of every recorded output, with their positions. No raw
 * output text is stored. Rows are keyed by (namespace, source, position), so a replay
 * that fingerprints the same output again rewrites the same rows.
 */
import { z } from 'zod';
import type { SqlExecutor } from './sql-store';
import { dedupe, unnestRows } from './bulk-write';
import { clean } from './rows';
import type { Partitions } from './partitions';

export const SOURCE_KINDS = ['agent_output', 'llm_output', 'tool_output'] as const;

export const FingerprintRecord = z.object({
  namespace: z.string().min(1),
  sessionId: z.string().min(1),
  scopeId: z.string().min(1),
  sourceId: z.string().min(1),
  kind: z.enum(SOURCE_KINDS),
  agent: z.string().min(1),
  producedAt: z.string().min(1),
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex digits'),
  position: z.number().int().min(0),
  words: z.number().int().min(0),
  keyId: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex digits'),
  sessionStartedAt: z.string().optional(),
});
export type FingerprintRecord = z.infer<typeof FingerprintRecord>;

/** One fingerprinted output of a session, with the key it was fingerprinted under. */
export const FingerprintedSource = z.object({
  sourceId: z.string(),
  scopeId: z.string(),
  agent: z.string(),
  kind: z.enum(SOURCE_KINDS),
  producedAt: z.string(),
  words: z.number().int(),
  keyId: z.string(),
  fingerprints: z.number().int(),
});
export type FingerprintedSource = z.infer<typeof FingerprintedSource>;

export interface FingerprintMatch {
  sourceId: string;
  hash: string;
  position: number;
}

export interface FingerprintStore {
  upsert(records: readonly FingerprintRecord[]): Promise<void>;
  /** Every fingerprinted output of the session (one entry per source and key). */
  sources(sessionId: string): Promise<FingerprintedSource[]>;
  /** Stored fingerprints of the session, made under `keyId`, equal to one of `hashes`. */
  match(sessionId: string, keyId: string, hashes: readonly string[]): Promise<FingerprintMatch[]>;
  /** Every fingerprint row of the session as stored (verify holds them to the outputs in history). */
  rowsOfSession(sessionId: string): Promise<StoredFingerprint[]>;
}

/** One fingerprint row as stored: columns a writer of the table could have set to anything of their type. */
export interface StoredFingerprint {
  sourceId: string;
  scopeId: string;
  agent: string;
  kind: string;
  fingerprint: string;
  position: number;
  words: number;
  keyId: string;
}

const COLUMNS = [
  'namespace', 'session_id', 'scope_id', 'source_id', 'source_kind', 'agent', 'produced_at',
  'fingerprint', 'position', 'words', 'key_id', 'session_started_at',
] as const;
const TYPES: Record<string, string> = { produced_at: 'timestamptz', position: 'integer', words: 'integer', session_started_at: 'timestamptz' };

export class SqlFingerprintStore implements FingerprintStore {
  constructor(
    private readonly db: Pick<SqlExecutor, 'query'>,
    /** The quoted, schema-qualified table name. */
    private readonly table: string,
    private readonly namespace: string,
    /** Fingerprints are kept in their session's partition, like its actions. */
    private readonly partitions: Pick<Partitions, 'place'>,
  ) {}

  async upsert(records: readonly FingerprintRecord[]): Promise<void> {
    const unique = dedupe(records, (r) => `${r.namespace}\u0000${r.sourceId}\u0000${r.position}`, (_a, b) => b);
    if (unique.length === 0) return;
    const placed = await this.partitions.place(unique, (r) => r.producedAt);
    if (placed.length === 0) return;
    const rows = placed.map(({ record: r, sessionStartedAt }) =>
      clean([r.namespace, r.sessionId, r.scopeId, r.sourceId, r.kind, r.agent, r.producedAt, r.fingerprint, r.position, r.words, r.keyId, sessionStartedAt]),
    );
    const { select, params } = unnestRows(rows, COLUMNS, TYPES);
    const update = COLUMNS.filter((c) => !['namespace', 'source_id', 'position', 'session_started_at'].includes(c)).map((c) => `${c} = excluded.${c}`);
    await this.db.query(
      `INSERT INTO ${this.table} (${COLUMNS.join(', ')}) ${select}
       ON CONFLICT (namespace, source_id, position, session_started_at) DO UPDATE SET ${update.join(', ')}`,
      params,
    );
  }

  async sources(sessionId: string): Promise<FingerprintedSource[]> {
    const { rows } = await this.db.query(
      `SELECT source_id, scope_id, agent, source_kind, min(produced_at) AS produced_at, max(words) AS words, key_id,
              count(*) AS fingerprints
       FROM ${this.table} WHERE namespace = $1 AND session_id = $2
       GROUP BY source_id, scope_id, agent, source_kind, key_id ORDER BY min(produced_at), source_id`,
      [this.namespace, sessionId],
    );
    return rows.map((r) =>
      FingerprintedSource.parse({
        sourceId: r.source_id,
        scopeId: r.scope_id,
        agent: r.agent,
        kind: r.source_kind,
        producedAt: r.produced_at instanceof Date ? r.produced_at.toISOString() : new Date(String(r.produced_at)).toISOString(),
        words: Number(r.words),
        keyId: r.key_id,
        fingerprints: Number(r.fingerprints),
      }),
    );
  }

  async rowsOfSession(sessionId: string): Promise<StoredFingerprint[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT source_id, scope_id, agent, source_kind, fingerprint, position, words, key_id FROM ${this.table}
       WHERE namespace = $1 AND session_id = $2 ORDER BY source_id, position`,
      [this.namespace, sessionId],
    );
    return rows.map((r) => ({
      sourceId: String(r.source_id), scopeId: String(r.scope_id), agent: String(r.agent), kind: String(r.source_kind),
      fingerprint: String(r.fingerprint), position: Number(r.position), words: Number(r.words), keyId: String(r.key_id),
    }));
  }

  async match(sessionId: string, keyId: string, hashes: readonly string[]): Promise<FingerprintMatch[]> {
    if (hashes.length === 0) return [];
    const { rows } = await this.db.query<{ source_id: string; fingerprint: string; position: number }>(
      `SELECT source_id, fingerprint, position FROM ${this.table}
       WHERE namespace = $1 AND session_id = $2 AND key_id = $3 AND fingerprint = ANY($4::text[])`,
      [this.namespace, sessionId, keyId, [...new Set(hashes)]],
    );
    return rows.map((r) => ({ sourceId: r.source_id, hash: r.fingerprint, position: Number(r.position) }));
  }
}
