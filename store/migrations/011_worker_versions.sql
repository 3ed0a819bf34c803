-- The Worker Deployment Version (deployment name and build id) of the worker that wrote
-- each scope and action, so sessions that span an agent upgrade show which build did
-- what. Null for workers without one and for rows written before.
ALTER TABLE {{schema}}.scopes ADD COLUMN IF NOT EXISTS worker_deployment text;
ALTER TABLE {{schema}}.scopes ADD COLUMN IF NOT EXISTS worker_build_id text;
ALTER TABLE {{schema}}.actions ADD COLUMN IF NOT EXISTS worker_deployment text;
ALTER TABLE {{schema}}.actions ADD COLUMN IF NOT EXISTS worker_build_id text;
