/**
 * The usage rollup checked against a recount of the rows it summarises. Roles, drift and
 * agent health read the rollup for sealed scopes, and no hash covers it, so a row edited
 * there would change what they say while every session's verify stays clean.
 */
import type { UsageDifference } from '../cim/forensics/usage';
import type { Store } from '../store/types';

export interface UsageCheckReport {
  namespace: string;
  /** Keys whose rolled-up counts differ from the recount (before a repair, when repaired). */
  differences: UsageDifference[];
  /** The rollup was replaced by the recount. */
  repaired: boolean;
}

export class UsageCheckUnsupportedError extends Error {
  constructor(store: Store) {
    super(`the store at ${store.description} cannot recount its usage rollup`);
    this.name = 'UsageCheckUnsupportedError';
  }
}

export async function verifyUsage(store: Store, namespace: string, options: { repair?: boolean } = {}): Promise<UsageCheckReport> {
  if (!store.usageDifferences || !store.rebuildUsage) throw new UsageCheckUnsupportedError(store);
  const differences = await store.usageDifferences();
  if (!options.repair || differences.length === 0) return { namespace, differences, repaired: false };
  await store.rebuildUsage();
  return { namespace, differences, repaired: true };
}
