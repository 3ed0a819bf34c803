-- Calls a run left running when it ended (ScopeRecord.openCalls): their activity ids and
-- the latest time the attempt in flight can end. Sealing waits for their ends, or for that
-- time (store/seal.ts). Null for a run that awaited every call, and for rows written before.
ALTER TABLE {{schema}}.scopes ADD COLUMN IF NOT EXISTS open_calls jsonb;
