/** An executor that shows a test every query it runs, alone or in a transaction, and passes everything on unchanged. */
import type { SqlExecutor } from '../../store/sql-store';

export function observedExecutor(db: SqlExecutor, seen: (sql: string, params: readonly unknown[]) => void): SqlExecutor {
  return {
    ...db,
    query: (sql, params, options) => (seen(sql, params ?? []), db.query(sql, params, options)),
    transaction: (fn, options) =>
      db.transaction((tx) => {
        // A statement the backend sends with BEGIN is one the transaction runs first, wherever it ran.
        if (options?.opening) seen(options.opening, []);
        return fn({ ...tx, query: (sql, params, queryOptions) => (seen(sql, params ?? []), tx.query(sql, params, queryOptions)) });
      }, options),
  };
}
