/**
 * Choosing a store: `url` (or DATABASE_URL, unless `memory` or `dataDir` is given)
 * selects a Postgres server; without one the embedded PGlite store is used, in a file
 * under the user's data directory or `dataDir`, or, with `memory: true`, in memory.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { openPgliteStore } from './pglite';
import { openPostgresStore } from './postgres';
import type { Store } from './types';
import { InvalidOptionError, fieldOf, invalidOption, unknownOption } from '../cim/invalid-field';
import { typedLengthChecks } from '../cim/typed-length-checks';
import { DEFAULT_NAMESPACE, namespaceFromEnv } from '../cim/temporal-namespace';

// Strict: a mistyped key (`databaseUrl`, `uri`) would otherwise open the default embedded store
// and write there, away from the database the caller meant.
export const OpenStoreOptions = typedLengthChecks(z.strictObject({
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  memory: z.boolean().optional(),
  dataDir: z.string().min(1).optional(),
  schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase SQL identifier').optional(),
  namespace: z.string().min(1).optional(),
  migrate: z.boolean().optional(),
}));
export type OpenStoreOptions = z.input<typeof OpenStoreOptions>;

export function defaultDataDir(): string {
  if (process.env.SCOPETRAIL_DATA_DIR) return process.env.SCOPETRAIL_DATA_DIR;
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'scopetrail', 'pglite');
}

export async function openStore(input: OpenStoreOptions = {}): Promise<Store> {
  // Checked before it is spread: a URL string would spread into no options and open the default store.
  if (typeof input !== 'object' || input === null) {
    throw new InvalidOptionError(`openStore: invalid field "options": give an object, e.g. openStore({ url: 'postgres://…' }), not ${input === null ? 'null' : typeof input}`, 'options');
  }
  const unknown = unknownOption('openStore', input, Object.keys(OpenStoreOptions.shape));
  if (unknown) throw unknown;
  const given = OpenStoreOptions.safeParse(input);
  if (!given.success) throw invalidOption('openStore', given.error, 'options');
  // Each of these names a different place to write: given two, one would be ignored and the
  // records would land where the caller did not look.
  const places = (['url', 'dataDir', 'memory'] as const).filter((k) => (k === 'memory' ? given.data.memory === true : given.data[k] !== undefined));
  if (places.length > 1) {
    const [first, second] = places as [string, string];
    throw new InvalidOptionError(`openStore: invalid field "${second}": give one of url, dataDir and memory: true, not ${first} and ${second} (each names a different store)`, second);
  }
  // DATABASE_URL chooses only where the call does not: a store asked for in memory or in a
  // folder is never swapped for a server the environment names (tests would write into it).
  const fromEnv = input.memory || input.dataDir !== undefined || input.url !== undefined ? undefined : process.env.DATABASE_URL || undefined;
  const parsed = OpenStoreOptions.safeParse({ url: fromEnv, ...input });
  if (!parsed.success) {
    // The URL came from the environment, not from the call: named as the caller set it.
    if (fromEnv !== undefined && fieldOf(parsed.error) === 'url') {
      throw new InvalidOptionError(`openStore: invalid DATABASE_URL (from the environment): ${parsed.error.issues[0]?.message}`, 'DATABASE_URL');
    }
    throw invalidOption('openStore', parsed.error, 'options');
  }
  const o = parsed.data;
  // The namespace whose records the store reads: as TEMPORAL_NAMESPACE says when the call does
  // not, the one ScopeClient.connect and createWorker then take too.
  const opts = { schema: o.schema, namespace: o.namespace ?? namespaceFromEnv('openStore', process.env) ?? DEFAULT_NAMESPACE };
  const store = o.url
    ? openPostgresStore(o.url, opts)
    : openPgliteStore(o.memory ? undefined : (o.dataDir ?? defaultDataDir()), opts);
  if (o.migrate !== false) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close().catch(() => undefined);
      throw new Error(`could not prepare the store (${store.description}): ${(err as Error).message}`);
    }
  }
  return store;
}
