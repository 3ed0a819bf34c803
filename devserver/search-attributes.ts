/** The Keyword search attributes scopetrail publishes each scope under, and whether a namespace has them. */
import type { Connection } from '@temporalio/client';
import { INDEXED_VALUE_TYPE, REGISTERED_SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTES } from '../cim/names';

export { INDEXED_VALUE_TYPE, REGISTERED_SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTES };

export async function hasSearchAttributes(connection: Connection, namespace: string): Promise<boolean> {
  try {
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    const custom = res.customAttributes ?? {};
    return SEARCH_ATTRIBUTES.every((name) => name in custom);
  } catch {
    // Cloud namespaces may not allow the operator API; then scopes skip visibility.
    return false;
  }
}
