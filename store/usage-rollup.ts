/**
 * Usage rollups (migration 010): the grouped counts of cim/forensics/usage.ts kept per
 * namespace, month of session start and key, so roles, drift and health read a table
 * whose size depends on agents, versions, tools and months, never on actions. A scope's
 * counts are added in the transaction that seals it (a scope is sealed once); what is
 * not sealed yet (running scopes, and ended ones the sealer has not reached) is counted
 * live from its rows. The counts are those of the rows when sealed: a record that
 * arrives after its scope was sealed shows in verify, not here. The exception is what a
 * delegation's counts take from its parent's records, which may arrive after the child
 * was sealed without being late for their own scope: usage-pending.ts adds what they
 * change to every read, and folds it in when the parent is sealed.
 */
import type { AgentUsage, UsageDifference, UsageFacet } from '../cim/forensics/usage';
import type { SqlExecutor } from './sql-store';
import { rollupRows, type SealedScope } from './rollup-rows';
import { unnestRows } from './bulk-write';
import { pendingDifferencesSql, relistPendingSql } from './usage-pending';

type Rows = Array<Record<string, unknown>>;
type Query = Pick<SqlExecutor, 'query'>;

const MONTH = (alias: string) => `date_trunc('month', ${alias}.session_started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
const KEYS = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];

type Facet = UsageFacet;
const ALL_FACETS: readonly Facet[] = ['scopes', 'actions', 'edges', 'unmatched', 'calls'];

/**
 * One SELECT per facet of the scopes matching `where` (over alias `s`), each row
 * (namespace, month, facet, k1..k7, n1, n2, n3). Parameters are the caller's.
 */
function facetsSql(t: (table: string) => string, where: string, facets: readonly Facet[]): string {
  const head = (facet: string) => `s.namespace, ${MONTH('s')} AS month, '${facet}'::text AS facet`;
  const pad = (n: number) => Array.from({ length: n }, () => `''::text`).join(', ');
  const group = 'GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10';
  const parts: Record<Facet, string> = {
    scopes: `SELECT ${head('scopes')}, s.agent, s.agent_version, s.kind, COALESCE(s.delegated_by, ''), s.status, s.recovered::text,
        COALESCE(s.worker_build_id, ''), count(*), 0, 0
       FROM ${t('scopes')} s WHERE ${where} ${group}`,
    actions: `SELECT ${head('actions')}, a.agent, s.agent_version, a.kind, a.name, COALESCE(a.worker_build_id, ''), ${pad(2)}, count(*), 0, 0
       FROM ${t('scopes')} s JOIN ${t('actions')} a
         ON a.namespace = s.namespace AND a.scope_id = s.scope_id AND a.session_started_at = s.session_started_at
       WHERE ${where} ${group}`,
    edges: `SELECT ${head('edges')}, p.agent, p.agent_version, s.agent, s.agent_version, ${pad(3)}, count(*), 0, 0
       FROM ${t('scopes')} s JOIN ${t('scopes')} p
         ON p.namespace = s.namespace AND p.scope_id = s.parent_scope_id AND p.session_started_at = s.session_started_at
       WHERE ${where} AND s.kind = 'delegation' ${group}`,
    unmatched: `SELECT ${head('unmatched')}, s.delegated_by, s.agent, ${pad(5)}, count(*), 0, 0
       FROM ${t('scopes')} s
       WHERE ${where} AND s.kind = 'delegation' AND s.delegated_by IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM ${t('actions')} d
                         WHERE d.namespace = s.namespace AND d.target_scope_id = s.scope_id AND d.kind = 'delegate')
       ${group}`,
    // One call is every attempt of one activity in one scope; its outcome is its last attempt's (groupCalls).
    calls: `SELECT ${head('calls')}, s.agent, s.agent_version, ${pad(5)},
        count(*), count(*) FILTER (WHERE c.final_status IN ('error', 'denied')), sum(c.failed_attempts)
       FROM (SELECT a.namespace, a.scope_id, a.session_started_at,
                    count(*) FILTER (WHERE a.status IN ('error', 'denied')) AS failed_attempts,
                    (array_agg(a.status ORDER BY a.attempt DESC, a.started_at DESC, a.action_id DESC))[1] AS final_status
               FROM ${t('scopes')} s JOIN ${t('actions')} a
                 ON a.namespace = s.namespace AND a.scope_id = s.scope_id AND a.session_started_at = s.session_started_at
              WHERE ${where} AND a.kind IN ('tool_call', 'llm_call', 'denied')
              GROUP BY a.namespace, a.scope_id, a.session_started_at, COALESCE('call:' || a.activity_id, 'action:' || a.action_id)) c
       JOIN ${t('scopes')} s ON s.namespace = c.namespace AND s.scope_id = c.scope_id AND s.session_started_at = c.session_started_at
       ${group}`,
  };
  return facets.map((f) => parts[f]).join('\nUNION ALL\n');
}

const COUNTS = `n1 = usage_rollup.n1 + excluded.n1, n2 = usage_rollup.n2 + excluded.n2, n3 = usage_rollup.n3 + excluded.n3`;
const CONFLICT = `ON CONFLICT (namespace, month, facet, ${KEYS.join(', ')}) DO UPDATE SET ${COUNTS}`;
const INSERT = (t: (table: string) => string) => `INSERT INTO ${t('usage_rollup')} (namespace, month, facet, ${KEYS.join(', ')}, n1, n2, n3)`;

/**
 * The namespace's ($1) rolled-up rows (month, facet, k1..k7, n1, n2, n3), with the
 * differences of the delegations still awaiting their parent (usage-pending.ts).
 */
function storedSql(t: (table: string) => string): string {
  return `SELECT month, facet, ${KEYS.join(', ')}, n1, n2, n3 FROM ${t('usage_rollup')} WHERE namespace = $1
    UNION ALL
    SELECT month, facet, ${KEYS.join(', ')}, n1, n2, n3
      FROM (${pendingDifferencesSql(t, t('usage_rollup_pending'), 'pd.namespace = $1')}) AS d(namespace, month, facet, ${KEYS.join(', ')}, n1, n2, n3)`;
}

/**
 * Adds the counts of scopes just sealed; run in the sealing transaction, once per scope.
 * The counts come from the records just hashed (rollup-rows.ts), so the scopes' action
 * rows are not read again: one array upsert.
 */
export async function rollUpSealed(tx: Query, t: (table: string) => string, namespace: string, sealed: readonly SealedScope[]): Promise<void> {
  if (sealed.length === 0) return;
  const u = unnestRows(rollupRows(sealed), ['month', 'facet', ...KEYS, 'n1', 'n2', 'n3'], { month: 'timestamptz', n1: 'bigint', n2: 'bigint', n3: 'bigint' });
  await tx.query(
    `${INSERT(t)} SELECT $${u.params.length + 1}::text, month, facet, ${KEYS.join(', ')}, n1, n2, n3 FROM (${u.select}) AS own ${CONFLICT}`,
    [...u.params, namespace],
  );
}

/** Folds in every scope sealed before the rollup existed (once, right after migration 010). */
export async function backfillUsageRollup(db: Pick<SqlExecutor, 'transaction'>, t: (table: string) => string): Promise<void> {
  await db.transaction(async (tx) => {
    const { rows } = await tx.query(`DELETE FROM ${t('usage_rollup_backfill')} RETURNING pending`);
    if (rows.length === 0) return;
    await tx.query(`${INSERT(t)} ${facetsSql(t, `s.chain_length IS NOT NULL`, ALL_FACETS)} ${CONFLICT}`, [], { long: true });
    // Filled in bulk: the reads that follow plan with its real size (a never-analyzed table
    // looks empty, and grouping thousands of rows by sorting them costs several times hashing them).
    await tx.query(`ANALYZE ${t('usage_rollup')}`);
  });
}

/** The namespace's usage: the rollup's sums plus the scopes not sealed yet, counted from their rows. */
export async function rolledUpUsage(db: Query, t: (table: string) => string, namespace: string, options: { calls: boolean }): Promise<AgentUsage> {
  const facets = options.calls ? `` : `AND facet <> 'calls'`;
  const [rolled, live] = await Promise.all([
    db.query(
      `SELECT facet, ${KEYS.join(', ')}, sum(n1) AS n1, sum(n2) AS n2, sum(n3) AS n3 FROM (${storedSql(t)}) AS stored
        WHERE true ${facets} GROUP BY facet, ${KEYS.join(', ')} HAVING (sum(n1), sum(n2), sum(n3)) <> (0, 0, 0)`,
      [namespace],
    ),
    liveUsage(db, t, namespace, options),
  ]);
  return usageFromRows([...rolled.rows, ...live]);
}

/**
 * The facets of the scopes not rolled up yet, counted from their rows. Their sessions'
 * starts come first, from the index that holds only them: the facets are then planned
 * over those sessions' months alone, and not at all when every scope is rolled up (a
 * plan over every month's partitions costs more than the few rows it counts).
 */
async function liveUsage(db: Query, t: (table: string) => string, namespace: string, options: { calls: boolean }): Promise<Rows> {
  const { rows: sessions } = await db.query<{ started: string }>(
    `SELECT DISTINCT session_started_at::text AS started FROM ${t('scopes')} WHERE namespace = $1 AND chain_length IS NULL`,
    [namespace],
    { prepared: true },
  );
  if (sessions.length === 0) return [];
  const where = `s.namespace = $1 AND s.chain_length IS NULL AND s.session_started_at = ANY($2::timestamptz[])`;
  const { rows } = await db.query(
    `SELECT facet, ${KEYS.join(', ')}, n1, n2, n3 FROM (${facetsSql(t, where, options.calls ? ALL_FACETS : ALL_FACETS.filter((f) => f !== 'calls'))}) AS live(namespace, month, facet, ${KEYS.join(', ')}, n1, n2, n3)`,
    [namespace, sessions.map((s) => s.started)],
  );
  return rows;
}

function usageFromRows(rows: Rows): AgentUsage {
  const usage: AgentUsage = { scopes: [], actions: [], edges: [], unmatched: [], calls: [] };
  /** Adds to a group already listed (the rollup and the live part may share keys). */
  const seen = new Map<string, (n1: number, n2: number, n3: number) => void>();
  const orNull = (v: unknown) => (v === '' ? null : String(v));
  for (const r of rows) {
    const key = [r.facet, ...KEYS.map((k) => r[k])].join('\u0000');
    const n1 = Number(r.n1), n2 = Number(r.n2), n3 = Number(r.n3);
    const existing = seen.get(key);
    if (existing) {
      existing(n1, n2, n3);
      continue;
    }
    const [k1, k2, k3, k4, k5, k6, k7] = KEYS.map((k) => String(r[k]));
    switch (r.facet) {
      case 'scopes': {
        const g = { agent: k1!, agentVersion: k2!, kind: k3 as never, delegatedBy: orNull(k4), status: k5 as never, recovered: k6 === 'true', workerBuildId: orNull(k7), count: n1 };
        usage.scopes.push(g);
        seen.set(key, (a) => (g.count += a));
        break;
      }
      case 'actions': {
        const g = { agent: k1!, agentVersion: k2!, kind: k3 as never, name: k4!, workerBuildId: orNull(k5), count: n1 };
        usage.actions.push(g);
        seen.set(key, (a) => (g.count += a));
        break;
      }
      case 'edges': {
        const g = { parentAgent: k1!, parentVersion: k2!, childAgent: k3!, childVersion: k4!, count: n1 };
        usage.edges.push(g);
        seen.set(key, (a) => (g.count += a));
        break;
      }
      case 'unmatched': {
        const g = { delegatedBy: k1!, agent: k2!, count: n1 };
        usage.unmatched.push(g);
        seen.set(key, (a) => (g.count += a));
        break;
      }
      case 'calls': {
        const g = { agent: k1!, agentVersion: k2!, calls: n1, failedCalls: n2, failedAttempts: n3 };
        usage.calls.push(g);
        seen.set(key, (a, b, c) => {
          g.calls += a;
          g.failedCalls += b;
          g.failedAttempts += c;
        });
        break;
      }
    }
  }
  return usage;
}

const keyList = KEYS.join(', ');
const sealedFacets = (t: (table: string) => string) =>
  `SELECT to_char(month AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS month, facet, ${keyList}, sum(n1) AS n1, sum(n2) AS n2, sum(n3) AS n3
     FROM (${facetsSql(t, `s.namespace = $1 AND s.chain_length IS NOT NULL`, ALL_FACETS)}) AS r(namespace, month, facet, ${keyList}, n1, n2, n3)
    GROUP BY 1, 2, ${keyList}`;

/**
 * The rollup compared with a recount of the rows of every sealed scope of the namespace,
 * in one statement (one snapshot, so a scope sealed meanwhile is on both sides or neither).
 * Nothing hashes the rollup: an edited row would change what roles, drift and health
 * say without verify noticing. A record written after its scope was sealed differs too
 * (the rollup holds the counts as sealed); verify of its session names it.
 */
export async function usageDifferences(db: Query, t: (table: string) => string, namespace: string): Promise<UsageDifference[]> {
  const { rows } = await db.query<Record<string, string | null>>(
    `WITH stored AS (
       SELECT to_char(month AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS month, facet, ${keyList}, sum(n1) AS n1, sum(n2) AS n2, sum(n3) AS n3
         FROM (${storedSql(t)}) AS rolled GROUP BY 1, 2, ${keyList}),
     recounted AS (${sealedFacets(t)})
     SELECT month, facet, ${keyList},
            COALESCE(stored.n1, 0)::text AS s1, COALESCE(stored.n2, 0)::text AS s2, COALESCE(stored.n3, 0)::text AS s3,
            COALESCE(recounted.n1, 0)::text AS r1, COALESCE(recounted.n2, 0)::text AS r2, COALESCE(recounted.n3, 0)::text AS r3
       FROM stored FULL JOIN recounted USING (month, facet, ${keyList})
      WHERE (COALESCE(stored.n1, 0), COALESCE(stored.n2, 0), COALESCE(stored.n3, 0))
            IS DISTINCT FROM (COALESCE(recounted.n1, 0), COALESCE(recounted.n2, 0), COALESCE(recounted.n3, 0))
      ORDER BY month, facet, ${keyList}`,
    [namespace],
    { long: true },
  );
  return rows.map((r) => ({
    month: String(r.month),
    facet: r.facet as Facet,
    keys: KEYS.map((k) => String(r[k] ?? '')),
    stored: [Number(r.s1), Number(r.s2), Number(r.s3)],
    recounted: [Number(r.r1), Number(r.r2), Number(r.r3)],
  }));
}

/**
 * Replaces the namespace's rollup with a recount of its sealed scopes' rows. The lock
 * makes a sealing transaction either finish before the recount reads (its scopes counted
 * here, its own counts deleted) or wait until it has committed (its scopes not sealed in
 * the recount's snapshot, its counts added after): each scope is counted once.
 */
export async function rebuildUsageRollup(db: Pick<SqlExecutor, 'transaction'>, t: (table: string) => string, namespace: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`LOCK TABLE ${t('usage_rollup')} IN EXCLUSIVE MODE`);
    await tx.query(`DELETE FROM ${t('usage_rollup')} WHERE namespace = $1`, [namespace]);
    await tx.query(`${INSERT(t)} ${facetsSql(t, `s.namespace = $1 AND s.chain_length IS NOT NULL`, ALL_FACETS)} ${CONFLICT}`, [namespace], { long: true });
    // The delegations still awaiting their parent are listed again as this recount counted them.
    await tx.query(`DELETE FROM ${t('usage_rollup_pending')} WHERE namespace = $1`, [namespace]);
    await tx.query(relistPendingSql(t), [namespace], { long: true });
  });
}
