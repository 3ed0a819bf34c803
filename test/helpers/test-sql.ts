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
