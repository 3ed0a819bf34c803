/**
 * Where the sealer gets the actions it hashes. Reading every action row back (and
 * validating it) cost more than writing it; but the worker that wrote a scope's actions
 * still holds them. Its copy is used only when the store proves it is the stored one:
 * the scope has exactly as many action rows as the worker committed, and each row's
 * current version was written by one of the worker's own transactions (`xmin`). Any
 * other writer — another worker, a gap fill, a replay, an edit in the database — leaves
 * a row whose version is not the worker's, and that scope's rows are read back instead.
 */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import { actionAsStored, readAction } from './rows';
import type { SqlTransaction } from './sql-store';
import type { CommittedActions } from './types';
import { yielder } from './yielding';

export interface ScopeActions {
  byScope: Map<string, ActionRecord[]>;
  /** Scopes with a row that does not parse: not sealed (verify reports the row). */
  unreadable: Set<string>;
}

export async function actionsOfScopes(
  tx: Pick<SqlTransaction, 'query'>,
  actionsTable: string,
  ns: string,
  ended: readonly ScopeRecord[],
  committed?: CommittedActions,
): Promise<ScopeActions> {
  const byScope = new Map<string, ActionRecord[]>();
  const unreadable = new Set<string>();
  const toRead = new Set(ended.map((s) => s.scopeId));
  const held = new Map<string, { actions: readonly ActionRecord[]; xids: readonly string[] }>();
  for (const s of ended) {
    const mine = committed?.of(ns, s.scopeId);
    if (mine) held.set(s.scopeId, mine);
  }
  if (held.size) {
    const xids = [...new Set([...held.values()].flatMap((h) => h.xids))];
    const { rows } = await tx.query<{ scope_id: string; n: number; foreign: number }>(
      `SELECT scope_id, count(*)::int AS n, count(*) FILTER (WHERE NOT (xmin::text = ANY($3::text[])))::int AS foreign
         FROM ${actionsTable} WHERE namespace = $1 AND scope_id = ANY($2::text[]) GROUP BY scope_id`,
      [ns, [...held.keys()], xids],
    );
    const counts = new Map(rows.map((r) => [r.scope_id, r]));
    const pausing = yielder();
    for (const [scopeId, mine] of held) {
      const turn = pausing();
      if (turn) await turn;
      const c = counts.get(scopeId) ?? { n: 0, foreign: 0 };
      if (Number(c.n) !== mine.actions.length || Number(c.foreign) !== 0) continue;
      const stored = mine.actions.map(actionAsStored);
      if (stored.some((a) => a === undefined)) continue;
      byScope.set(scopeId, stored as ActionRecord[]);
      toRead.delete(scopeId);
    }
  }
  if (toRead.size === 0) return { byScope, unreadable };
  for (const id of toRead) byScope.set(id, []);
  const { rows } = await tx.query(`SELECT * FROM ${actionsTable} WHERE namespace = $1 AND scope_id = ANY($2::text[])`, [ns, [...toRead]]);
  const pause = yielder();
  for (const row of rows) {
    const turn = pause();
    if (turn) await turn;
    try {
      byScope.get(row.scope_id as string)?.push(readAction(row));
    } catch {
      unreadable.add(row.scope_id as string);
    }
  }
  return { byScope, unreadable };
}
