-- MCP receipts: what an MCP server did for a call it served under a verified delegation.
-- Kept apart from actions: the caller's row and the server's receipt are two witnesses.
CREATE TABLE IF NOT EXISTS {{schema}}.mcp_receipts (
  namespace   text NOT NULL,
  session_id  text NOT NULL,
  scope_id    text NOT NULL,
  -- the caller's action id for the attempt (from the signed delegation)
  action_id   text NOT NULL,
  attempt     integer NOT NULL CHECK (attempt >= 1),
  agent       text NOT NULL,
  server      text NOT NULL,
  tool        text NOT NULL,
  -- [{uri, mode}] the server reports it touched
  resources   jsonb NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('success', 'error')),
  error       text,
  started_at  timestamptz NOT NULL,
  ended_at    timestamptz NOT NULL,
  PRIMARY KEY (namespace, scope_id, action_id)
);
CREATE INDEX IF NOT EXISTS mcp_receipts_session_idx ON {{schema}}.mcp_receipts (namespace, session_id);
