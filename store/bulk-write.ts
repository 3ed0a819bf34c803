/**
 * The write path's SQL: many rows in one statement, or staged with COPY, upserted with
 * the rules that make replays harmless (one row per key, a finished row never
 * regressed to `running`).
 */
import { ENCODED_TEXT_PREFIX } from '../cim/encoded-text';
import type { SqlExecutor, SqlTransaction } from './sql-store';

/** Postgres caps bind parameters at 65535 per statement. */
const MAX_PARAMS = 60_000;
/** From this many rows, staging them with COPY beats one array-parameter statement. */
export const COPY_FROM_ROWS = 200;

/**
 * One INSERT ... ON CONFLICT for any number of rows. Large batches are staged with
 * COPY into a temporary table first (where the backend has COPY): measured at about
 * 1.5x the speed of the array-parameter statement, which small batches keep using
 * because creating the staging table costs more than it saves for them.
 */
export async function insertRows(
  db: SqlExecutor | SqlTransaction,
  target: { table: 'scopes' | 'actions'; qualified: string; stage: string },
  columns: readonly string[],
  types: Record<string, string>,
  rows: unknown[][],
  onConflict: string,
): Promise<void> {
  const { table } = target;
  const insert = (select: string) =>
    `INSERT INTO ${target.qualified} AS ${table} (${columns.join(', ')}) ${select} ${onConflict}`;
  const direct = async (tx: Pick<SqlExecutor, 'query'>) => {
    const { select, params } = unnestRows(rows, columns, types);
    // The same text for any number of rows: prepared once per connection.
    await tx.query(insert(select), params, { prepared: true });
  };
  if (rows.length < COPY_FROM_ROWS || ('oneStatement' in db && db.oneStatement)) return direct(db);
  const staged = async (tx: SqlTransaction) => {
    if (!tx.copy) return direct(tx);
    // Kept for the connection's life and emptied at each commit: no catalog churn per batch.
    // One stage per statement (`target.stage`), since several may share a transaction.
    await tx.query(`CREATE TEMP TABLE IF NOT EXISTS ${target.stage} (LIKE ${target.qualified} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`);
    await tx.copy(target.stage, columns, rows);
    await tx.query(insert(`SELECT ${columns.join(', ')} FROM ${target.stage}`));
  };
  // Inside a caller's transaction the rows stage there; alone, in a transaction of their own.
  if ('transaction' in db) await db.transaction(staged);
  else await staged(db);
}

/** From this many rows, new rows go in with COPY rather than one array INSERT (one round trip fewer). */
export const COPY_NEW_FROM_ROWS = 64;

/**
 * Rows expected to be new, with no conflict handling: plain COPY, or for a few rows one
 * array INSERT. A key that exists after all fails the statement with a unique violation
 * (23505), for the caller to write the batch again another way.
 */
export async function insertNewRows(
  tx: SqlTransaction & Required<Pick<SqlTransaction, 'copy'>>,
  qualified: string,
  columns: readonly string[],
  types: Record<string, string>,
  rows: unknown[][],
): Promise<void> {
  if (rows.length === 0) return;
  if (rows.length >= COPY_NEW_FROM_ROWS && !tx.oneStatement) return tx.copy(qualified, columns, rows);
  const { select, params } = unnestRows(rows, columns, types);
  await tx.query(`INSERT INTO ${qualified} (${columns.join(', ')}) ${select}`, params, { prepared: true });
}

/**
 * Rows whose key is not in the table yet go in with plain COPY, straight into the table:
 * no staging pass and no conflict handling, which is what makes an upsert cost more than
 * COPY. Answers the rows that are there already, for the caller to merge. A row another
 * writer inserts between the check and the COPY makes the COPY fail with a unique
 * violation (23505); the caller then writes the batch again by merging alone.
 */
