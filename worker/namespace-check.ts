/**
 * A worker's namespace, looked up before the SDK's worker is made. The SDK starts the
 * workflow threads before it asks the server for the namespace, and when the server has
 * none it throws without stopping them: the process could never exit. Asked first, a
 * mistyped namespace is an error naming it, with nothing left running.
 */
import type { NativeConnection } from '@temporalio/worker';
import { ScopetrailConfigError } from '../cim/errors';

const NOT_FOUND = 5;

export async function checkNamespace(connection: NativeConnection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    // Anything else (a key not allowed to describe, a server that does not answer) is the SDK's to report.
    if ((err as { code?: unknown }).code !== NOT_FOUND) return;
    throw new ScopetrailConfigError(
      `Namespace ${namespace} was not found on the Temporal server: give the namespace the server has, or create it (temporal operator namespace create ${namespace})`,
      'namespace',
    );
  }
}
