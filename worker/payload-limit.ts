/**
 * Temporal refuses payloads over its blob size limit (the server's `limit.blobSize.error`,
 * 2 MiB by default; it warns from `limit.blobSize.warn`, 512 KiB), and a result over the
 * gRPC message limit cannot even be sent: the attempt then times out. A tool result is
 * measured before it leaves the worker, so the store records what Temporal will see —
 * a failed attempt with the reason — rather than a success Temporal never accepted.
 */
import { ApplicationFailure } from '@temporalio/common';
import { formatBytes, type PayloadLimits } from '../cim/payload-size';

export { DEFAULT_PAYLOAD_LIMITS, formatBytes, type PayloadLimits } from '../cim/payload-size';

export const PAYLOAD_TOO_LARGE = 'PayloadTooLarge';

export function payloadTooLarge(tool: string, bytes: number, limits: PayloadLimits): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `the output of ${tool} is ${formatBytes(bytes)}, over Temporal's payload limit of ${formatBytes(limits.errorBytes)}: ` +
      'return a reference to the data (a file, a URL, a row id) instead of the data itself',
    PAYLOAD_TOO_LARGE,
  );
}

export function payloadWarning(tool: string, bytes: number, limits: PayloadLimits): string {
  return `scopetrail: the output of ${tool} is ${formatBytes(bytes)} (over ${formatBytes(limits.warnBytes)}); Temporal fails results over ${formatBytes(limits.errorBytes)}`;
}
