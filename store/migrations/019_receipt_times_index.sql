-- The resource view reads MCP receipts across sessions within a time range, as it reads
-- actions through actions_started_idx; the session index alone would scan every receipt.
CREATE INDEX IF NOT EXISTS mcp_receipts_started_idx ON {{schema}}.mcp_receipts (namespace, started_at);
