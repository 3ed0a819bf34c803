-- What failed a scope, bound by its workflow when it failed: the scope's own id (its agent's
-- code threw), a delegation's scope id (that delegation's failure passed up) or a call's
-- activity id (a tool or model call's did). Null for scopes that did not fail by themselves
-- and for rows written before; root cause then falls back to reading the records.
ALTER TABLE {{schema}}.scopes ADD COLUMN IF NOT EXISTS failed_by text;
