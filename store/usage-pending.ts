/**
 * Delegations whose rollup counts may still change after they were sealed (migration 020).
 * A delegation's edge and its `unmatched` entry depend on two records of its parent: the
 * parent's row and the parent's `delegate` action. Both normally exist long before the
 * child ends, but a parent whose worker lost the database writes them from its spool,
 * possibly after the child was sealed and rolled up. Both facts only ever go from missing
 * to present, and neither changes once the parent is sealed (a late record of a sealed
 * scope is kept aside, never written). So a child sealed while one of them is missing and
 * its parent is not sealed yet is listed here with what the rollup counted for it; reads
 * add the difference from what its rows say now, and sealing the parent folds that
 * difference into the rollup and removes the entry. The rollup plus these differences is
 * therefore what a recount of the sealed rows gives, in any order of arrival and sealing.
 */
import type { SqlExecutor } from './sql-store';
import type { SealedScope } from './rollup-rows';
import { unnestRows } from './bulk-write';

type Query = Pick<SqlExecutor, 'query'>;

const MONTH = (alias: string) => `date_trunc('month', ${alias}.session_started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
const KEYS = 'k1, k2, k3, k4, k5, k6, k7';
const COLUMNS = ['scope_id', 'session_started_at', 'parent_scope_id', 'agent', 'agent_version', 'delegated_by', 'parent_agent', 'parent_version', 'unmatched'] as const;

/**
 * Whether what a sealed delegation's rollup counts depends on records still to come: its
 * parent is neither sealed nor sealed with it (`sealedNow`), and its row or the
 * `delegate` action is missing.
 */
export function awaitsParent({ scope: s, parent, delegated }: SealedScope, sealedNow: ReadonlySet<string>): boolean {
  if (s.kind !== 'delegation' || s.parentScopeId === null) return false;
  if (parent?.sealed || sealedNow.has(s.parentScopeId)) return false;
  return parent === null || (s.delegatedBy !== null && !delegated);
}

/** Lists the sealed delegations that await their parent, with what the rollup counted for them; in the sealing transaction. */
export async function holdPending(tx: Query, t: (table: string) => string, namespace: string, sealed: readonly SealedScope[], sealedNow: ReadonlySet<string>): Promise<void> {
  const rows = sealed
    .filter((s) => awaitsParent(s, sealedNow))
    .map(({ scope: s, sessionStartedAt, parent, delegated }) => [
      s.scopeId, sessionStartedAt, s.parentScopeId, s.agent, s.agentVersion, s.delegatedBy,
      parent?.agent ?? null, parent?.agentVersion ?? null, String(s.delegatedBy !== null && !delegated),
    ]);
  if (rows.length === 0) return;
  const u = unnestRows(rows, COLUMNS, { session_started_at: 'timestamptz', unmatched: 'boolean' });
  await tx.query(
    `INSERT INTO ${t('usage_rollup_pending')} (namespace, ${COLUMNS.join(', ')})
     SELECT $${u.params.length + 1}::text, ${COLUMNS.join(', ')} FROM (${u.select}) AS held ON CONFLICT DO NOTHING`,
    [...u.params, namespace],
  );
}

/**
 * What the rollup lacks for the entries of `source` (aliased `pd`, filtered by `where`):
 * rows (namespace, month, facet, k1..k7, n1, n2, n3) adding what the rows say now and
 * taking away what was counted at sealing. Each entry costs two index probes.
 */
export function pendingDifferencesSql(t: (table: string) => string, source: string, where: string): string {
  return `SELECT pd.namespace, ${MONTH('pd')} AS month, f.facet, f.k1, f.k2, f.k3, f.k4, ''::text, ''::text, ''::text, f.n1::bigint, 0::bigint, 0::bigint
     FROM ${source} pd
     LEFT JOIN ${t('scopes')} p
       ON p.namespace = pd.namespace AND p.scope_id = pd.parent_scope_id AND p.session_started_at = pd.session_started_at
     CROSS JOIN LATERAL (SELECT pd.delegated_by IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM ${t('actions')} d WHERE d.namespace = pd.namespace AND d.target_scope_id = pd.scope_id AND d.kind = 'delegate')) AS now(unmatched)
     CROSS JOIN LATERAL (VALUES
       ('edges', p.agent, p.agent_version, pd.agent, pd.agent_version, CASE WHEN p.scope_id IS NULL THEN 0 ELSE 1 END),
       ('edges', pd.parent_agent, pd.parent_version, pd.agent, pd.agent_version, CASE WHEN pd.parent_agent IS NULL THEN 0 ELSE -1 END),
       ('unmatched', pd.delegated_by, pd.agent, ''::text, ''::text, CASE WHEN now.unmatched THEN 1 ELSE 0 END),
       ('unmatched', pd.delegated_by, pd.agent, ''::text, ''::text, CASE WHEN pd.unmatched THEN -1 ELSE 0 END)
     ) AS f(facet, k1, k2, k3, k4, n1)
    WHERE ${where} AND f.n1 <> 0`;
}

/**
 * Folds into the rollup the differences of the entries whose parent is among `parents`,
 * sealed in this transaction (so their facts are final), and removes the entries.
 */
export async function foldPending(tx: Query, t: (table: string) => string, namespace: string, parents: readonly string[], then?: string): Promise<void> {
  if (parents.length === 0) return;
  // `then`: a query without parameters run by the same statement (one round trip less).
  const insert = then ? `, folding AS (INSERT` : ` INSERT`;
  await tx.query(
    `WITH folded AS (
       DELETE FROM ${t('usage_rollup_pending')} WHERE namespace = $1 AND parent_scope_id = ANY($2::text[]) RETURNING *)
    ${insert} INTO ${t('usage_rollup')} AS usage_rollup (namespace, month, facet, ${KEYS}, n1, n2, n3)
     SELECT namespace, month, facet, ${KEYS}, sum(n1), 0, 0
       FROM (${pendingDifferencesSql(t, 'folded', 'true')}) AS d(namespace, month, facet, ${KEYS}, n1, n2, n3)
      GROUP BY namespace, month, facet, ${KEYS} HAVING sum(n1) <> 0
      -- In key order, as rollUpSealed upserts, so that concurrent sealers cannot deadlock.
      ORDER BY namespace, month, facet, ${KEYS}
     ON CONFLICT (namespace, month, facet, ${KEYS}) DO UPDATE SET n1 = usage_rollup.n1 + excluded.n1${then ? `)
    ${then}` : ''}`,
    [namespace, [...parents].sort()],
  );
}

/**
 * Lists anew, after a recount of the namespace ($1), the sealed delegations that await
 * their parent, as counted by that recount.
 */
export function relistPendingSql(t: (table: string) => string): string {
  const delegate = `SELECT 1 FROM ${t('actions')} d WHERE d.namespace = s.namespace AND d.target_scope_id = s.scope_id AND d.kind = 'delegate'`;
  return `INSERT INTO ${t('usage_rollup_pending')} (namespace, ${COLUMNS.join(', ')})
    SELECT s.namespace, s.scope_id, s.session_started_at, s.parent_scope_id, s.agent, s.agent_version, s.delegated_by, p.agent, p.agent_version,
           s.delegated_by IS NOT NULL AND NOT EXISTS (${delegate})
      FROM ${t('scopes')} s
      LEFT JOIN ${t('scopes')} p
        ON p.namespace = s.namespace AND p.scope_id = s.parent_scope_id AND p.session_started_at = s.session_started_at
     WHERE s.namespace = $1 AND s.chain_length IS NOT NULL AND s.kind = 'delegation' AND s.parent_scope_id IS NOT NULL AND p.chain_length IS NULL
       AND (p.scope_id IS NULL OR (s.delegated_by IS NOT NULL AND NOT EXISTS (${delegate})))
    ON CONFLICT DO NOTHING`;
}
