-- The grouped counts behind roles, drift and agent health (cim/forensics/usage.ts),
-- kept per month of session start: a scope's part is added once, in the transaction
-- that seals it (store/usage-rollup.ts), so a namespace's usage is this table plus
-- the few scopes not sealed yet, at any size; retention deletes a month's rows with
-- its partitions. Keys are text ('' for null); which k means what depends on facet.
CREATE TABLE IF NOT EXISTS {{schema}}.usage_rollup (
  namespace text NOT NULL,
  month     timestamptz NOT NULL,
  facet     text NOT NULL CHECK (facet IN ('scopes', 'actions', 'edges', 'unmatched', 'calls')),
  k1 text NOT NULL, k2 text NOT NULL, k3 text NOT NULL, k4 text NOT NULL, k5 text NOT NULL, k6 text NOT NULL, k7 text NOT NULL,
  n1 bigint NOT NULL, n2 bigint NOT NULL, n3 bigint NOT NULL,
  PRIMARY KEY (namespace, month, facet, k1, k2, k3, k4, k5, k6, k7)
);
-- The scopes not in the rollup yet (running, or ended and not sealed): few at any time.
CREATE INDEX IF NOT EXISTS scopes_unrolled_idx ON {{schema}}.scopes (namespace, scope_id) WHERE chain_length IS NULL;
-- Scopes sealed before this migration are folded in by the store right after it (usage-rollup.ts).
CREATE TABLE IF NOT EXISTS {{schema}}.usage_rollup_backfill (pending boolean PRIMARY KEY);
INSERT INTO {{schema}}.usage_rollup_backfill VALUES (true) ON CONFLICT DO NOTHING;
