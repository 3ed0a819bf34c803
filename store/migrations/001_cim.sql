-- The CIM tables. {{schema}} is replaced by the store's schema name.
CREATE TABLE IF NOT EXISTS {{schema}}.scopes (
  scope_id              text NOT NULL,
  session_id            text NOT NULL,
  namespace             text NOT NULL,
  parent_scope_id       text,
  handoff_from_scope_id text,
  kind                  text NOT NULL CHECK (kind IN ('root', 'delegation', 'handoff')),
  agent                 text NOT NULL,
  agent_version         text NOT NULL,
  delegated_by          text,
  objective             text,
  allowance             jsonb,
  depth                 integer NOT NULL,
  path                  text NOT NULL,
  status                text NOT NULL,
  recovered             boolean NOT NULL DEFAULT false,
  error                 text,
  started_at            timestamptz NOT NULL,
  ended_at              timestamptz,
  workflow_id           text NOT NULL,
  run_id                text NOT NULL,
  PRIMARY KEY (namespace, scope_id)
);
CREATE INDEX IF NOT EXISTS scopes_session_idx ON {{schema}}.scopes (namespace, session_id, started_at);
-- Prefix search on the materialized path answers "this scope and its descendants" by index.
CREATE INDEX IF NOT EXISTS scopes_path_idx ON {{schema}}.scopes (namespace, path text_pattern_ops);
CREATE INDEX IF NOT EXISTS scopes_roots_idx ON {{schema}}.scopes (namespace, started_at DESC) WHERE kind = 'root';
CREATE INDEX IF NOT EXISTS scopes_agent_idx ON {{schema}}.scopes (namespace, agent, agent_version);
CREATE INDEX IF NOT EXISTS scopes_parent_idx ON {{schema}}.scopes (namespace, parent_scope_id);

CREATE TABLE IF NOT EXISTS {{schema}}.actions (
  action_id       text NOT NULL,
  scope_id        text NOT NULL,
  session_id      text NOT NULL,
  namespace       text NOT NULL,
  agent           text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('tool_call', 'llm_call', 'delegate', 'handoff', 'signal', 'denied')),
  name            text NOT NULL,
  attempt         integer NOT NULL,
  resources       jsonb NOT NULL DEFAULT '[]'::jsonb,
  input_digest    text,
  output_digest   text,
  status          text NOT NULL,
  error           text,
  started_at      timestamptz NOT NULL,
  ended_at        timestamptz,
  workflow_id     text NOT NULL,
  run_id          text NOT NULL,
  activity_id     text,
  target_scope_id text,
  attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (namespace, action_id)
);
CREATE INDEX IF NOT EXISTS actions_scope_idx ON {{schema}}.actions (namespace, scope_id, started_at);
CREATE INDEX IF NOT EXISTS actions_agent_idx ON {{schema}}.actions (namespace, agent, kind, name);
CREATE INDEX IF NOT EXISTS actions_session_idx ON {{schema}}.actions (namespace, session_id);

CREATE TABLE IF NOT EXISTS {{schema}}.payloads (
  namespace text NOT NULL,
  action_id text NOT NULL,
  side      text NOT NULL CHECK (side IN ('input', 'output')),
  body      jsonb NOT NULL,
  PRIMARY KEY (namespace, action_id, side)
);

CREATE TABLE IF NOT EXISTS {{schema}}.manifests (
  agent       text NOT NULL,
  version     text NOT NULL,
  manifest    jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (agent, version)
);
