-- Output provenance: keyed fingerprints of every recorded output (never the text itself).
-- fingerprint: HMAC-SHA256 of a normalised k-word shingle under the deployment key, first 64 bits (hex).
-- key_id: a hash of that key, so fingerprints made under another key are told apart, not mismatched.
CREATE TABLE IF NOT EXISTS {{schema}}.output_fingerprints (
  namespace   text NOT NULL,
  session_id  text NOT NULL,
  scope_id    text NOT NULL,
  -- the scope id for an agent's result, the action id for an LLM or tool output
  source_id   text NOT NULL,
  source_kind text NOT NULL CHECK (source_kind IN ('agent_output', 'llm_output', 'tool_output')),
  agent       text NOT NULL,
  produced_at timestamptz NOT NULL,
  fingerprint text NOT NULL,
  -- index of the shingle's first word in the output's normalised word sequence
  position    integer NOT NULL CHECK (position >= 0),
  -- words in the whole output (the same on every row of a source)
  words       integer NOT NULL CHECK (words >= 0),
  key_id      text NOT NULL,
  PRIMARY KEY (namespace, source_id, position)
);
CREATE INDEX IF NOT EXISTS output_fingerprints_lookup_idx ON {{schema}}.output_fingerprints (namespace, session_id, fingerprint);