export async function copyNewRows(
  tx: SqlTransaction & Required<Pick<SqlTransaction, 'copy'>>,
  qualified: string,
  columns: readonly string[],
  key: readonly string[],
  types: Record<string, string>,
  rows: unknown[][],
): Promise<unknown[][]> {
  const at = key.map((k) => columns.indexOf(k));
  const { rows: found } = await tx.query<{ i: string }>(
    `SELECT u.i FROM unnest(${key.map((_, n) => `$${n + 1}::text[]`).join(', ')}) WITH ORDINALITY AS u(${key.join(', ')}, i)
      WHERE EXISTS (SELECT 1 FROM ${qualified} t WHERE ${key.map((c) => `t.${c} = u.${c}${types[c] ? `::${types[c]}` : ''}`).join(' AND ')})`,
    at.map((col) => rows.map((r) => r[col])),
  );
  const existing = new Set(found.map((r) => Number(r.i) - 1));
  const fresh = rows.filter((_, i) => !existing.has(i));
  if (fresh.length) await tx.copy(qualified, columns, fresh);
  return rows.filter((_, i) => existing.has(i));
}

/**
 * Replays re-send records that may already be terminal: a late `running` copy must
 * not overwrite the finished row, so every column keeps its stored value when the
 * stored row has ended and the incoming one has not.
 */
export function keepTerminal(table: 'scopes' | 'actions', column: string): string {
  const keep = `${table}.status <> 'running' AND excluded.status = 'running'`;
  if (!ENCODED_COLUMNS.has(column)) return `CASE WHEN ${keep} THEN ${table}.${column} ELSE excluded.${column} END`;
  // A codec's output differs each time (a fresh IV), so a replay re-emitting the same record
  // would rewrite a sealed row's text; the same record in the same state keeps what is stored.
  const sameEncoded = `${table}.status = excluded.status AND ${table}.${column} LIKE '${ENCODED_TEXT_PREFIX}%' AND excluded.${column} LIKE '${ENCODED_TEXT_PREFIX}%'`;
  return `CASE WHEN ${keep} OR (${sameEncoded}) THEN ${table}.${column} ELSE excluded.${column} END`;
}

/** Columns that hold text encoded with the user's payload codec when the workers have one. */
const ENCODED_COLUMNS: ReadonlySet<string> = new Set(['objective', 'error']);

/** Within one batch, as in the table: a finished copy wins over a `running` one. */
export function finishedWins<T extends { status: string }>(a: T, b: T): T {
  return a.status !== 'running' && b.status === 'running' ? a : b;
}

/**
 * The outcome Temporal took after the worker had counted the attempt as timed out (its
 * timer fired late: worker/activity-interceptor.ts tookLate) says what history says, and
 * stands over the overrun row the worker wrote (attempt-deadline.ts overrunAttempt) in
 * whichever order the two arrive: the overrun row may wait in one worker's spool while
 * the workflow's worker writes the accepted one.
 */
export function acceptedLateStands(stored: { attributes?: Record<string, unknown> | null }, incoming: { attributes?: Record<string, unknown> | null }): boolean {
  return stored.attributes?.['finishedAfterDeadline'] === true && incoming.attributes?.['timedOut'] === true;
}

/** `acceptedLateStands` in an action upsert's ON CONFLICT: the update applies unless it holds. */
export const ACCEPTED_LATE_STANDS_SQL = `NOT (actions.attributes @> '{"finishedAfterDeadline": true}' AND excluded.attributes @> '{"timedOut": true}')`;

/** `finishedWins` for actions, with the accepted late outcome standing over the overrun row. */
export function actionWins<T extends { status: string; attributes?: Record<string, unknown> | null }>(a: T, b: T): T {
  return acceptedLateStands(a, b) ? a : finishedWins(a, b);
}

/** One statement may not touch a row twice, so a batch keeps one record per key. */
export function dedupe<T>(records: readonly T[], key: (r: T) => string, merge: (a: T, b: T) => T): T[] {
  const byKey = new Map<string, T>();
  for (const r of records) {
    const k = key(r);
    const seen = byKey.get(k);
    byKey.set(k, seen === undefined ? r : merge(seen, r));
  }
  return [...byKey.values()];
}

