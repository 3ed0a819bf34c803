-- The server's signature over its receipt (HMAC-SHA256 under the delegation key, see
-- cim/mcp-receipt.ts): a row rewritten by anyone without the key no longer matches it.
-- Null for receipts written before receipts were signed; verify names those.
ALTER TABLE {{schema}}.mcp_receipts ADD COLUMN IF NOT EXISTS signature text;
ALTER TABLE {{schema}}.mcp_receipts ADD COLUMN IF NOT EXISTS signature_key text;
