-- A scope that runs out of its budget (turns, tokens, wall time) records a
-- `budget_exceeded` action. The constraint is named by Postgres after its column.
ALTER TABLE {{schema}}.actions DROP CONSTRAINT IF EXISTS actions_kind_check;
ALTER TABLE {{schema}}.actions ADD CONSTRAINT actions_kind_check
  CHECK (kind IN ('tool_call', 'llm_call', 'delegate', 'handoff', 'signal', 'denied', 'budget_exceeded'));