/**
 * `dedupe` for records keyed by namespace and id, with the common case made cheap: a
 * batch of one namespace with no id twice is answered as given, after one pass that
 * only looks the ids up (no key strings built, no map of records). Anything else takes
 * `dedupe` with the same key and merge.
 */
export function dedupeRecords<T extends { namespace: string }>(records: readonly T[], id: (r: T) => string, merge: (a: T, b: T) => T): readonly T[] {
  const slow = () => dedupe(records, (r) => `${r.namespace}\u0000${id(r)}`, merge);
  if (records.length < 2) return records;
  const namespace = records[0]!.namespace;
  const seen = new Set<string>();
  for (const r of records) {
    const key = id(r);
    if (r.namespace !== namespace || seen.has(key)) return slow();
    seen.add(key);
  }
  return records;
}

/** Column types other than text; every value travels as text and is cast once in SQL. */
export const SCOPE_TYPES: Record<string, string> = {
  allowance: 'jsonb', depth: 'integer', recovered: 'boolean', started_at: 'timestamptz', ended_at: 'timestamptz',
  open_calls: 'jsonb', session_started_at: 'timestamptz',
};
export const ACTION_TYPES: Record<string, string> = {
  attempt: 'integer', resources: 'jsonb', attributes: 'jsonb', started_at: 'timestamptz', ended_at: 'timestamptz',
  session_started_at: 'timestamptz',
};

/**
 * Many rows as one array parameter per column: `SELECT ... FROM unnest($1::text[], ...)`.
 * The statement text is the same for any number of rows (one parse, one plan, no
 * 65535-parameter limit), and the server reads arrays far faster than VALUES lists.
 */
export function unnestRows(
  rows: readonly (readonly unknown[])[],
  columns: readonly string[],
  types: Record<string, string>,
): { select: string; params: unknown[] } {
  const params = columns.map((_, i) => arrayLiteral(rows.map((r) => asText(r[i]))));
  const casts = columns.map((c) => (types[c] ? `u.${c}::${types[c]} AS ${c}` : `u.${c}`));
  return {
    select: `SELECT ${casts.join(', ')} FROM unnest(${columns.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${columns.join(', ')})`,
    params,
  };
}

/**
 * A text array as Postgres reads it from text (`{"a","b",NULL}`): every element quoted, its
 * quotes and backslashes escaped, so any text comes back as it went in; null is NULL.
 * Built with one `join`, flat: the driver, given an array, concatenates it element by
 * element into a string of thousands of pieces per column, then flattens it for the
 * socket. That was a quarter of what the worker's thread allocated under a sustained
 * write load (1.5 of 4 GB sampled in bench/optimizations.md's run; 0.4 GB this way).
 */
export function arrayLiteral(items: readonly (string | null)[]): string {
  if (items.length === 0) return '{}';
  for (const item of items) {
    if (item === null || ESCAPED.test(item)) return `{${items.map(arrayElement).join(',')}}`;
  }
  return `{"${items.join('","')}"}`;
}

const ESCAPED = /["\\]/;

function arrayElement(item: string | null): string {
  if (item === null) return 'NULL';
  return `"${ESCAPED.test(item) ? item.replace(/["\\]/g, '\\$&') : item}"`;
}

function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : String(value);
}

export function* chunks<T>(rows: T[], columns: number): Generator<T[]> {
  const size = Math.max(1, Math.floor(MAX_PARAMS / columns));
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

export function valuesClause(rows: unknown[][], columns: number): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    const start = params.length;
    params.push(...row);
    return `(${Array.from({ length: columns }, (_, i) => `$${start + i + 1}`).join(', ')})`;
  });
  return { text: tuples.join(', '), params };
}
