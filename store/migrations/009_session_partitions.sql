-- The per-session tables become partitioned by the month their session started
-- (session_started_at, the root scope's start, carried in the scope context), so that a
-- session's rows always share one partition: retention drops whole months of ended
-- sessions (DROP TABLE, not DELETE) and never cuts a session in half. Partitions are
-- created on demand by the store (store/partitions.ts); here, one per month present.
-- Primary keys gain the partition key, which is fixed per session, so the upserts that
-- make writes idempotent keep one row per record.
ALTER TABLE {{schema}}.scopes RENAME TO scopes_before_009;
ALTER TABLE {{schema}}.actions RENAME TO actions_before_009;
ALTER TABLE {{schema}}.output_fingerprints RENAME TO output_fingerprints_before_009;

CREATE TABLE {{schema}}.scopes (LIKE {{schema}}.scopes_before_009 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  session_started_at timestamptz NOT NULL) PARTITION BY RANGE (session_started_at);
CREATE TABLE {{schema}}.actions (LIKE {{schema}}.actions_before_009 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  session_started_at timestamptz NOT NULL) PARTITION BY RANGE (session_started_at);
CREATE TABLE {{schema}}.output_fingerprints (LIKE {{schema}}.output_fingerprints_before_009 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  session_started_at timestamptz NOT NULL) PARTITION BY RANGE (session_started_at);

-- Each session's start: its earliest scope (the root), else its earliest action.
CREATE TEMP TABLE session_starts_009 ON COMMIT DROP AS
  SELECT namespace, session_id, min(started_at) AS started_at FROM (
    SELECT namespace, session_id, started_at FROM {{schema}}.scopes_before_009 WHERE kind = 'root'
    UNION ALL
    SELECT namespace, session_id, min(started_at) FROM {{schema}}.scopes_before_009
      WHERE session_id NOT IN (SELECT session_id FROM {{schema}}.scopes_before_009 WHERE kind = 'root') GROUP BY 1, 2
    UNION ALL
    SELECT namespace, session_id, min(started_at) FROM {{schema}}.actions_before_009
      WHERE session_id NOT IN (SELECT session_id FROM {{schema}}.scopes_before_009) GROUP BY 1, 2
    UNION ALL
    SELECT namespace, session_id, min(produced_at) FROM {{schema}}.output_fingerprints_before_009
      WHERE session_id NOT IN (SELECT session_id FROM {{schema}}.scopes_before_009)
        AND session_id NOT IN (SELECT session_id FROM {{schema}}.actions_before_009) GROUP BY 1, 2
  ) s GROUP BY 1, 2;

DO $$
DECLARE
  m timestamptz;
  t text;
BEGIN
  FOR m IN SELECT DISTINCT date_trunc('month', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM session_starts_009 LOOP
    FOREACH t IN ARRAY ARRAY['scopes', 'actions', 'output_fingerprints'] LOOP
      EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
        '{{schema_name}}', t || '_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), '{{schema_name}}', t,
        m, (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC');
    END LOOP;
  END LOOP;
END $$;

INSERT INTO {{schema}}.scopes SELECT s.*, ss.started_at FROM {{schema}}.scopes_before_009 s
  JOIN session_starts_009 ss ON ss.namespace = s.namespace AND ss.session_id = s.session_id;
INSERT INTO {{schema}}.actions SELECT a.*, ss.started_at FROM {{schema}}.actions_before_009 a
  JOIN session_starts_009 ss ON ss.namespace = a.namespace AND ss.session_id = a.session_id;
INSERT INTO {{schema}}.output_fingerprints SELECT f.*, ss.started_at FROM {{schema}}.output_fingerprints_before_009 f
  JOIN session_starts_009 ss ON ss.namespace = f.namespace AND ss.session_id = f.session_id;

DROP TABLE {{schema}}.scopes_before_009;
DROP TABLE {{schema}}.actions_before_009;
DROP TABLE {{schema}}.output_fingerprints_before_009;

ALTER TABLE {{schema}}.scopes ADD PRIMARY KEY (namespace, scope_id, session_started_at);
CREATE INDEX scopes_session_idx ON {{schema}}.scopes (namespace, session_id, started_at);
CREATE INDEX scopes_path_idx ON {{schema}}.scopes (namespace, path text_pattern_ops);
CREATE INDEX scopes_roots_idx ON {{schema}}.scopes (namespace, started_at DESC) WHERE kind = 'root';
CREATE INDEX scopes_agent_idx ON {{schema}}.scopes (namespace, agent, agent_version);
CREATE INDEX scopes_parent_idx ON {{schema}}.scopes (namespace, parent_scope_id);
CREATE INDEX scopes_unsealed_idx ON {{schema}}.scopes (namespace, scope_id) WHERE chain_length IS NULL AND status <> 'running';
CREATE INDEX scopes_running_idx ON {{schema}}.scopes (namespace, session_id) WHERE status = 'running';

ALTER TABLE {{schema}}.actions ADD PRIMARY KEY (namespace, action_id, session_started_at);
CREATE INDEX actions_scope_idx ON {{schema}}.actions (namespace, scope_id, started_at);
CREATE INDEX actions_agent_idx ON {{schema}}.actions (namespace, agent, kind, name);
CREATE INDEX actions_session_idx ON {{schema}}.actions (namespace, session_id);
CREATE INDEX actions_target_idx ON {{schema}}.actions (namespace, target_scope_id) WHERE target_scope_id IS NOT NULL;
CREATE INDEX actions_running_idx ON {{schema}}.actions (namespace, session_id) WHERE status = 'running';
CREATE INDEX actions_started_idx ON {{schema}}.actions (namespace, started_at);

ALTER TABLE {{schema}}.output_fingerprints ADD PRIMARY KEY (namespace, source_id, position, session_started_at);
CREATE INDEX output_fingerprints_lookup_idx ON {{schema}}.output_fingerprints (namespace, session_id, fingerprint);

-- What retention removed, one row per dropped month (anchored in Temporal by `scopetrail prune`).
CREATE TABLE IF NOT EXISTS {{schema}}.prunes (
  namespace  text NOT NULL,
  month      timestamptz NOT NULL,
  pruned_at  timestamptz NOT NULL DEFAULT now(),
  before     timestamptz NOT NULL,
  sessions   integer NOT NULL,
  scopes     bigint NOT NULL,
  actions    bigint NOT NULL,
  PRIMARY KEY (namespace, month)
);
