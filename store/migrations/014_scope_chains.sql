-- A scope's chain links in one row: its action ids and their hashes in chain order. One
-- short row per action (`action_chain`) made sealing write, index and log about four
-- times the bytes; each link's previous hash is the hash before it (or the scope's
-- genesis), so it is derived when read instead of stored. Links sealed before this
-- migration stay in `action_chain`, where verify still reads them; a scope sealed again
-- has its links in exactly one of the two tables.
CREATE TABLE IF NOT EXISTS {{schema}}.scope_chains (
  namespace          text NOT NULL,
  session_id         text NOT NULL,
  scope_id           text NOT NULL,
  action_ids         text[] NOT NULL,
  hashes             text[] NOT NULL,
  session_started_at timestamptz NOT NULL,
  PRIMARY KEY (namespace, session_id, scope_id, session_started_at)
) PARTITION BY RANGE (session_started_at);

-- A partition for every month the other per-session tables have one (retention drops them together).
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
             FROM pg_inherits i
             JOIN pg_class c ON c.oid = i.inhrelid
             JOIN pg_class p ON p.oid = i.inhparent
             JOIN pg_namespace n ON n.oid = p.relnamespace
            WHERE n.nspname = '{{schema_name}}' AND p.relname = 'scopes' LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF %I.%I %s',
      '{{schema_name}}', 'scope_chains' || substr(r.relname, length('scopes') + 1), '{{schema_name}}', 'scope_chains', r.bound);
  END LOOP;
END $$;
