/**
 * Retention: whole months of sessions dropped as partitions (store/partitions.ts). A
 * month is dropped only when every session in it has ended, so a session is never cut
 * in half and what remains reconciles and verifies as before; each dropped month is
 * recorded (table `prunes`, one row per namespace that had sessions in it).
 */
import { monthLabel, monthOf, nextMonth, partitionName, PARTITIONED_TABLES } from './partitions';
import type { SqlExecutor } from './sql-store';

export interface MonthContents {
  /** First instant of the month (UTC, epoch ms). */
  month: number;
  namespaces: Array<{ namespace: string; sessions: number; scopes: number; actions: number }>;
  /** Sessions of the month still running (some of them, up to 20). */
  running: string[];
}

export interface PrunePlan {
  before: string;
  /** Months entirely before `before` whose sessions have all ended: these are dropped. */
  drop: MonthContents[];
  /** Months entirely before `before` that hold a running session: refused. */
  refused: MonthContents[];
}

export interface PrunedMonth {
  namespace: string;
  month: string;
  prunedAt: string;
  before: string;
  sessions: number;
  scopes: number;
  actions: number;
}

export class PruneRefusedError extends Error {
  constructor(readonly refused: MonthContents[]) {
    const first = refused[0]!;
    super(
      `prune: refusing to drop ${refused.map((m) => monthLabel(m.month)).join(', ')}: ` +
        `${monthLabel(first.month)} holds running sessions (${first.running.slice(0, 5).join(', ')}); ` +
        'a session is pruned whole, once it has ended (pass an earlier --before, or wait for them to end)',
    );
    this.name = 'PruneRefusedError';
  }
}

type Db = Pick<SqlExecutor, 'query' | 'transaction'>;

/** The months that have partitions, oldest first. */
export async function partitionMonths(db: Pick<SqlExecutor, 'query'>, schema: string): Promise<number[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace
     WHERE n.nspname = $1 AND p.relname = 'scopes'`,
    [schema],
  );
  return rows
    .map((r) => /^scopes_p(\d{4})(\d{2})$/.exec(r.name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Date.UTC(Number(m[1]), Number(m[2]) - 1, 1))
    .sort((a, b) => a - b);
}

/** The month's running sessions only (a partial index answers): what a plan must know before counting. */
async function running(db: Pick<SqlExecutor, 'query'>, schema: string, month: number): Promise<MonthContents> {
  const { rows } = await db.query<{ session_id: string }>(
    `SELECT DISTINCT session_id FROM "${schema}".${partitionName('scopes', month)} WHERE status = 'running' LIMIT 20`,
  );
  return { month, namespaces: [], running: rows.map((r) => r.session_id) };
}

async function contents(db: Pick<SqlExecutor, 'query'>, schema: string, month: number): Promise<MonthContents> {
  const t = (table: string) => `"${schema}".${partitionName(table, month)}`;
  // One after another: inside a transaction they share one connection.
  const scopes = await db.query<{ namespace: string; sessions: string; scopes: string }>(
    `SELECT namespace, count(DISTINCT session_id) AS sessions, count(*) AS scopes FROM ${t('scopes')} GROUP BY 1`,
  );
  const actions = await db.query<{ namespace: string; actions: string }>(`SELECT namespace, count(*) AS actions FROM ${t('actions')} GROUP BY 1`);
  const running = await db.query<{ session_id: string }>(`SELECT DISTINCT session_id FROM ${t('scopes')} WHERE status = 'running' LIMIT 20`);
  const byNs = new Map<string, MonthContents['namespaces'][number]>();
  for (const r of scopes.rows) byNs.set(r.namespace, { namespace: r.namespace, sessions: Number(r.sessions), scopes: Number(r.scopes), actions: 0 });
  for (const r of actions.rows) {
    const ns = byNs.get(r.namespace) ?? { namespace: r.namespace, sessions: 0, scopes: 0, actions: 0 };
    ns.actions = Number(r.actions);
    byNs.set(r.namespace, ns);
  }
  return { month, namespaces: [...byNs.values()], running: running.rows.map((r) => r.session_id) };
}

/**
 * What `prune --before` would drop and what it must refuse; changes nothing. With
 * `count: false` the months come without their counts (the drop counts them under its
 * lock, where they are exact).
 */
export async function planPrune(db: Pick<SqlExecutor, 'query'>, schema: string, before: Date, options: PlanOptions = {}): Promise<PrunePlan> {
  // Never a month that has not ended, whatever `before` says: sessions can still start in it,
  // and their records would be discarded as a pruned month's for the rest of it.
  const cutoff = Math.min(before.getTime(), (options.now ?? new Date()).getTime());
  const months = (await partitionMonths(db, schema)).filter((m) => nextMonth(m) <= cutoff);
  const all = await Promise.all(months.map((m) => (options.count === false ? running(db, schema, m) : contents(db, schema, m))));
  return { before: before.toISOString(), drop: all.filter((m) => m.running.length === 0), refused: all.filter((m) => m.running.length > 0) };
}

/**
 * Drops the month's partitions and everything kept by reference to its sessions, and
 * records the prune, in one transaction. Checked again under the lock: a session that
 * started running meanwhile refuses the month.
 */
export async function dropMonth(db: Db, schema: string, month: number, before: Date): Promise<PrunedMonth[]> {
  const t = (table: string) => `"${schema}".${table}`;
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`scopetrail-partitions:${schema}`]);
    // Writers into this month's sessions wait here until the month is gone (then they are refused).
    for (const table of PARTITIONED_TABLES) await tx.query(`LOCK TABLE ${t(partitionName(table, month))} IN ACCESS EXCLUSIVE MODE`);
    const now = await contents(tx, schema, month);
    if (now.running.length > 0) throw new PruneRefusedError([now]);
    const sessions = `SELECT DISTINCT namespace, session_id FROM ${t(partitionName('scopes', month))}`;
    await tx.query(`DELETE FROM ${t('mcp_receipts')} r USING (${sessions}) s WHERE r.namespace = s.namespace AND r.session_id = s.session_id`);
    await tx.query(
      `DELETE FROM ${t('payloads')} p USING ${t(partitionName('actions', month))} a
        WHERE p.namespace = a.namespace AND p.action_id = a.action_id`,
    );
    await tx.query(`DELETE FROM ${t('usage_rollup')} WHERE month = $1`, [new Date(month).toISOString()]);
    await tx.query(`DELETE FROM ${t('usage_rollup_pending')} WHERE session_started_at >= $1 AND session_started_at < $2`, [
      new Date(month).toISOString(),
      new Date(nextMonth(month)).toISOString(),
    ]);
    for (const table of PARTITIONED_TABLES) await tx.query(`DROP TABLE ${t(partitionName(table, month))}`);
    const prunedAt = new Date().toISOString();
    const recorded: PrunedMonth[] = [];
    // A month with no session at all is still recorded (under no namespace it is invisible, so under each that asks later).
    for (const ns of now.namespaces.length > 0 ? now.namespaces : [{ namespace: '', sessions: 0, scopes: 0, actions: 0 }]) {
      await tx.query(
        `INSERT INTO ${t('prunes')} (namespace, month, pruned_at, before, sessions, scopes, actions) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (namespace, month) DO NOTHING`,
        [ns.namespace, new Date(month).toISOString(), prunedAt, before.toISOString(), ns.sessions, ns.scopes, ns.actions],
      );
      recorded.push({ ...ns, month: monthLabel(month), prunedAt, before: before.toISOString() });
    }
    return recorded;
  });
}

/** The recorded prune of the month holding `sessionStartedAt` in `namespace`, if any. */
export async function prunedMonthOf(db: Pick<SqlExecutor, 'query'>, schema: string, namespace: string, sessionStartedAt: string): Promise<PrunedMonth | undefined> {
  const month = monthOf(sessionStartedAt);
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT * FROM "${schema}".prunes WHERE namespace = ANY($1::text[]) AND month = $2 ORDER BY namespace DESC LIMIT 1`,
    [[namespace, ''], new Date(month).toISOString()],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    namespace,
    month: monthLabel(month),
    prunedAt: new Date(r.pruned_at as string).toISOString(),
    before: new Date(r.before as string).toISOString(),
    sessions: Number(r.sessions),
    scopes: Number(r.scopes),
    actions: Number(r.actions),
  };
}

