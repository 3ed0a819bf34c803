-- Delegate actions by the scope they created: finds delegation scopes whose delegator's
-- record is missing (roles) without scanning every action. Only delegations and
-- handoffs carry a target, so the index stays a small fraction of the table.
CREATE INDEX IF NOT EXISTS actions_target_idx ON {{schema}}.actions (namespace, target_scope_id)
  WHERE target_scope_id IS NOT NULL;
