/**
 * Placement of rows in the monthly partitions of the per-session tables (migration 009).
 * A row's partition key is its session's start (`session_started_at`), carried in the
 * scope context; records that lack it (gap fills built from history, contexts of runs
 * started before the key existed) take it from the session's rows already stored, so
 * one session never spans two partitions. Partitions are created on first use; a month
 * that retention removed is never recreated (late records of it are discarded loudly).
 */
import type { SqlExecutor } from './sql-store';

export const PARTITIONED_TABLES = ['scopes', 'actions', 'output_fingerprints', 'action_chain', 'scope_chains'] as const;

/** The first instant (UTC) of the month holding `time`, as epoch milliseconds. */
export function monthOf(time: string | Date): number {
  const d = typeof time === 'string' ? new Date(time) : time;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonth(month: number): number {
  const d = new Date(month);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** `actions_p202611`: the partition of `table` for the month starting at `month`. */
export function partitionName(table: string, month: number): string {
  const d = new Date(month);
  return `${table}_p${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * SQL giving a row's session start as ISO 8601 text to the microsecond: a Date would drop
 * the microseconds, and a key compared with the stored value must match it exactly.
 */
export function sessionStartText(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export function monthLabel(month: number): string {
  return new Date(month).toISOString().slice(0, 7);
}

export interface Placed {
  sessionId: string;
  namespace: string;
  /** The session's start, when the record carried it. */
  sessionStartedAt?: string;
}

export class LateRecordsDiscarded extends Error {
  constructor(readonly month: number, readonly sessions: string[]) {
    super(
      `store: discarded records of ${sessions.length} session(s) started in ${monthLabel(month)} ` +
        `(${sessions.slice(0, 3).join(', ')}${sessions.length > 3 ? ', …' : ''}): that month was pruned`,
    );
    this.name = 'LateRecordsDiscarded';
  }
}

export class Partitions {
  /** Months whose partitions exist (all tables), per schema: created once per process. */
  private readonly ready = new Set<number>();

  constructor(
    private readonly db: Pick<SqlExecutor, 'query' | 'transaction'>,
    private readonly schema: string,
    private readonly warn: (err: Error) => void = (err) => console.warn(err.message),
  ) {}

  private t(table: string): string {
    return `"${this.schema}".${table}`;
  }

  /**
   * Gives every record its session's start and makes sure the partitions exist.
   * Returns the records to write with their key; those of a pruned month are left out.
   */
  async place<T extends Placed>(records: readonly T[], fallback: (r: T) => string): Promise<Array<{ record: T; sessionStartedAt: string }>> {
    // The worker's records carry their session's start: one pass finds the months.
    if (await this.carriedAndKept([records])) return records.map((record) => ({ record, sessionStartedAt: record.sessionStartedAt! }));
    const key = (r: Placed) => `${r.namespace}\u0000${r.sessionId}`;
    const lacking = records.filter((r) => !r.sessionStartedAt);
    const starts = new Map<string, string>();
    if (lacking.length > 0) {
      // The stored start wins, so a session's rows stay together; then a start carried by another
      // record of the batch; then the earliest start among its records (its root's, normally).
      const sessions = [...new Map(lacking.map((r) => [key(r), r])).values()];
      // Actions count too: a session's actions may reach the store before any of its scopes.
      const { rows } = await this.db.query<{ namespace: string; session_id: string; started: Date | string }>(
        `SELECT k.namespace, k.session_id, least(
             (SELECT min(s.session_started_at) FROM ${this.t('scopes')} s WHERE s.namespace = k.namespace AND s.session_id = k.session_id),
             (SELECT min(a.session_started_at) FROM ${this.t('actions')} a WHERE a.namespace = k.namespace AND a.session_id = k.session_id)) AS started
         FROM unnest($1::text[], $2::text[]) AS k(namespace, session_id)`,
        [sessions.map((r) => r.namespace), sessions.map((r) => r.sessionId)],
      );
      for (const row of rows) if (row.started !== null) starts.set(`${row.namespace}\u0000${row.session_id}`, new Date(row.started).toISOString());
      for (const r of records) if (r.sessionStartedAt && !starts.has(key(r))) starts.set(key(r), r.sessionStartedAt);
      const earliest = new Map<string, string>();
      for (const r of lacking) {
        if (starts.has(key(r))) continue;
        const candidate = fallback(r);
        const seen = earliest.get(key(r));
        if (!seen || Date.parse(candidate) < Date.parse(seen)) earliest.set(key(r), candidate);
      }
      for (const [k, v] of earliest) starts.set(k, v);
    }
    const placed = records.map((record) => ({
      record,
      sessionStartedAt: record.sessionStartedAt ?? starts.get(key(record))!,
    }));
    // A batch holds few sessions: each start's month is found once.
    const sessionStarts = new Set(placed.map((p) => p.sessionStartedAt));
    const months = new Set([...sessionStarts].map((start) => monthOf(start)));
    const pruned = await this.ensure(months);
    if (pruned.size === 0) return placed;
    const kept = placed.filter((p) => !pruned.has(monthOf(p.sessionStartedAt)));
    for (const month of pruned) {
      const sessions = [...new Set(placed.filter((p) => monthOf(p.sessionStartedAt) === month).map((p) => p.record.sessionId))];
      this.warn(new LateRecordsDiscarded(month, sessions));
    }
    return kept;
  }

  /**
   * Whether every record of `lists` carries its session's start in a month whose
   * partitions exist or were just created (none pruned): then placing changes nothing.
   */
  async carriedAndKept(lists: ReadonlyArray<readonly Placed[] | undefined>): Promise<boolean> {
    const starts = new Set<string>();
    for (const list of lists) {
      const carried = carriedStarts(list ?? []);
      if (!carried) return false;
      for (const start of carried) starts.add(start);
    }
    return (await this.ensure(monthsOf(starts))).size === 0;
  }

  /** Creates the partitions of `months` that do not exist yet; answers the months retention removed. */
  async ensure(months: Iterable<number>): Promise<Set<number>> {
    const wanted = [...months].filter((m) => !this.ready.has(m));
    const pruned = new Set<number>();
    if (wanted.length === 0) return pruned;
    const { rows } = await this.db.query<{ month: Date | string }>(
      `SELECT DISTINCT month FROM ${this.t('prunes')} WHERE month = ANY($1::timestamptz[])`,
      [wanted.map((m) => new Date(m).toISOString())],
    );
    for (const r of rows) pruned.add(new Date(r.month).getTime());
    const create = wanted.filter((m) => !pruned.has(m));
    if (create.length > 0) {
      await this.db.transaction(async (tx) => {
        // One creator at a time (several workers may meet a new month together).
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`scopetrail-partitions:${this.schema}`]);
        for (const month of create) {
          for (const table of PARTITIONED_TABLES) {
            await tx.query(
              `CREATE TABLE IF NOT EXISTS ${this.t(partitionName(table, month))} PARTITION OF ${this.t(table)}
                 FOR VALUES FROM ('${new Date(month).toISOString()}') TO ('${new Date(nextMonth(month)).toISOString()}')`,
            );
          }
        }
      });
    }
    for (const m of create) this.ready.add(m);
    return pruned;
  }

  /**
   * Forgets which partitions exist: after another process pruned a month, the next write
   * finds out again (and refuses that month) instead of failing for good.
   */
  forgetAll(): void {
    this.ready.clear();
  }
}

/** The distinct session starts of `records`, or undefined when one lacks its start. */
function carriedStarts(records: readonly Placed[]): Set<string> | undefined {
  const starts = new Set<string>();
  for (const r of records) {
    if (!r.sessionStartedAt) return undefined;
    starts.add(r.sessionStartedAt);
  }
  return starts;
}

function monthsOf(starts: Iterable<string>): Set<number> {
  const months = new Set<number>();
  for (const start of starts) months.add(monthOf(start));
  return months;
}
