-- What the dashboard asks often. Running rows are few at any moment, so the partial
-- indexes stay small and let the live change token count them without a scan; the
-- start-time index serves the newest-action part of that token and the upper time
-- bound of the resource view.
CREATE INDEX IF NOT EXISTS actions_running_idx ON {{schema}}.actions (namespace, session_id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS scopes_running_idx ON {{schema}}.scopes (namespace, session_id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS actions_started_idx ON {{schema}}.actions (namespace, started_at);
