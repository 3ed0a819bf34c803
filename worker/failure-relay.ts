/**
 * The failure an attempt ends with, carrying the attempt's records when its worker could
 * only spool them (ToolRelay in cim/envelope.ts). A successful attempt relays them in its
 * result; a failed one has only the failure, and without them a call whose last attempt
 * failed on a worker cut off from the store would have its scope sealed while its final
 * row waited in that worker's spool.
 *
 * The failure is rebuilt exactly as the SDK would convert the thrown error
 * (`ensureApplicationFailure`): same message, type, retry flag, cause and stack, so retry
 * policies (`nonRetryableErrorTypes`) decide as they would. A relay detail the tool put in
 * its own failure is removed: only the interceptor speaks for an attempt's records.
 */
import { ApplicationFailure, CancelledFailure, ensureApplicationFailure } from '@temporalio/common';
import { isRelayDetail, relayDetail, splitRelayDetails, type ToolRelay } from '../cim/envelope';

export function failureCarrying(err: unknown, relay: ToolRelay | undefined): unknown {
  // A cancelled attempt reports no failure of its own; the workflow asked for it.
  if (err instanceof CancelledFailure) return err;
  const forged = err instanceof ApplicationFailure && (err.details ?? []).some(isRelayDetail);
  if (!relay && !forged) return err;
  const failure = ensureApplicationFailure(err);
  const { rest } = splitRelayDetails(failure.details ?? []);
  const carrying = new ApplicationFailure(
    failure.message,
    failure.type,
    failure.nonRetryable,
    relay ? [...rest, relayDetail(relay)] : rest,
    failure.cause,
    failure.nextRetryDelay,
    failure.category,
  );
  carrying.stack = failure.stack;
  return carrying;
}
