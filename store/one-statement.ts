/**
 * A group commit as one statement. The write path's transaction sent BEGIN, one INSERT
 * per table and kind of row, and COMMIT: four to seven round trips for a handful of
 * rows, each a socket write in the worker and a wakeup of its Postgres backend. Here the
 * same INSERTs are collected (not run) and sent as data-modifying CTEs of one statement,
 * which Postgres runs atomically in a transaction of its own, in one round trip.
 *
 * Only INSERTs of disjoint rows combine: every part sees the same snapshot and none sees
 * another's rows, so a batch whose statements depend on each other (gap fills after the
 * actions they fill) or that needs COPY or a read (the existence check) is written the
 * usual way. A part asking for any of those throws NotOneStatement while collecting.
 */
import type { SqlTransaction } from './sql-store';

/** Postgres takes at most 65535 parameters in one statement. */
const MAX_PARAMS = 60_000;

export class NotOneStatement extends Error {
  constructor(why: string) {
    super(`not one statement: ${why}`);
  }
}

interface Part {
  sql: string;
  params: readonly unknown[];
}

export class StatementCollector {
  private readonly parts: Part[] = [];
  private paramCount = 0;

  /** A transaction that collects what the write path would run. */
  transaction(): SqlTransaction {
    return {
      newRows: 'guess',
      oneStatement: true,
      query: async (sql, params = []) => {
        if (!/^\s*INSERT\s/i.test(sql)) throw new NotOneStatement(sql.trim().split(/\s/)[0] ?? 'statement');
        this.paramCount += params.length;
        if (this.paramCount > MAX_PARAMS) throw new NotOneStatement('too many parameters');
        this.parts.push({ sql, params });
        return { rows: [] };
      },
      exec: async () => {
        throw new NotOneStatement('exec');
      },
      copy: async () => {
        throw new NotOneStatement('COPY');
      },
    };
  }

  get size(): number {
    return this.parts.length;
  }

  /** The collected INSERTs as CTEs before `select`, parameters renumbered in order. */
  combined(select: string): { sql: string; params: unknown[] } {
    const params: unknown[] = [];
    const ctes = this.parts.map((part, i) => {
      const offset = params.length;
      params.push(...part.params);
      return `w${i} AS (${renumber(part.sql, offset)})`;
    });
    return { sql: ctes.length ? `WITH ${ctes.join(',\n')}\n${select}` : select, params };
  }
}

/**
 * `$n` becomes `$(n + offset)`. The write path's statements hold no literal with a `$`
 * (values travel as parameters; identifiers are checked), so every `$n` is a parameter.
 */
export function renumber(sql: string, offset: number): string {
  if (offset === 0) return sql;
  return sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
}
