/**
 * The namespace-wide aggregates behind roles, drift and agent health (see
 * cim/forensics/usage.ts), computed by the database: the answer's size depends on the
 * number of agents, versions and tools, never on the number of actions.
 */
import type { AgentUsage } from '../cim/forensics/usage';
import type { SqlExecutor } from './sql-store';

type Rows = Array<Record<string, unknown>>;

export async function agentUsage(
  db: Pick<SqlExecutor, 'query'>,
  t: (table: string) => string,
  namespace: string,
  options: { calls: boolean },
): Promise<AgentUsage> {
  const q = async (sql: string): Promise<Rows> => (await db.query(sql, [namespace])).rows;
  const none = async (): Promise<Rows> => [];
  const [scopes, actions, edges, unmatched, calls] = await Promise.all([
    q(`SELECT agent, agent_version, kind, delegated_by, status, recovered, worker_build_id, count(*)::int AS n
       FROM ${t('scopes')} WHERE namespace = $1 GROUP BY 1, 2, 3, 4, 5, 6, 7`),
    q(`SELECT a.agent, s.agent_version, a.kind, a.name, a.worker_build_id, count(*)::int AS n
       FROM ${t('actions')} a LEFT JOIN ${t('scopes')} s ON s.namespace = a.namespace AND s.scope_id = a.scope_id
       WHERE a.namespace = $1 GROUP BY 1, 2, 3, 4, 5`),
    q(`SELECT p.agent AS parent_agent, p.agent_version AS parent_version, c.agent, c.agent_version, count(*)::int AS n
       FROM ${t('scopes')} c JOIN ${t('scopes')} p ON p.namespace = c.namespace AND p.scope_id = c.parent_scope_id
       WHERE c.namespace = $1 AND c.kind = 'delegation' GROUP BY 1, 2, 3, 4`),
    q(`SELECT s.delegated_by, s.agent, count(*)::int AS n FROM ${t('scopes')} s
       WHERE s.namespace = $1 AND s.kind = 'delegation' AND s.delegated_by IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM ${t('actions')} a
                         WHERE a.namespace = s.namespace AND a.target_scope_id = s.scope_id AND a.kind = 'delegate')
       GROUP BY 1, 2`),
    // One call is every attempt of one activity in one scope (a refusal without an activity id stands alone);
    // its outcome is its last attempt's, as in groupCalls. The costliest part: only health asks for it.
    options.calls ? q(`WITH calls AS (
         SELECT scope_id,
                count(*) FILTER (WHERE status IN ('error', 'denied'))::int AS failed_attempts,
                (array_agg(status ORDER BY attempt DESC, started_at DESC, action_id DESC))[1] AS final_status
         FROM ${t('actions')}
         WHERE namespace = $1 AND kind IN ('tool_call', 'llm_call', 'denied')
         GROUP BY scope_id, COALESCE('call:' || activity_id, 'action:' || action_id))
       SELECT s.agent, s.agent_version, count(*)::int AS calls,
              count(*) FILTER (WHERE c.final_status IN ('error', 'denied'))::int AS failed_calls,
              sum(c.failed_attempts)::int AS failed_attempts
       FROM calls c JOIN ${t('scopes')} s ON s.namespace = $1 AND s.scope_id = c.scope_id
       GROUP BY 1, 2`) : none(),
  ]);
  const str = (v: unknown) => String(v);
  const opt = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    scopes: scopes.map((r) => ({
      agent: str(r.agent),
      agentVersion: str(r.agent_version),
      kind: r.kind as AgentUsage['scopes'][number]['kind'],
      delegatedBy: opt(r.delegated_by),
      status: r.status as AgentUsage['scopes'][number]['status'],
      recovered: r.recovered === true,
      workerBuildId: opt(r.worker_build_id),
      count: Number(r.n),
    })),
    actions: actions.map((r) => ({
      agent: str(r.agent),
      agentVersion: opt(r.agent_version),
      kind: r.kind as AgentUsage['actions'][number]['kind'],
      name: str(r.name),
      workerBuildId: opt(r.worker_build_id),
      count: Number(r.n),
    })),
    edges: edges.map((r) => ({
      parentAgent: str(r.parent_agent),
      parentVersion: str(r.parent_version),
      childAgent: str(r.agent),
      childVersion: str(r.agent_version),
      count: Number(r.n),
    })),
    unmatched: unmatched.map((r) => ({ delegatedBy: str(r.delegated_by), agent: str(r.agent), count: Number(r.n) })),
    calls: calls.map((r) => ({
      agent: str(r.agent),
      agentVersion: str(r.agent_version),
      calls: Number(r.calls),
      failedCalls: Number(r.failed_calls),
      failedAttempts: Number(r.failed_attempts),
    })),
  };
}
