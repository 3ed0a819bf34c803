/**
 * Statements sent to Postgres by this process, counted at `pg.Client.prototype.query`
 * (the pool's clients and the store's own): with the records written, a cost per session
 * that moves far less with the host's load than CPU time and latency (group commits grow
 * a little when commits are slow).
 */
import pg from 'pg';

let sent = 0;
let installed = false;

export function countStatements(): void {
  if (installed) return;
  installed = true;
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  (pg.Client.prototype as { query: unknown }).query = function (this: pg.Client, ...args: unknown[]) {
    sent += 1;
    return query.apply(this, args);
  };
}

export function statementsSent(): number {
  return sent;
}
