-- The registering worker's signature over the tool spec (HMAC-SHA256 under the manifest
-- key, see cim/tool-spec-signature.ts): a model step tells its model what a spec says only
-- when the signature holds, so a description rewritten in this table does not reach it.
ALTER TABLE {{schema}}.tool_specs ADD COLUMN IF NOT EXISTS signature text;
ALTER TABLE {{schema}}.tool_specs ADD COLUMN IF NOT EXISTS signature_key text;
