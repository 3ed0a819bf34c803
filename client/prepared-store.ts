/**
 * A store as ScopeClient reads it: before its first query, it asks once whether a worker
 * (or `migrate`) has created the store's tables, so a client pointed at a store nobody
 * prepared (a mistyped schema or URL, an embedded store beside a Postgres worker) says
 * so, as the CLI does, instead of failing with the database's "relation … does not exist".
 * The answer is kept only once it is yes: a client connected before any worker started
 * works once one has. Nothing is created: a reader may only be allowed to read.
 */
import type { Store } from '../store/types';
import { NoStoreError } from './arguments';

/** The methods that do not read the store's tables (or that prepare it). */
const UNCHECKED = new Set<PropertyKey>(['close', 'prepared', 'upToDate', 'migrate']);
/** The methods that return a part of the store (its queries are checked as the store's are). */
const PARTS = new Set<PropertyKey>(['fingerprints', 'receipts', 'dashboard', 'retention']);

export function preparedStore(store: Store, context: string): Store {
  const prepared = store.prepared?.bind(store);
  if (!prepared) return store;
  let ready: Promise<void> | undefined;
  const check = (): Promise<void> =>
    (ready ??= prepared().then(
      (ok) => {
        if (!ok) {
          ready = undefined;
          throw new NoStoreError(
            `${context}: no scopetrail store in ${store.location ?? store.description}: give ScopeClient.connect the store your workers write (openStore's url or dataDir, and schema; DATABASE_URL); workers create the store when they start`,
            'store',
          );
        }
      },
      (err: unknown) => {
        ready = undefined;
        throw err;
      },
    ));
  const gate = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop, receiver) {
        const value = Reflect.get(t, prop, receiver);
        if (typeof value !== 'function') return value;
        if (UNCHECKED.has(prop)) return value.bind(t);
        if (t === store && PARTS.has(prop)) return (...args: unknown[]) => gate(value.apply(t, args));
        return async (...args: unknown[]) => {
          await check();
          return value.apply(t, args);
        };
      },
    });
  return gate(store);
}
