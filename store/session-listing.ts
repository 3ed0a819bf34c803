/**
 * What a sessions listing summarizes, for a page of sessions in two reads: their scopes,
 * and their actions counted in Postgres rather than read. A listing of 200 sessions read
 * every action row of each, one query per session, to count them; the dashboard asks
 * again at every change it is told of.
 */
import { ActionKind, ActionStatus, type ScopeRecord } from '../cim/schemas';
import type { ActionTally } from '../cim/forensics/summary';
import { InvalidStoredRowError, readScope, scopeReadColumns } from './rows';
import { isoTime } from './row-times';
import type { SqlExecutor } from './sql-store';
import type { SessionListingRows } from './types';

const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');
/**
 * A row no record could have: the tally then cannot vouch for the session, which is read
 * whole instead (and, when a row does not parse, listed as unreadable, naming it).
 */
const DOUBTFUL = `(status NOT IN (${quoted(ActionStatus.options)}) OR kind NOT IN (${quoted(ActionKind.options)}) OR attempt < 1 OR started_at IS NULL)`;

export async function sessionListingRows(
  db: Pick<SqlExecutor, 'query'>,
  t: (table: string) => string,
  namespace: string,
  sessionIds: readonly string[],
): Promise<SessionListingRows> {
  const scopes = new Map<string, ScopeRecord[]>();
  const unreadable = new Map<string, InvalidStoredRowError>();
  const tallies = new Map<string, ActionTally>();
  if (sessionIds.length === 0) return { scopes, unreadable, tallies };
  const ids = [...new Set(sessionIds)];
  const [scopeRows, tallyRows] = await Promise.all([
    db.query(
      `SELECT ${scopeReadColumns('s')} FROM ${t('scopes')} s
        WHERE s.namespace = $1 AND s.session_id = ANY($2::text[])
        ORDER BY s.session_id, s.started_at, s.scope_id`,
      [namespace, ids],
    ),
    db.query<{ session_id: string; actions: number | string; failed: number | string; doubtful: number | string; first_started: unknown; last_ended: unknown }>(
      `SELECT session_id, count(*) AS actions, count(*) FILTER (WHERE status IN ('error', 'denied')) AS failed,
              count(*) FILTER (WHERE ${DOUBTFUL}) AS doubtful, min(started_at) AS first_started, max(ended_at) AS last_ended
         FROM ${t('actions')} WHERE namespace = $1 AND session_id = ANY($2::text[]) GROUP BY session_id`,
      [namespace, ids],
    ),
  ]);
  for (const row of scopeRows.rows) {
    const sessionId = String(row.session_id);
    if (unreadable.has(sessionId)) continue;
    try {
      const list = scopes.get(sessionId) ?? [];
      list.push(readScope(row));
      scopes.set(sessionId, list);
    } catch (err) {
      if (!(err instanceof InvalidStoredRowError)) throw err;
      unreadable.set(sessionId, err);
      scopes.delete(sessionId);
    }
  }
  const counted = new Set<string>();
  for (const r of tallyRows.rows) {
    counted.add(r.session_id);
    if (Number(r.doubtful) > 0) continue;
    tallies.set(r.session_id, { actions: Number(r.actions), failedActions: Number(r.failed), startedAt: isoTime(r.first_started), endedAt: isoTime(r.last_ended) });
  }
  // A session with scopes and no action row has nothing to count: its tally is empty, not unknown.
  for (const id of scopes.keys()) if (!counted.has(id)) tallies.set(id, { actions: 0, failedActions: 0, startedAt: null, endedAt: null });
  return { scopes, unreadable, tallies };
}
