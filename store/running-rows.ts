/**
 * The rows this store wrote as `running` and has not yet seen finish. A worker writes an
 * attempt's row when it starts and replaces it when the attempt ends, so these are the
 * keys a batch is expected to find in the table already; every other row of a batch is
 * most likely new, and goes in with plain COPY without asking the table first. A row
 * that exists after all (written by another process) fails the COPY with a unique
 * violation, and the batch is written again with a check (sql-store.ts writeBatch): a
 * wrong guess costs time, never correctness. Bounded: past `max` keys the oldest are
 * forgotten (their finished row then takes the slower way).
 */
export type KeyedTable = 'scopes' | 'actions';

export class RunningRows {
  /** In insertion order, so the oldest is first. */
  private readonly keys = new Set<string>();

  constructor(private readonly max = 100_000) {}

  /**
   * The key of a row as its table's primary key sees it. The partition key is taken as
   * written: a session's records carry its start in one form, and two forms of one
   * instant only cost a guess.
   */
  static key(table: KeyedTable, namespace: unknown, id: unknown, sessionStartedAt: unknown): string {
    return `${table}\u0000${String(namespace)}\u0000${String(id)}\u0000${String(sessionStartedAt)}`;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** After a commit: a row written `running` will be replaced; a finished one is not expected back. */
  written(key: string, running: boolean): void {
    this.keys.delete(key);
    if (!running) return;
    this.keys.add(key);
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value!);
  }

  get size(): number {
    return this.keys.size;
  }
}
