import pg from 'pg';
import { TEST_DATABASE_URL } from './runtime';

/** Runs one statement on the test database over a connection of its own: behind the recorder's back. */
export async function testSql<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await client.query<R>(text, params);
  } finally {
    await client.end();
  }
}

/** Whether a scope's row in `schema` is sealed (its chain length set), or missing. */
export async function sealState(schema: string, scopeId: string): Promise<'sealed' | 'unsealed' | 'missing'> {
  const { rows } = await testSql<{ chain_length: number | null }>(`SELECT chain_length FROM "${schema}".scopes WHERE scope_id = $1`, [scopeId]);
  if (rows.length === 0) return 'missing';
  return rows[0]!.chain_length === null ? 'unsealed' : 'sealed';
}
