/**
 * A short mark of which store a client or worker uses, for a session's memo: a digest of the
 * store's location (server, database and schema, or data folder; never credentials), so the
 * memo names no address. Undefined for a store that does not say where it is.
 */
import { sha256Hex } from './sha256';
import type { Store } from './types';

export function storeMark(store: Pick<Store, 'location'>): string | undefined {
  return store.location ? sha256Hex(`scopetrail-store\u0000${store.location}`).slice(0, 16) : undefined;
}