/** Whether retention dropped any month with sessions of `namespace` (or a month with none at all). */
export async function anyPruned(db: Pick<SqlExecutor, 'query'>, schema: string, namespace: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM "${schema}".prunes WHERE namespace = ANY($1::text[]) LIMIT 1`, [[namespace, '']]);
  return rows.length > 0;
}

export interface PlanOptions {
  /** Count each month's rows (a dry run shows them). */
  count?: boolean;
  /** The time months must have ended by; the clock's now by default (tests stand in a later one). */
  now?: Date;
}

/** Retention on one store (all namespaces: partitions are shared by them). */
export interface Retention {
  /** Names the store among others in one Temporal namespace (its schema). */
  readonly key: string;
  plan(before: Date, options?: PlanOptions): Promise<PrunePlan>;
  /** The months that have partitions, oldest first. */
  months(): Promise<number[]>;
  /** The namespaces with sessions in the month. */
  namespacesOf(month: number): Promise<string[]>;
  dropMonth(month: number, before: Date): Promise<PrunedMonth[]>;
  prunedMonthOf(namespace: string, sessionStartedAt: string): Promise<PrunedMonth | undefined>;
  /** Whether any month was pruned under `namespace`: when none was, a missing session cannot be a pruned one. */
  anyPruned(namespace: string): Promise<boolean>;
}

export class SqlRetention implements Retention {
  readonly key: string;

  constructor(
    private readonly db: Db,
    private readonly schema: string,
    /** Called after a drop, so this process's writers re-check which months exist. */
    private readonly dropped: () => void = () => undefined,
  ) {
    this.key = schema;
  }

  plan(before: Date, options: PlanOptions = {}): Promise<PrunePlan> {
    return planPrune(this.db, this.schema, before, options);
  }

  months(): Promise<number[]> {
    return partitionMonths(this.db, this.schema);
  }

  async namespacesOf(month: number): Promise<string[]> {
    const { rows } = await this.db.query<{ namespace: string }>(
      `SELECT DISTINCT namespace FROM "${this.schema}".${partitionName('scopes', month)}`,
    );
    return rows.map((r) => r.namespace);
  }

  async dropMonth(month: number, before: Date): Promise<PrunedMonth[]> {
    const recorded = await dropMonth(this.db, this.schema, month, before);
    this.dropped();
    return recorded;
  }

  prunedMonthOf(namespace: string, sessionStartedAt: string): Promise<PrunedMonth | undefined> {
    return prunedMonthOf(this.db, this.schema, namespace, sessionStartedAt);
  }

  anyPruned(namespace: string): Promise<boolean> {
    return anyPruned(this.db, this.schema, namespace);
  }
}
