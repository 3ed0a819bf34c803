import pg from 'pg';
import { TEST_DATABASE_URL } from './runtime';
import type { Store } from '../../store/types';

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

/** Whether a scope of the store's namespace is sealed (its chain length set), or missing; read through the store, so PGlite too. */
export async function sealState(store: Store, sessionId: string, scopeId: string): Promise<'sealed' | 'unsealed' | 'missing'> {
  const chain = (await store.chainsOfSession(sessionId)).chains.find((c) => c.scope.scopeId === scopeId);
  if (!chain) return 'missing';
  return chain.chainLength === null ? 'unsealed' : 'sealed';
}
