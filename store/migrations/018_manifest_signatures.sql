-- The registering worker's signature over the manifest (HMAC-SHA256 under a key derived
-- from the deployment key, see cim/manifest-signature.ts): drift judges every run of a
-- version by its manifest, so one rewritten by anyone without the key must show. Null
-- for manifests registered before, or by a worker without a deployment key.
ALTER TABLE {{schema}}.manifests ADD COLUMN IF NOT EXISTS signature text;
ALTER TABLE {{schema}}.manifests ADD COLUMN IF NOT EXISTS signature_key text;
