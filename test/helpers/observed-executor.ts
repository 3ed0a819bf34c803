/** An executor that shows a test every query it runs, alone or in a transaction, and passes everything on unchanged. */
import type { SqlExecutor } from '../../store/sql-store';

export function observedExecutor(db: SqlExecutor, seen: (sql: string, params: readonly unknown[]) => void): SqlExecutor {
  return {
    ...db,
    query: (sql, params, options) => (seen(sql, params ?? []), db.query(sql, params, options)),
    transaction: (fn, options) =>
      db.transaction((tx) => fn({ ...tx, query: (sql, params, queryOptions) => (seen(sql, params ?? []), tx.query(sql, params, queryOptions)) }), options),
  };
}
