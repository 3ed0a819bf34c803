-- Ended scopes not yet sealed: the sealer's sweep finds them without scanning every scope.
-- The index stays small because a scope leaves it as soon as it is sealed.
CREATE INDEX IF NOT EXISTS scopes_unsealed_idx ON {{schema}}.scopes (namespace, scope_id)
  WHERE chain_length IS NULL AND status <> 'running';
