/** A benchmark's own store schema: created empty (migrated) at the start, dropped at the end. */
import { openPostgresStore } from '../../store/postgres';
import type { SqlStore } from '../../store/sql-store';
import { dropSchema } from '../../test/helpers/drop-schema';

export async function freshStore(url: string, schema: string): Promise<SqlStore> {
  await dropSchema(url, schema);
  const store = openPostgresStore(url, { schema });
  await store.migrate();
  return store;
}

export { dropSchema };
