-- Tamper evidence: each scope's actions form a hash chain, sealed when the scope ends.
ALTER TABLE {{schema}}.actions ADD COLUMN IF NOT EXISTS chain_seq integer;
ALTER TABLE {{schema}}.actions ADD COLUMN IF NOT EXISTS prev_hash text;
ALTER TABLE {{schema}}.actions ADD COLUMN IF NOT EXISTS hash text;
ALTER TABLE {{schema}}.scopes ADD COLUMN IF NOT EXISTS chain_length integer;
ALTER TABLE {{schema}}.scopes ADD COLUMN IF NOT EXISTS chain_head text;
ALTER TABLE {{schema}}.scopes ADD COLUMN IF NOT EXISTS scope_hash text;
