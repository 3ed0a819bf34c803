-- Delegations rolled up while their parent's row or `delegate` action was still missing
-- (the parent's worker spooled them): what the rollup counted for each, until the parent
-- is sealed and the difference is folded in (store/usage-pending.ts). Few rows at any time.
CREATE TABLE IF NOT EXISTS {{schema}}.usage_rollup_pending (
  namespace          text NOT NULL,
  scope_id           text NOT NULL,
  session_started_at timestamptz NOT NULL,
  parent_scope_id    text NOT NULL,
  agent              text NOT NULL,
  agent_version      text NOT NULL,
  delegated_by       text,
  -- The edge counted (null: none, the parent's row was missing) and whether it was counted unmatched.
  parent_agent       text,
  parent_version     text,
  unmatched          boolean NOT NULL,
  PRIMARY KEY (namespace, scope_id, session_started_at)
);
CREATE INDEX IF NOT EXISTS usage_rollup_pending_parent_idx ON {{schema}}.usage_rollup_pending (namespace, parent_scope_id);
-- The delegations already sealed that still wait for their parent, as counted by now.
INSERT INTO {{schema}}.usage_rollup_pending
SELECT s.namespace, s.scope_id, s.session_started_at, s.parent_scope_id, s.agent, s.agent_version, s.delegated_by, p.agent, p.agent_version,
       s.delegated_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {{schema}}.actions d
                                                  WHERE d.namespace = s.namespace AND d.target_scope_id = s.scope_id AND d.kind = 'delegate')
  FROM {{schema}}.scopes s
  LEFT JOIN {{schema}}.scopes p
    ON p.namespace = s.namespace AND p.scope_id = s.parent_scope_id AND p.session_started_at = s.session_started_at
 WHERE s.chain_length IS NOT NULL AND s.kind = 'delegation' AND s.parent_scope_id IS NOT NULL AND p.chain_length IS NULL
   AND (p.scope_id IS NULL OR (s.delegated_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {{schema}}.actions d
                                                  WHERE d.namespace = s.namespace AND d.target_scope_id = s.scope_id AND d.kind = 'delegate')))
ON CONFLICT DO NOTHING;
