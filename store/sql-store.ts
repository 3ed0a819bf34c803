/**
 * One SQL implementation of the Store for both backends: node-postgres and PGlite
 * speak the same dialect and the same `$n` parameters, so only the executor differs.
 * Every value reaches the database as a parameter; identifiers (the schema name) are
 * validated before they are spliced in.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Manifest, type ActionRecord, type ScopeRecord } from '../cim/schemas';
import { KeyedSignature, type Signer } from '../cim/keyed-signature';
import { invalidManifestText, manifestSigningText, type InvalidManifestRow, type StoredManifest, type StoredManifests } from '../cim/manifest-signature';
import { toolSpecSigningText } from '../cim/tool-spec-signature';
import { ACTION_COLUMNS, SCOPE_COLUMNS, actionReadColumns, actionRow, scopeReadColumns, clean, escapeLike, readAction, readScope, readScopePlace, scopeRow, storableText, tryRead, type InvalidRow } from './rows';
import type { ActionsUnderOptions, CommittedActions, ListSessionsOptions, LocatedScope, PayloadRecord, ScopeKey, SealConfirm, ServedToolSpec, SealedRows, SessionChains, SessionListingRows, Store, StoreBatch, StoredChain, RunningScope, SessionKey, UnsealedScope, WorkflowInStore, WriteGuard, WriteReceipt } from './types';
import { ACTION_TYPES, COPY_FROM_ROWS, SCOPE_TYPES, chunks, copyNewRows, ACCEPTED_LATE_STANDS_SQL, actionWins, dedupe, dedupeRecords, finishedWins, insertNewRows, insertRows, keepTerminal, unnestRows, valuesClause } from './bulk-write';
import { RunningRows } from './running-rows';
import { mayBeSealed } from './open-calls';
import { NotOneStatement, StatementCollector } from './one-statement';
import { sealScopes } from './seal';
import type { ScopePlace } from '../cim/forensics/footprint';
import { footprintReadColumns, readFootprintRows, type FootprintRows } from './footprint-rows';
import { backfillUsageRollup, rebuildUsageRollup, rolledUpUsage, usageDifferences } from './usage-rollup';
import { agentUsage } from './usage-queries';
import type { AgentUsage, UsageDifference } from '../cim/forensics/usage';
import { SqlFingerprintStore, type FingerprintStore } from './fingerprint-store';
import { SqlReceiptStore, type ReceiptStore } from './receipt-store';
import { SqlDashboardQueries, type DashboardQueries } from './dashboard-queries';
import { Partitions, monthOf, nextMonth, sessionStartText } from './partitions';
import { SqlRetention, type Retention } from './prune';
import { linksOfScopeRow } from './chain-links';
import { InvalidOptionError } from '../cim/invalid-field';
import { isoTime } from './row-times';
import { afterEarlierAttempts } from './rebuilt-attempts';
import { sessionListingRows } from './session-listing';
import { FILED_TABLES, type FiledRows, type FiledTable } from './placement-check';

export interface SqlExecutor {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<{ rows: R[] }>;
  /** Runs several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

export interface TransactionOptions {
  /**
   * A statement without parameters to run first, sent with BEGIN where the backend can
   * (one round trip instead of two); its rows are `tx.opening`.
   */
  opening?: string;
}

export interface QueryOptions {
  /**
   * The text is one of a few fixed statements run on every write, or a read by id alone
   * (whose planning over every month's partition costs more than its execution): a backend
   * that can keeps it parsed and planned per connection instead of doing both on each call.
   */
  prepared?: boolean;
  /**
   * A recount over the whole namespace (verify-usage, its repair, the rollup's backfill):
   * minutes at tens of millions of rows, so it is not held to the read timeout that lets the
   * write path learn fast that the store is down.
   */
  long?: boolean;
}

export interface SqlTransaction extends Pick<SqlExecutor, 'query' | 'exec'> {
  /** Bulk load with COPY, where the backend has it (node-postgres does; PGlite does not). */
  copy?(table: string, columns: readonly string[], rows: Iterable<readonly unknown[]>): Promise<void>;
  /**
   * How upserts in this transaction write rows that are not in the table yet: `guess`
   * takes every row this store did not write as `running` for new and inserts it without
   * conflict handling (store/running-rows.ts); `check` asks the table which keys exist
   * and COPYs the others (bulk-write.ts copyNewRows); unset, every row is merged.
   */
  newRows?: 'guess' | 'check';
  /** The rows of TransactionOptions.opening, where the backend ran it with BEGIN. */
  opening?: Array<Record<string, unknown>>;
  /**
   * Statements are collected into one (store/one-statement.ts): rows go in with array
   * statements whatever their number, never COPY or a staging table.
   */
  oneStatement?: boolean;
}

export interface SqlStoreOptions {
  schema?: string;
  /** The server and database, or the data folder, these tables are in (see Store.location); the schema is added. */
  location?: string;
  /** Temporal namespace whose records reads return. */
  namespace?: string;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
/**
 * Scope ids are unique by construction (a session's id, then `.n` and `~n`), but the key of
 * a row also holds its month: a row written into another month under an existing scope id
 * is accepted by the table. A lookup by id then takes the row of the session the id names
 * (the id up to its first `.` or `~`), and otherwise the oldest, never whichever comes first.
 */
const ROW_OF_ITS_SESSION_FIRST = `ORDER BY (s.session_id = regexp_replace(s.scope_id, '[.~].*$', '')) DESC, s.session_started_at, s.session_id LIMIT 1`;
/** The current transaction's id as `xmin` shows it on the rows it writes (32 bits). */
const XID = `SELECT (txid_current() % 4294967296)::text AS xid`;
const MIGRATIONS_DIR = join(__dirname, 'migrations');



export class SqlStore implements Store {
  readonly schema: string;
  readonly namespace: string;
  readonly location: string;
  protected readonly partitions: Partitions;
  /** Rows this store wrote as `running`: the ones a batch expects to replace. */
  private readonly running = new RunningRows();

  constructor(
    protected readonly db: SqlExecutor,
    readonly description: string,
    options: SqlStoreOptions = {},
  ) {
    this.schema = options.schema ?? 'scopetrail';
    this.namespace = options.namespace ?? 'default';
    this.location = `${options.location ?? description} schema ${this.schema}`;
    if (!IDENT.test(this.schema)) {
      throw new InvalidOptionError(`store: invalid field "schema": "${this.schema}" must be a lowercase SQL identifier`, 'schema');
    }
    this.partitions = new Partitions(db, this.schema);
  }

  protected t(table: string): string {
    return `"${this.schema}".${table}`;
  }

  async prepared(): Promise<boolean> {
    const { rows } = await this.db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [`"${this.schema}".migrations`]);
    return rows[0]?.ok === true;
  }

