-- Hash-chain links live in their own narrow, append-only table: sealing a scope appends
-- one short row per action (staged with COPY where the backend has it) instead of
-- rewriting every wide action row, which re-inserted each row into every index of
-- `actions`. A link belongs to its action by action id, as the columns it replaces did.
CREATE TABLE IF NOT EXISTS {{schema}}.action_chain (
  namespace  text NOT NULL,
  session_id text NOT NULL,
  scope_id   text NOT NULL,
  chain_seq  integer NOT NULL,
  action_id  text NOT NULL,
  prev_hash  text NOT NULL,
  hash       text NOT NULL,
  PRIMARY KEY (namespace, session_id, scope_id, chain_seq)
);
-- Links sealed before this migration move over; the columns on `actions` go.
DO $$
BEGIN
  INSERT INTO {{schema}}.action_chain (namespace, session_id, scope_id, chain_seq, action_id, prev_hash, hash)
    SELECT namespace, session_id, scope_id, chain_seq, action_id, prev_hash, hash FROM {{schema}}.actions
     WHERE chain_seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL
    ON CONFLICT DO NOTHING;
EXCEPTION WHEN undefined_column THEN
  NULL; -- no chain columns to move
END $$;
ALTER TABLE {{schema}}.actions DROP COLUMN IF EXISTS chain_seq;
ALTER TABLE {{schema}}.actions DROP COLUMN IF EXISTS prev_hash;
ALTER TABLE {{schema}}.actions DROP COLUMN IF EXISTS hash;
