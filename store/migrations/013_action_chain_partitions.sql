-- Chain links are kept with their session too (migration 009): partitioned by the month
-- the session started, so retention drops a month's links with its actions.
ALTER TABLE {{schema}}.action_chain RENAME TO action_chain_before_013;
CREATE TABLE {{schema}}.action_chain (LIKE {{schema}}.action_chain_before_013 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  session_started_at timestamptz NOT NULL) PARTITION BY RANGE (session_started_at);

DO $$
DECLARE
  m timestamptz;
BEGIN
  FOR m IN SELECT DISTINCT date_trunc('month', session_started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM {{schema}}.scopes LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
      '{{schema_name}}', 'action_chain_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), '{{schema_name}}', 'action_chain',
      m, (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC');
  END LOOP;
END $$;

INSERT INTO {{schema}}.action_chain
  SELECT c.*, s.session_started_at FROM {{schema}}.action_chain_before_013 c
    JOIN (SELECT DISTINCT namespace, session_id, session_started_at FROM {{schema}}.scopes) s
      ON s.namespace = c.namespace AND s.session_id = c.session_id;
DROP TABLE {{schema}}.action_chain_before_013;
ALTER TABLE {{schema}}.action_chain ADD PRIMARY KEY (namespace, session_id, scope_id, chain_seq, session_started_at);
