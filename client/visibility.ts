/** Whether a namespace can list scopes: it has scopetrail's search attributes. */
import type { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../cim/names';

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
