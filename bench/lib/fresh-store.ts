/** A benchmark's own store schema: created empty (migrated) at the start, dropped at the end. */
import { openPostgresStore } from '../../store/postgres';
import type { SqlStore } from '../../store/sql-store';
import { dropSchema } from '../../test/helpers/drop-schema';

/**
 * `sessions`: the range of session starts the benchmark writes, whose monthly partitions are
 * made ahead. `open`: the package's opener to use (the compiled package's, say).
 */
export async function freshStore(url: string, schema: string, sessions?: { from: Date; to: Date }, open: typeof openPostgresStore = openPostgresStore): Promise<SqlStore> {
  await dropSchema(url, schema);
  const store = open(url, { schema });
  await store.migrate();
  if (sessions) await store.preparePartitions(sessions.from, sessions.to);
  return store;
}

export { dropSchema };
