/** Finishes the 10 M synthetic store whose load stopped at the rollup build: samples, rollup, bench_meta. */
import pg from 'pg';
import { buildRollup } from '/work/main/bench/lib/load-store';
const URL = 'postgres://postgres@127.0.0.1:5432/test';
const schema = 'bench_q_10000000';
(async () => {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  const t0 = Date.now();
  await buildRollup(client, schema);
  const rollupBuildSeconds = (Date.now() - t0) / 1000;
  console.log('rollup', rollupBuildSeconds);
  const ids = async (sql: string) => (await client.query<{ id: string }>(sql)).rows.map((r) => r.id);
  const s = `"${schema}"`;
  const counts = await client.query(`SELECT (SELECT count(*) FROM ${s}.actions) AS actions, (SELECT count(*) FROM ${s}.scopes) AS scopes, (SELECT count(DISTINCT session_id) FROM ${s}.scopes) AS sessions`);
  // Shapes as the generator makes them: a wide root fans out to 150–250 sub-agents, a deep chain is 24–31 scopes long.
  await client.query(`CREATE TEMP TABLE shape AS SELECT session_id, count(*) AS n, max(depth) AS d FROM ${s}.scopes GROUP BY 1`);
  const samples = {
    any: await ids(`SELECT scope_id AS id FROM ${s}.scopes TABLESAMPLE SYSTEM (1) ORDER BY random() LIMIT 1000`),
    root: await ids(`SELECT r.scope_id AS id FROM ${s}.scopes r JOIN shape USING (session_id) WHERE r.kind = 'root' AND shape.d < 20 AND shape.n < 100 ORDER BY random() LIMIT 300`),
    deep_root: await ids(`SELECT r.scope_id AS id FROM ${s}.scopes r JOIN shape USING (session_id) WHERE r.kind = 'root' AND shape.d >= 20 ORDER BY random() LIMIT 300`),
    wide_root: await ids(`SELECT r.scope_id AS id FROM ${s}.scopes r JOIN shape USING (session_id) WHERE r.kind = 'root' AND shape.n >= 150 AND shape.d < 20 ORDER BY random() LIMIT 300`),
    leaf: await ids(`SELECT l.scope_id AS id FROM (SELECT * FROM ${s}.scopes TABLESAMPLE SYSTEM (2)) l WHERE NOT EXISTS (SELECT 1 FROM ${s}.scopes c WHERE c.namespace = l.namespace AND c.parent_scope_id = l.scope_id) ORDER BY random() LIMIT 300`),
  };
  const sessionSamples = await ids(`SELECT session_id AS id FROM shape ORDER BY random() LIMIT 300`);
  const c = counts.rows[0];
  const loaded = { schema, actions: Number(c.actions), scopes: Number(c.scopes), sessions: Number(c.sessions), samples, sessionSamples, loadSeconds: 1270, rollupBuildSeconds };
  await client.query(`CREATE TABLE IF NOT EXISTS ${s}.bench_meta (target bigint PRIMARY KEY, body jsonb NOT NULL)`);
  await client.query(`INSERT INTO ${s}.bench_meta VALUES ($1, $2)`, [10_000_000, JSON.stringify(loaded)]);
  console.log(JSON.stringify({ ...loaded, samples: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.length])) }));
  await client.end();
})().catch((e) => { console.error(e); process.exit(1); });