  /** Whether every migration this version ships is applied: read only, for readers that must not write. */
  async upToDate(): Promise<boolean> {
    const { rows } = await this.db.query<{ version: number }>(`SELECT version FROM ${this.t('migrations')}`);
    const applied = new Set(rows.map((r) => Number(r.version)));
    return migrationFiles().every((f) => applied.has(Number(f.split('_')[0])));
  }

  async migrate(): Promise<void> {
    const files = migrationFiles();
    await this.db.transaction(async (tx) => {
      // Serialize concurrent migrators (two workers starting at once).
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`scopetrail-migrate:${this.schema}`]);
      await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${this.schema}";
        CREATE TABLE IF NOT EXISTS ${this.t('migrations')} (
          version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());`);
      const { rows } = await tx.query<{ version: number }>(`SELECT version FROM ${this.t('migrations')}`);
      const applied = new Set(rows.map((r) => Number(r.version)));
      for (const file of files) {
        const version = Number(file.split('_')[0]);
        if (applied.has(version)) continue;
        const sql = readFileSync(join(MIGRATIONS_DIR, file), 'utf8')
          .replaceAll('{{schema}}', `"${this.schema}"`)
          .replaceAll('{{schema_name}}', this.schema);
        await tx.exec(sql);
        await tx.query(`INSERT INTO ${this.t('migrations')} (version, name) VALUES ($1, $2)`, [version, file]);
      }
    });
    await backfillUsageRollup(this.db, (table) => this.t(table));
  }

  /**
   * Everything one group commit holds, in one transaction: one commit (one WAL flush)
   * per batch instead of one per table, and the scopes that ended become visible to a
   * sealer together with their actions.
   */
  async writeBatch(given: StoreBatch, guard?: WriteGuard): Promise<WriteReceipt> {
    // Placed first, outside the transaction: finding a session's start and creating a month's
    // partitions use their own connection (PGlite has only one, which the transaction holds).
    const batch = await this.placeBatch(given);
    // A key guessed new, or found missing, that another writer had inserted fails the
    // attempt with a unique violation: the next way is slower and cannot fail that way.
    const ways = ['guess', 'check', undefined] as const;
    for (let i = 0; ; i++) {
      try {
        const receipt = await this.writeBatchOnce(batch, ways[i], guard);
        const written = receipt.written ?? batch;
        const running = this.running;
        for (const a of written.actions ?? []) {
          if (a.status === 'running' || running.size > 0) running.written(RunningRows.key('actions', a.namespace, a.actionId, a.sessionStartedAt), a.status === 'running');
        }
        for (const s of written.scopes ?? []) {
          if (s.status === 'running' || running.size > 0) running.written(RunningRows.key('scopes', s.namespace, s.scopeId, s.sessionStartedAt), s.status === 'running');
        }
        return receipt;
      } catch (err) {
        if ((err as { code?: unknown }).code !== '23505' || i === ways.length - 1) throw err;
      }
    }
  }

  /**
   * The batch with every record's session start filled in, and the records of pruned
   * months left out. All kinds are placed together, so a session's scopes and actions
   * that arrive in one batch without a start agree on one.
   */
  private async placeBatch(batch: StoreBatch): Promise<StoreBatch> {
    if (await this.partitions.carriedAndKept([batch.scopes, batch.actions, batch.gaps, batch.fingerprints])) return batch;
    type Kind = 'scopes' | 'actions' | 'gaps' | 'fingerprints';
    type Item = { kind: Kind; namespace: string; sessionId: string; sessionStartedAt?: string; at: string; record: object };
    const items: Item[] = [];
    const add = <T extends { namespace: string; sessionId: string; sessionStartedAt?: string }>(kind: Kind, list: readonly T[] | undefined, at: (r: T) => string) => {
      for (const r of list ?? []) items.push({ kind, namespace: r.namespace, sessionId: r.sessionId, sessionStartedAt: r.sessionStartedAt, at: at(r), record: r });
    };
    add('scopes', batch.scopes, (r) => r.startedAt);
    add('actions', batch.actions, (r) => r.startedAt);
    add('gaps', batch.gaps, (r) => r.startedAt);
    add('fingerprints', batch.fingerprints, (r) => r.producedAt);
    if (items.length === 0) return batch;
    const placed = await this.partitions.place(items, (i) => i.at);
    const of = <T>(kind: Kind): T[] | undefined =>
      batch[kind] &&
      placed
        .filter((p) => p.record.kind === kind)
        .map((p) => (p.record.sessionStartedAt === p.sessionStartedAt ? p.record.record : { ...p.record.record, sessionStartedAt: p.sessionStartedAt }) as T);
    return { ...batch, scopes: of('scopes'), actions: of('actions'), gaps: of('gaps'), fingerprints: of('fingerprints') };
  }

  private async writeBatchOnce(batch: StoreBatch, newRows: SqlTransaction['newRows'], guard?: WriteGuard): Promise<WriteReceipt> {
    if (!guard && newRows === 'guess' && oneStatementFits(batch)) {
      const receipt = await this.writeAsOneStatement(batch);
      if (receipt) return receipt;
    }
    return this.db.transaction(async (inner) => {
      const tx: SqlTransaction = { ...inner, newRows: inner.copy ? newRows : undefined };
      // The id as `xmin` shows it on the rows this transaction writes (see seal-source.ts).
      const xid = (inner.opening ?? (await tx.query<{ xid: string }>(XID, [], { prepared: true })).rows)[0]?.xid;
      const written = guard ? await guard(await this.sealedRowsIn(tx, [...(batch.actions ?? []), ...(batch.gaps ?? [])], true, batch.scopes)) : batch;
      await this.writeParts(written, tx);
      return { xid: typeof xid === 'string' ? xid : null, ...(guard ? { written } : {}) };
    }, { opening: XID });
  }

  /**
   * The batch's INSERTs sent as one statement (store/one-statement.ts); undefined when
   * one of them cannot be part of it, and the batch is then written in a transaction.
   */
  private async writeAsOneStatement(batch: StoreBatch): Promise<WriteReceipt | undefined> {
    const collector = new StatementCollector();
    try {
      await this.writeParts(batch, collector.transaction());
    } catch (err) {
      if (err instanceof NotOneStatement) return undefined;
      throw err;
    }
    if (collector.size === 0) return undefined;
    const { sql, params } = collector.combined(XID);
    try {
      const { rows } = await this.db.query<{ xid: string }>(sql, params, { prepared: true });
      const xid = rows[0]?.xid;
      return { xid: typeof xid === 'string' ? xid : null };
    } catch (err) {
      if (isMissingPartition(err)) this.partitions.forgetAll();
      throw err;
    }
  }

  private async writeParts(batch: StoreBatch, tx: SqlTransaction): Promise<void> {
    if (batch.actions?.length) await this.upsertActions(batch.actions, tx);
    if (batch.payloads?.length) await this.upsertPayloads(batch.payloads, tx);
    // Gap fills go after the actions: a finished record in this same batch must win over them.
    if (batch.gaps?.length) await this.fillActionGaps(batch.gaps, tx);
    if (batch.scopes?.length) await this.upsertScopes(batch.scopes, tx);
    if (batch.fingerprints?.length) {
      await new SqlFingerprintStore(tx, this.t('output_fingerprints'), this.namespace, this.partitions).upsert(batch.fingerprints);
    }
  }

  async upsertScopes(records: readonly ScopeRecord[], tx?: SqlTransaction): Promise<void> {
    const unique = dedupeRecords(records, (r) => r.scopeId, finishedWins);
    if (unique.length === 0) return;
    const placed = await this.partitions.place(unique, (r) => r.startedAt);
    const update = SCOPE_COLUMNS.filter((c) => !['scope_id', 'namespace', 'started_at', 'session_started_at'].includes(c))
      .map((c) => `${c} = ${keepTerminal('scopes', c)}`)
      .join(', ');
    await this.insertRows(tx, 'scopes', SCOPE_COLUMNS, SCOPE_TYPES, placed.map((p) => scopeRow(p.record, p.sessionStartedAt)),
      `ON CONFLICT (namespace, scope_id, session_started_at) DO UPDATE SET ${update},
         started_at = LEAST(scopes.started_at, excluded.started_at)`);
  }

  async upsertActions(records: readonly ActionRecord[], tx?: SqlTransaction): Promise<void> {
    const unique = dedupeRecords(records, (r) => r.actionId, actionWins);
    if (unique.length === 0) return;
    const placed = await this.partitions.place(unique, (r) => r.startedAt);
    const update = ACTION_COLUMNS.filter((c) => !['action_id', 'namespace', 'session_started_at'].includes(c))
      .map((c) => `${c} = ${keepTerminal('actions', c)}`)
      .join(', ');
    await this.insertRows(tx, 'actions', ACTION_COLUMNS, ACTION_TYPES, placed.map((p) => actionRow(p.record, p.sessionStartedAt)),
      `ON CONFLICT (namespace, action_id, session_started_at) DO UPDATE SET ${update} WHERE ${ACCEPTED_LATE_STANDS_SQL}`);
  }

  async fillActionGaps(records: readonly ActionRecord[], tx?: SqlTransaction): Promise<void> {
    const deduped = dedupeRecords(records, (r) => r.actionId, (_a, b) => b);
    if (deduped.length === 0) return;
    const unique = await afterEarlierAttempts(tx ?? this.db, this.t('actions'), deduped);
    const placed = await this.partitions.place(unique, (r) => r.startedAt);
    await this.insertRows(tx, 'actions', ACTION_COLUMNS, ACTION_TYPES, placed.map((p) => actionRow(p.record, p.sessionStartedAt)),
      `ON CONFLICT (namespace, action_id, session_started_at) DO UPDATE SET status = excluded.status, error = excluded.error,
         ended_at = excluded.ended_at, attributes = actions.attributes || excluded.attributes
       WHERE actions.status = 'running'`, 'gaps');
  }

  private async insertRows(
    tx: SqlTransaction | undefined,
    table: 'scopes' | 'actions',
    columns: readonly string[],
    types: Record<string, string>,
    rows: unknown[][],
    onConflict: string,
    /** Gap fills and upserts of actions may share a transaction: each stages apart. */
    purpose: string = table,
  ): Promise<void> {
    if (rows.length === 0) return;
    const stage = `scopetrail_stage_${this.schema}_${purpose}`;
    const target = { table, qualified: this.t(table), stage };
    try {
      // The same key as the upsert's ON CONFLICT target.
      const key = table === 'scopes' ? ['namespace', 'scope_id', 'session_started_at'] : ['namespace', 'action_id', 'session_started_at'];
      if (tx?.newRows === 'guess' && tx.copy && purpose === table) {
        const copying = tx as SqlTransaction & Required<Pick<SqlTransaction, 'copy'>>;
        const [ns, id, placed] = key.map((k) => columns.indexOf(k)) as [number, number, number];
        const known: unknown[][] = [];
        const fresh: unknown[][] = [];
        for (const row of rows) (this.running.size > 0 && this.running.has(RunningRows.key(table, row[ns], row[id], row[placed])) ? known : fresh).push(row);
        await insertNewRows(copying, target.qualified, columns, types, fresh);
        if (known.length) await insertRows(tx, target, columns, types, known, onConflict);
        return;
      }
      // Small batches: one array statement costs less than a check and a COPY.
      if (tx?.newRows === 'check' && tx.copy && purpose === table && rows.length >= COPY_FROM_ROWS) {
        const copying = tx as SqlTransaction & Required<Pick<SqlTransaction, 'copy'>>;
        const existing = await copyNewRows(copying, target.qualified, columns, key, types, rows);
        if (existing.length) await insertRows(tx, target, columns, types, existing, onConflict);
        return;
      }
      await insertRows(tx ?? this.db, target, columns, types, rows, onConflict);
    } catch (err) {
      // Another process pruned a month this one had seen: the recorder retries the batch, and
      // the retry finds out again which months exist (and discards those pruned).
      if (isMissingPartition(err)) this.partitions.forgetAll();
      throw err;
    }
  }

  /**
   * Creates the monthly partitions for sessions starting from `from` until `to` ahead of
   * use (writes create a missing month themselves; this is for bulk loads). Answers the
   * months refused because retention removed them.
   */
  async preparePartitions(from: string | Date, to: string | Date): Promise<number[]> {
    const months: number[] = [];
    for (let m = monthOf(from); m < Date.parse(new Date(to).toISOString()); m = nextMonth(m)) months.push(m);
    return [...(await this.partitions.ensure(months))];
  }

  sealScopes(scopes: readonly ScopeKey[], confirm?: SealConfirm, committed?: CommittedActions): Promise<void> {
    return sealScopes(this.db, (table) => this.t(table), scopes, confirm, committed);
  }

  sealedRowsOf(actions: readonly Pick<ActionRecord, 'namespace' | 'scopeId' | 'actionId'>[], scopes: readonly Pick<ScopeRecord, 'namespace' | 'scopeId'>[] = []): Promise<SealedRows> {
    return this.sealedRowsIn(this.db, actions, false, scopes);
  }

  /**
   * With `lock`, the scopes' rows are locked `FOR KEY SHARE` until the transaction ends: a
   * sealer locks them `FOR UPDATE` (seal.ts), so it waits for this transaction, or this one
   * waits for it and reads the seal it committed. Other writers' updates of the rows do not
   * wait (they take `FOR NO KEY UPDATE`). Ids are locked in sorted order, as the sealer locks.
   */
  private async sealedRowsIn(
    db: Pick<SqlExecutor, 'query'>,
    actions: readonly Pick<ActionRecord, 'namespace' | 'scopeId' | 'actionId'>[],
    lock: boolean,
    scopes: readonly Pick<ScopeRecord, 'namespace' | 'scopeId'>[] = [],
  ): Promise<SealedRows> {
    const sealedScopes = new Set<string>();
    const stored = new Map<string, ActionRecord>();
    const storedScopes = new Map<string, ScopeRecord>();
    for (const ns of [...new Set([...actions, ...scopes].map((a) => a.namespace))].sort()) {
      const mine = actions.filter((a) => a.namespace === ns);
      const asked = new Set(scopes.filter((s) => s.namespace === ns).map((s) => s.scopeId));
      // Looked up id by id through the index, as the sealer does: `= ANY` on a month without
      // statistics reads the whole namespace.
      const { rows } = await db.query<{ scope_id: string; sealed: boolean }>(
        `SELECT s.scope_id, s.sealed FROM unnest($2::text[]) AS ids(scope_id)
           CROSS JOIN LATERAL (
             SELECT l.scope_id, l.chain_length IS NOT NULL AS sealed FROM ${this.t('scopes')} l
              WHERE l.namespace = $1 AND l.scope_id = ids.scope_id${lock ? ' FOR KEY SHARE' : ''}) s`,
        [ns, [...new Set([...mine.map((a) => a.scopeId), ...asked])].sort()],
      );
      const sealed = new Set(rows.filter((r) => r.sealed).map((r) => r.scope_id));
      if (sealed.size === 0) continue;
      for (const id of sealed) sealedScopes.add(`${ns}\u0000${id}`);
      // A row that no longer reads as a record is left out: what arrives for it is kept aside, not written over it.
      await this.readRowsById(db, 'scopes', ns, [...asked].filter((id) => sealed.has(id)), readScope, storedScopes);
      await this.readRowsById(db, 'actions', ns, mine.filter((a) => sealed.has(a.scopeId)).map((a) => a.actionId), readAction, stored);
    }
    return { sealedScopes, stored, storedScopes };
  }

  /** Rows of `table` by id, one index probe each, into `into` by namespace and id; rows that do not read as records are left out. */
  private async readRowsById<T>(
    db: Pick<SqlExecutor, 'query'>,
    table: 'scopes' | 'actions',
    ns: string,
    ids: readonly string[],
    read: (row: Record<string, unknown>) => T,
    into: Map<string, T>,
  ): Promise<void> {
    if (ids.length === 0) return;
    const id = table === 'scopes' ? 'scope_id' : 'action_id';
    const columns = table === 'scopes' ? scopeReadColumns('r') : actionReadColumns('r');
    const { rows } = await db.query(
      `SELECT x.* FROM unnest($2::text[]) AS ids(id)
         CROSS JOIN LATERAL (SELECT ${columns} FROM ${this.t(table)} r WHERE r.namespace = $1 AND r.${id} = ids.id) x`,
      [ns, ids],
    );
    for (const row of rows) {
      const found = tryRead(read, row);
      if (found.ok) into.set(`${ns}\u0000${row[id] as string}`, found.value);
    }
  }

  async unsealedScopes(limit: number): Promise<UnsealedScope[]> {
    const { rows } = await this.db.query<{ namespace: string; scope_id: string; workflow_id: string; run_id: string; started: string }>(
      `SELECT namespace, scope_id, workflow_id, run_id, ${sessionStartText('session_started_at')} AS started FROM ${this.t('scopes')} s
        WHERE status <> 'running' AND chain_length IS NULL AND ${mayBeSealed('s', this.t('actions'), '$2')} LIMIT $1`,
      [limit, new Date().toISOString()],
    );
    return rows.map((r) => ({
      namespace: r.namespace,
      scopeId: r.scope_id,
      sessionStartedAt: r.started,
      run: { namespace: r.namespace, workflowId: r.workflow_id, runId: r.run_id },
    }));
  }

  async sessionsOfWorkflows(workflowIds: readonly string[]): Promise<Map<string, WorkflowInStore>> {
    const found = new Map<string, WorkflowInStore>();
    if (workflowIds.length === 0) return found;
    const ids = [...new Set(workflowIds)];
    const { rows: scopes } = await this.db.query<{ scope_id: string; session_id: string; run_id: string }>(
      `SELECT scope_id, session_id, run_id FROM ${this.t('scopes')} WHERE namespace = $1 AND scope_id = ANY($2::text[])`,
      [this.namespace, ids],
    );
    for (const r of scopes) found.set(r.scope_id, { sessionId: r.session_id, runId: r.run_id });
    const rest = ids.filter((id) => !found.has(id));
    if (rest.length === 0) return found;
    const { rows: targets } = await this.db.query<{ target_scope_id: string; session_id: string }>(
      `SELECT DISTINCT target_scope_id, session_id FROM ${this.t('actions')} WHERE namespace = $1 AND target_scope_id = ANY($2::text[])`,
      [this.namespace, rest],
    );
    for (const r of targets) found.set(r.target_scope_id, { sessionId: r.session_id, runId: null });
    return found;
  }

  async runningScopes(options: { startedBefore: string; after?: { startedAt: string; scopeId: string }; limit: number }): Promise<RunningScope[]> {
    const params: unknown[] = [this.namespace, options.startedBefore, options.limit];
    if (options.after) params.push(options.after.startedAt, options.after.scopeId);
    const { rows } = await this.db.query<{ session_id: string; scope_id: string; started_at: unknown; workflow_id: string; run_id: string }>(
      `SELECT session_id, scope_id, started_at, workflow_id, run_id FROM ${this.t('scopes')}
        WHERE namespace = $1 AND status = 'running' AND started_at < $2 ${options.after ? 'AND (started_at, scope_id) > ($4, $5)' : ''}
        ORDER BY started_at, scope_id LIMIT $3`,
      params,
    );
    return rows.map((r) => ({
      namespace: this.namespace,
      scopeId: r.scope_id,
      sessionId: r.session_id,
      startedAt: isoTime(r.started_at) ?? options.startedBefore,
      run: { namespace: this.namespace, workflowId: r.workflow_id, runId: r.run_id },
    }));
  }

  async chainsOfSession(sessionId: string): Promise<SessionChains> {
    const { rows: scopeRows } = await this.db.query(
      `SELECT * FROM ${this.t('scopes')} WHERE namespace = $1 AND session_id = $2 ORDER BY started_at, scope_id`,
      [this.namespace, sessionId],
    );
    const { rows: actionRows } = await this.db.query(
      `SELECT * FROM ${this.t('actions')} WHERE namespace = $1 AND session_id = $2 ORDER BY action_id`,
      [this.namespace, sessionId],
    );
    // Links are matched to actions by id: a link whose action row is gone is no evidence of
    // anything by itself (the chain shows the gap), and an action without one is unsealed.
    const { rows: linkRows } = await this.db.query<{ action_id: string; chain_seq: number; prev_hash: string; hash: string }>(
      `SELECT action_id, chain_seq, prev_hash, hash FROM ${this.t('action_chain')} WHERE namespace = $1 AND session_id = $2`,
      [this.namespace, sessionId],
    );
    const { rows: chainRows } = await this.db.query<{ scope_id: string; action_ids: unknown; hashes: unknown }>(
      `SELECT scope_id, action_ids, hashes FROM ${this.t('scope_chains')} WHERE namespace = $1 AND session_id = $2`,
      [this.namespace, sessionId],
    );
    const links = new Map(linkRows.map((l) => [l.action_id, l]));
    for (const row of chainRows) for (const l of linksOfScopeRow(this.namespace, row)) links.set(l.action_id, l);
    // A row that does not parse is a finding of its own, never a reason to stop verifying the rest.
    const invalid: InvalidRow[] = [];
    const chains: StoredChain[] = [];
    const byScope = new Map<string, StoredChain['actions']>();
    for (const a of actionRows) {
      const read = tryRead(readAction, a);
      if (!read.ok) {
        invalid.push(read.invalid);
        continue;
      }
      const list = byScope.get(read.value.scopeId) ?? [];
      const link = links.get(read.value.actionId);
      list.push({
        record: read.value,
        seq: link ? Number(link.chain_seq) : null,
        prevHash: link?.prev_hash ?? null,
        hash: link?.hash ?? null,
      });
      byScope.set(read.value.scopeId, list);
    }
    // Chain order, unsealed actions last (as verify and the export list them).
    for (const list of byScope.values()) list.sort((x, y) => (x.seq === null ? 1 : 0) - (y.seq === null ? 1 : 0) || (x.seq ?? 0) - (y.seq ?? 0));
    for (const row of scopeRows) {
      const read = tryRead(readScope, row);
      if (!read.ok) {
        invalid.push(read.invalid);
        continue;
      }
      chains.push({
        scope: read.value,
        chainLength: row.chain_length === null || row.chain_length === undefined ? null : Number(row.chain_length),
        chainHead: (row.chain_head as string | null) ?? null,
        scopeHash: (row.scope_hash as string | null) ?? null,
        actions: byScope.get(read.value.scopeId) ?? [],
      });
    }
    // An action under a scope the session has no row for belongs to no chain: without this it
    // would be read past, and the session verify clean with a row slipped in.
    const scoped = new Set([...chains.map((c) => c.scope.scopeId), ...invalid.filter((r) => r.table === 'scopes').map((r) => r.id)]);
    for (const [scopeId, list] of byScope) {
      if (scoped.has(scopeId)) continue;
      for (const { record } of list) {
        invalid.push({
          table: 'actions', id: record.actionId, scopeId, sessionId, field: 'scopeId',
          message: `names scope "${scopeId}", which session ${sessionId} has no row for`,
        });
      }
    }
    return { chains, invalid, filed: await this.filedRows(sessionId) };
  }

  /** The session's rows in each table, grouped by the session start (partition key) each carries. */
  filedRowsOfSession(sessionId: string): Promise<FiledRows[]> {
    return this.filedRows(sessionId);
  }

  private async filedRows(sessionId: string): Promise<FiledRows[]> {
    const ids: Record<FiledTable, string> = {
      scopes: 'scope_id', actions: 'action_id', action_chain: 'action_id', scope_chains: 'scope_id', output_fingerprints: 'source_id',
    };
    const parts = FILED_TABLES.map(
      (table) => `SELECT '${table}' AS t, (extract(epoch FROM session_started_at) * 1000000)::bigint::text AS micros, count(*)::int AS n,
        (array_agg(${ids[table]} ORDER BY ${ids[table]}))[1:5] AS ids, (array_agg(scope_id ORDER BY ${ids[table]}))[1:5] AS scope_ids
        FROM ${this.t(table)} WHERE namespace = $1 AND session_id = $2 GROUP BY session_started_at`,
    );
    const { rows } = await this.db.query<{ t: FiledTable; micros: string; n: number; ids: string[]; scope_ids: string[] }>(
      parts.join('\nUNION ALL\n'),
      [this.namespace, sessionId],
    );
    return rows.map((r) => ({
      table: r.t,
      startedAtMicros: BigInt(r.micros),
      rows: Number(r.n),
      sample: r.ids.map((id, i) => ({ id, scopeId: r.scope_ids[i] ?? id })),
    }));
  }

  async fillScopeGaps(records: readonly ScopeRecord[]): Promise<number> {
    let filled = 0;
    for (const r of records) {
      const { rows } = await this.db.query(
        `UPDATE ${this.t('scopes')} SET status = $3, error = $4, ended_at = $5, open_calls = COALESCE($6::jsonb, open_calls), failed_by = COALESCE($7, failed_by)
         WHERE namespace = $1 AND scope_id = $2 AND status = 'running' RETURNING scope_id`,
        [r.namespace, r.scopeId, r.status, r.error === null ? null : storableText(r.error), r.endedAt, r.openCalls === undefined ? null : JSON.stringify(r.openCalls), r.failedBy ?? null],
      );
      if (rows.length === 0 && r.status !== 'running') filled += await this.insertAbsentScope(r);
      else filled += rows.length;
    }
    return filled;
  }

  /**
   * A scope no row of exists (its run closed before any of its code ran): written whole.
   * Whatever row exists by then, under any partition, stays as it is.
   */
  private async insertAbsentScope(r: ScopeRecord): Promise<number> {
    const exists = await this.db.query(`SELECT 1 FROM ${this.t('scopes')} WHERE namespace = $1 AND scope_id = $2 LIMIT 1`, [r.namespace, r.scopeId]);
    if (exists.rows.length) return 0;
    const [placed] = await this.partitions.place([r], (x) => x.startedAt);
    // Its month pruned: the session's rows are gone, and so is the place for this one.
    if (!placed) return 0;
    const { select, params } = unnestRows([scopeRow(placed.record, placed.sessionStartedAt)], SCOPE_COLUMNS, SCOPE_TYPES);
    const { rows } = await this.db.query(`INSERT INTO ${this.t('scopes')} (${SCOPE_COLUMNS.join(', ')}) ${select} ON CONFLICT DO NOTHING RETURNING scope_id`, params);
    return rows.length;
  }

  async callPayloadsOfSession(sessionId: string): Promise<Array<{ actionId: string; side: 'input' | 'output'; body: unknown }>> {
    const { rows } = await this.db.query<{ action_id: string; side: string; body: unknown }>(
      `SELECT p.action_id, p.side, p.body FROM ${this.t('actions')} a
         JOIN ${this.t('payloads')} p ON p.namespace = a.namespace AND p.action_id = a.action_id
        WHERE a.namespace = $1 AND a.session_id = $2 AND a.kind IN ('tool_call', 'llm_call')
        ORDER BY p.action_id, p.side`,
      [this.namespace, sessionId],
    );
    return rows.map((r) => ({ actionId: r.action_id, side: r.side === 'input' ? 'input' : 'output', body: r.body }));
  }

  async handoffPayload(scopeId: string): Promise<unknown | undefined> {
    const { rows } = await this.db.query(
      `SELECT p.body FROM ${this.t('actions')} a
         JOIN ${this.t('payloads')} p ON p.namespace = a.namespace AND p.action_id = a.action_id AND p.side = 'input'
        WHERE a.namespace = $1 AND a.scope_id = $2 AND a.kind = 'handoff'
        ORDER BY a.action_id LIMIT 1`,
      [this.namespace, scopeId],
    );
    return (rows[0] as { body?: unknown } | undefined)?.body;
  }

  async upsertPayloads(records: readonly PayloadRecord[], tx?: SqlTransaction): Promise<void> {
    const rows = dedupe(records, (r) => `${r.namespace}\u0000${r.actionId}\u0000${r.side}`, (_a, b) => b);
    for (const chunk of chunks(rows, 4)) {
      const { text, params } = valuesClause(
        chunk.map((r) => clean([r.namespace, r.actionId, r.side, JSON.stringify(clean(r.body ?? null))])),
        4,
      );
      await (tx ?? this.db).query(
        `INSERT INTO ${this.t('payloads')} (namespace, action_id, side, body) VALUES ${text}
         ON CONFLICT (namespace, action_id, side) DO UPDATE SET body = excluded.body`,
        params,
      );
    }
  }

  async upsertManifests(manifests: readonly Manifest[], signer?: Signer): Promise<void> {
    const rows = dedupe(manifests, (m) => `${m.name}\u0000${m.version}`, (_a, b) => b);
    for (const chunk of chunks(rows, 3)) {
      const { text, params } = valuesClause(
        chunk.map((m) => clean([m.name, m.version, JSON.stringify(clean(m)), signer ? signer.sign(manifestSigningText(m)) : null, signer?.keyId ?? null])),
        5,
      );
      // The signature goes with the manifest it covers: a row rewritten unsigned loses the old one.
      await this.db.query(
        `INSERT INTO ${this.t('manifests')} (agent, version, manifest, signature, signature_key) VALUES ${text}
         ON CONFLICT (agent, version) DO UPDATE SET manifest = excluded.manifest, signature = excluded.signature,
           signature_key = excluded.signature_key, updated_at = now()`,
        params,
      );
    }
  }

  async upsertToolSpecs(specs: readonly ServedToolSpec[], signer?: Signer): Promise<void> {
    const rows = dedupe(specs, (s) => `${s.taskQueue}\u0000${s.tool}`, (_a, b) => b);
    for (const chunk of chunks(rows, 7)) {
      const { text, params } = valuesClause(
        chunk.map((s) => {
          // Signed as it will read back: the text Postgres can store, the schema as jsonb returns it.
          const spec = { taskQueue: clean(s.taskQueue), tool: clean(s.tool), ...(s.description !== undefined ? { description: clean(s.description) } : {}), inputSchema: JSON.parse(JSON.stringify(clean(s.inputSchema))) as Record<string, unknown> };
          return [this.namespace, spec.taskQueue, spec.tool, spec.description ?? null, JSON.stringify(spec.inputSchema), signer ? signer.sign(toolSpecSigningText(spec)) : null, signer?.keyId ?? null];
        }),
        7,
      );
      // The signature goes with the spec it covers: a row registered again unsigned loses the old one.
      await this.db.query(
        `INSERT INTO ${this.t('tool_specs')} (namespace, task_queue, tool, description, input_schema, signature, signature_key) VALUES ${text}
         ON CONFLICT (namespace, task_queue, tool) DO UPDATE SET description = excluded.description,
           input_schema = excluded.input_schema, signature = excluded.signature, signature_key = excluded.signature_key, updated_at = now()`,
        params,
      );
    }
  }

  async toolSpecs(): Promise<ServedToolSpec[]> {
    const { rows } = await this.db.query<{ task_queue: string; tool: string; description: string | null; input_schema: unknown; signature: unknown; signature_key: unknown }>(
      `SELECT task_queue, tool, description, input_schema, signature, signature_key FROM ${this.t('tool_specs')} WHERE namespace = $1 ORDER BY updated_at DESC, task_queue, tool`,
      [this.namespace],
    );
    const specs: ServedToolSpec[] = [];
    for (const r of rows) {
      const schema = typeof r.input_schema === 'string' ? parseJsonText(r.input_schema) : r.input_schema;
      // A row that does not hold a schema object tells the model nothing it could use.
      if (!schema || typeof schema !== 'object' || Array.isArray(schema)) continue;
      const spec: ServedToolSpec = { taskQueue: r.task_queue, tool: r.tool, ...(r.description !== null ? { description: r.description } : {}), inputSchema: schema as Record<string, unknown> };
      if (r.signature == null && r.signature_key == null) {
        specs.push({ ...spec, signature: null });
        continue;
      }
      // A signature that is not one vouches for nothing: the model step calls it forged.
      const signature = KeyedSignature.safeParse({ mac: r.signature, keyId: r.signature_key });
      specs.push(signature.success ? { ...spec, signature: signature.data } : { ...spec, signature: null, signatureInvalid: true });
    }
    return specs;
  }

  async getScope(scopeId: string): Promise<ScopeRecord | undefined> {
    return (await this.locateScope(scopeId))?.record;
  }

  async locateScope(scopeId: string): Promise<LocatedScope | undefined> {
    // The one read by id alone: it probes every month's index, and answers the month for those that follow.
    const { rows } = await this.db.query<Record<string, unknown> & { located_at: string }>(
      `SELECT ${scopeReadColumns('s')}, s.session_started_at::text AS located_at FROM ${this.t('scopes')} s
        WHERE s.namespace = $1 AND s.scope_id = $2 ${ROW_OF_ITS_SESSION_FIRST}`,
      [this.namespace, scopeId],
      { prepared: true },
    );
    return rows[0] ? { record: readScope(rows[0]), sessionStartedAt: rows[0].located_at } : undefined;
  }

  async scopesOfSession(sessionId: string, options: { sessionStartedAt?: string } = {}): Promise<ScopeRecord[]> {
    const params: unknown[] = [this.namespace, sessionId];
    if (options.sessionStartedAt !== undefined) params.push(options.sessionStartedAt);
    const { rows } = await this.db.query(
      `SELECT ${scopeReadColumns('s')} FROM ${this.t('scopes')} s
        WHERE s.namespace = $1 AND s.session_id = $2 ${params.length > 2 ? 'AND s.session_started_at = $3' : ''}
        ORDER BY s.started_at, s.scope_id`,
      params,
    );
    return rows.map(readScope);
  }

  sessionListingRows(sessionIds: readonly string[]): Promise<SessionListingRows> {
    return sessionListingRows(this.db, (table) => this.t(table), this.namespace, sessionIds);
  }

  async sessionHasScopes(sessionId: string): Promise<boolean> {
    const { rows } = await this.db.query(
      `SELECT 1 FROM ${this.t('scopes')} s WHERE s.namespace = $1 AND s.session_id = $2 LIMIT 1`,
      [this.namespace, sessionId],
      { prepared: true },
    );
    return rows.length > 0;
  }

  async scopePlacesOfSession(sessionId: string, options: { sessionStartedAt?: string } = {}): Promise<ScopePlace[]> {
    const params: unknown[] = [this.namespace, sessionId];
    if (options.sessionStartedAt !== undefined) params.push(options.sessionStartedAt);
    const { rows } = await this.db.query(
      `SELECT s.session_id, s.scope_id, s.path, s.allowance FROM ${this.t('scopes')} s
        WHERE s.namespace = $1 AND s.session_id = $2 ${params.length > 2 ? 'AND s.session_started_at = $3' : ''}
        ORDER BY s.started_at, s.scope_id`,
      params,
    );
    return rows.map(readScopePlace);
  }

  async actionsUnder(scope: string | LocatedScope, options: ActionsUnderOptions): Promise<ActionRecord[]> {
    const { text, params } = await this.actionsUnderSql(scope, options, actionReadColumns('a'));
    if (!text) return [];
    const { rows } = await this.db.query(text, params);
    return rows.map(readAction);
  }

  async footprintActions(scope: LocatedScope, options: { descendants: boolean }): Promise<FootprintRows> {
    const { text, params } = await this.actionsUnderSql(scope, options, footprintReadColumns('a'));
    const { rows } = await this.db.query(text, params);
    return readFootprintRows(rows);
  }

  async explainActionsUnder(scopeId: string): Promise<string> {
    const { text, params } = await this.actionsUnderSql(scopeId, { descendants: true }, actionReadColumns('a'));
    if (!text) return '';
    const { rows } = await this.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, params);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  }

  /** The read of actions under a scope, selecting `columns` of the actions aliased `a`; no text when the scope is unknown. */
  private async actionsUnderSql(scope: string | LocatedScope, options: ActionsUnderOptions, columns: string): Promise<{ text: string; params: unknown[] }> {
    const scopeId = typeof scope === 'string' ? scope : scope.record.scopeId;
    // The scope's row names its month and its session: only rows of that session are its
    // actions, whatever scope id or path another session's rows claim.
    const located =
      typeof scope !== 'string' ? { path: scope.record.path, sessionStartedAt: scope.sessionStartedAt, sessionId: scope.record.sessionId }
      : await this.placement(scope);
    const params: unknown[] = [this.namespace];
    let where: string;
    if (!located) {
      // No scope row: its actions, if any, are all there is to go by (descendants need the row's path).
      if (options.descendants) return { text: '', params: [] };
      params.push(scopeId);
      where = `a.scope_id = $2`;
    } else if (options.descendants) {
      // A literal prefix (not one computed in SQL) lets the planner use the path index; the
      // session's start confines both sides to its one partition (a session never spans two).
      params.push(`${escapeLike(located.path)}%`, located.sessionStartedAt, located.sessionId);
      where = `a.session_started_at = $3 AND a.session_id = $4 AND a.scope_id IN (SELECT d.scope_id FROM ${this.t('scopes')} d
        WHERE d.namespace = $1 AND d.path LIKE $2 AND d.session_started_at = $3 AND d.session_id = $4)`;
    } else {
      params.push(scopeId, located.sessionStartedAt, located.sessionId);
      where = `a.scope_id = $2 AND a.session_started_at = $3 AND a.session_id = $4`;
    }
    if (options.kinds?.length) {
      params.push(options.kinds);
      where += ` AND a.kind = ANY($${params.length}::text[])`;
    }
    if (options.tool) {
      params.push(options.tool);
      where += ` AND a.name = $${params.length}`;
    }
    return {
      text: `SELECT ${columns} FROM ${this.t('actions')} a WHERE a.namespace = $1 AND ${where} ORDER BY a.started_at, a.action_id`,
      params,
    };
  }

  /** A scope's path, partition key and session, for a query given its id alone. */
  private async placement(scopeId: string): Promise<{ path: string; sessionStartedAt: string; sessionId: string } | undefined> {
    const { rows } = await this.db.query<{ path: string; session_started_at: string; session_id: string }>(
      `SELECT path, session_started_at::text AS session_started_at, session_id FROM ${this.t('scopes')} s
        WHERE namespace = $1 AND scope_id = $2 ${ROW_OF_ITS_SESSION_FIRST}`,
      [this.namespace, scopeId],
      { prepared: true },
    );
    return rows[0] && { path: rows[0].path, sessionStartedAt: rows[0].session_started_at, sessionId: rows[0].session_id };
  }

  async listSessions(options: ListSessionsOptions): Promise<string[]> {
    return (await this.sessionKeys(options)).map((k) => k.sessionId);
  }

  async sessionKeys(options: ListSessionsOptions): Promise<SessionKey[]> {
    const params: unknown[] = [this.namespace];
    let where = `s.namespace = $1 AND s.kind = 'root'`;
    if (options.since) {
      params.push(options.since);
      where += ` AND s.started_at >= $${params.length}`;
    }
    if (options.agent) {
      params.push(options.agent);
      where += ` AND EXISTS (SELECT 1 FROM ${this.t('scopes')} x
        WHERE x.namespace = $1 AND x.session_id = s.session_id AND x.agent = $${params.length})`;
    }
    if (options.status) {
      params.push(options.status);
      where += ` AND ${this.sessionStatusSql('s')} = $${params.length}`;
    }
    const oldest = options.order === 'oldest';
    if (options.after) {
      params.push(options.after.startedAt, options.after.sessionId);
      const t = `$${params.length - 1}::timestamptz`;
      const id = `$${params.length}`;
      where += ` AND (s.started_at ${oldest ? '>' : '<'} ${t} OR (s.started_at = ${t} AND s.session_id > ${id}))`;
    }
    params.push(options.limit);
    // The start as JSON text keeps its microseconds: a key read back as a Date would lose them,
    // and a next page would repeat or skip sessions that started within one millisecond.
    const { rows } = await this.db.query<{ session_id: string; started_at: string }>(
      `SELECT s.session_id, to_json(s.started_at) #>> '{}' AS started_at FROM ${this.t('scopes')} s WHERE ${where}
       ORDER BY s.started_at ${oldest ? 'ASC' : 'DESC'}, s.session_id LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({ sessionId: r.session_id, startedAt: r.started_at }));
  }

  /**
   * The session status of `sessionSummary` in SQL, for the root scope row `root`, so that a
   * status filter runs before LIMIT: `running` while any scope of the session runs, else the
   * worst status on the main line (the root and the scopes it handed off to, in a chain).
   */
  private sessionStatusSql(root: string): string {
    const scopes = this.t('scopes');
    return `(CASE
      WHEN EXISTS (SELECT 1 FROM ${scopes} r
        WHERE r.namespace = ${root}.namespace AND r.session_id = ${root}.session_id AND r.status = 'running') THEN 'running'
      ELSE (
        WITH RECURSIVE main_line(scope_id, status) AS (
          SELECT ${root}.scope_id, ${root}.status
          UNION
          SELECT h.scope_id, h.status FROM main_line m JOIN ${scopes} h
            ON h.namespace = ${root}.namespace AND h.session_id = ${root}.session_id AND h.handoff_from_scope_id = m.scope_id)
        SELECT (ARRAY['success', 'cancelled', 'degraded', 'error'])[1 + max(
          CASE status WHEN 'error' THEN 3 WHEN 'degraded' THEN 2 WHEN 'cancelled' THEN 1 ELSE 0 END)]
        FROM main_line)
    END)`;
  }

  agentUsage(options: { calls?: boolean; recount?: boolean } = {}): Promise<AgentUsage> {
    if (options.recount) return agentUsage(this.db, (table) => this.t(table), this.namespace, { calls: options.calls ?? true });
    return rolledUpUsage(this.db, (table) => this.t(table), this.namespace, { calls: options.calls ?? true });
  }

  usageDifferences(): Promise<UsageDifference[]> {
    return usageDifferences(this.db, (table) => this.t(table), this.namespace);
  }

  rebuildUsage(): Promise<void> {
    return rebuildUsageRollup(this.db, (table) => this.t(table), this.namespace);
  }

  async allScopes(options: { agent?: string } = {}): Promise<ScopeRecord[]> {
    const params: unknown[] = [this.namespace];
    if (options.agent) params.push(options.agent);
    const { rows } = await this.db.query(
      `SELECT * FROM ${this.t('scopes')} WHERE namespace = $1 ${options.agent ? 'AND agent = $2' : ''} ORDER BY started_at`,
      params,
    );
    return rows.map(readScope);
  }

  async actionsOfAgent(agent?: string): Promise<ActionRecord[]> {
    const params: unknown[] = [this.namespace];
    if (agent) params.push(agent);
    const { rows } = await this.db.query(
      `SELECT * FROM ${this.t('actions')} WHERE namespace = $1 ${agent ? 'AND agent = $2' : ''} ORDER BY started_at`,
      params,
    );
    return rows.map(readAction);
  }

  async actionsOfSession(sessionId: string): Promise<ActionRecord[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM ${this.t('actions')} WHERE namespace = $1 AND session_id = $2 ORDER BY started_at, action_id`,
      [this.namespace, sessionId],
    );
    return rows.map(readAction);
  }

  async manifests(): Promise<Manifest[]> {
    const { manifests, invalid } = await this.storedManifests();
    // Roles and drift judge by every manifest: one that does not read stops them, named.
    if (invalid[0]) throw new Error(invalidManifestText(invalid[0]));
    return manifests.map((m) => m.manifest);
  }

  async storedManifests(): Promise<StoredManifests> {
    const { rows } = await this.db.query<{ agent: string; version: string; manifest: unknown; signature?: unknown; signature_key?: unknown }>(
      `SELECT * FROM ${this.t('manifests')} ORDER BY agent, version`,
    );
    const manifests: StoredManifest[] = [];
    const invalid: InvalidManifestRow[] = [];
    for (const r of rows) {
      const parsed = Manifest.safeParse(typeof r.manifest === 'string' ? parseJsonText(r.manifest) : r.manifest);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        invalid.push({ agent: r.agent, version: r.version, field: issue?.path.join('.') || 'manifest', message: issue?.message ?? 'invalid' });
        continue;
      }
      // Keyed by its columns, judged by its JSON: a row filed under another agent version than it
      // names (a copy beside the real one, say) would be judged as one and checked as the other.
      if (parsed.data.name !== r.agent || parsed.data.version !== r.version) {
        const field = parsed.data.name !== r.agent ? 'name' : 'version';
        invalid.push({ agent: r.agent, version: r.version, field, message: `the row is filed under ${r.agent}@${r.version}, its manifest names ${parsed.data.name}@${parsed.data.version}` });
        continue;
      }
      if (r.signature == null && r.signature_key == null) {
        manifests.push({ manifest: parsed.data, signature: null });
        continue;
      }
      // A signature that is not one vouches for nothing: the checks call it forged, the manifest still reads.
      const signature = KeyedSignature.safeParse({ mac: r.signature, keyId: r.signature_key });
      manifests.push(signature.success ? { manifest: parsed.data, signature: signature.data } : { manifest: parsed.data, signature: null, signatureInvalid: true });
    }
    return { manifests, invalid };
  }

  fingerprints(): FingerprintStore {
    return new SqlFingerprintStore(this.db, this.t('output_fingerprints'), this.namespace, this.partitions);
  }

  receipts(): ReceiptStore {
    return new SqlReceiptStore(this.db, this.t('mcp_receipts'), this.namespace);
  }

  retention(): Retention {
    return new SqlRetention(this.db, this.schema, () => this.partitions.forgetAll());
  }

  dashboard(): DashboardQueries {
    return new SqlDashboardQueries(this.db, (table) => this.t(table), this.namespace);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** Postgres: `no partition of relation "actions" found for row` (23514). */
function isMissingPartition(err: unknown): boolean {
  return (err as { code?: string }).code === '23514' && /no partition of relation/.test(String((err as Error).message));
}

export { readAction, readScope };

/**
 * Whether a batch may go as one statement: gap fills must see the actions written before
 * them, and payload statements differ in text with their row count (each text would be
 * prepared anew).
 */
function oneStatementFits(batch: StoreBatch): boolean {
  if (batch.gaps?.length || batch.payloads?.length) return false;
  // From COPY_FROM_ROWS rows, COPY costs Postgres less than array statements save in round trips.
  return (batch.actions?.length ?? 0) + (batch.scopes?.length ?? 0) + (batch.fingerprints?.length ?? 0) < COPY_FROM_ROWS;
}

/** A JSON column read as text: its value, or the text itself when it is not JSON (the schema then says what is wrong). */
function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

let shipped: string[] | undefined;

/** The migrations this version ships: read from the package once, not at every query's up-to-date check. */
function migrationFiles(): string[] {
  shipped ??= readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
  return shipped;
}
