/**
 * A session's input and a handoff request's input go to Temporal as one payload each.
 * The server refuses one over its blob size limit with a bare gRPC error, and one over
 * the gRPC message limit (4 MiB) only after the client has retried it for half a
 * minute. Each is measured here first, as the workers' data converter (codecs included)
 * encodes it, so the refusal names the field and the sizes, and nothing has started.
 */
import { defaultPayloadConverter, isGrpcServiceError, type Client } from '@temporalio/client';
import { encodeToPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { DEFAULT_PAYLOAD_LIMITS } from '../cim/payload-size';
import { jsonRefusal } from '../cim/json-sendable';
import { PayloadTooLargeError, UnencodableValueError } from './arguments';

const GRPC_INVALID_ARGUMENT = 3;

/**
 * The encoded size of `value` as Temporal receives it; throws PayloadTooLargeError over the limit.
 * `field` names `part`, the user's value within what is sent (all of it unless given).
 */
export async function requireSendable(temporal: Client, method: string, field: string, value: unknown, part: unknown = value): Promise<number> {
  const converter = temporal.options.loadedDataConverter.payloadConverter;
  // Temporal's default converter sends a nested Uint8Array, a Map or a Set as another value (a
  // top-level Uint8Array goes as binary, faithfully), and its refusals name no place.
  if (converter === defaultPayloadConverter && !(value instanceof Uint8Array)) {
    const refused = jsonRefusal(part, field, { functions: 'refuse' });
    if (refused) throw new UnencodableValueError(method, field, refused.message, false);
  }
  let payloads;
  try {
    payloads = (await encodeToPayloads(temporal.options.loadedDataConverter, value)) ?? [];
  } catch (err) {
    throw new UnencodableValueError(method, field, err instanceof Error ? err.message : String(err));
  }
  let bytes = 0;
  for (const p of payloads) {
    bytes += p.data?.length ?? 0;
    for (const [key, v] of Object.entries(p.metadata ?? {})) bytes += key.length + (v?.length ?? 0);
  }
  if (bytes > DEFAULT_PAYLOAD_LIMITS.errorBytes) throw new PayloadTooLargeError(method, field, bytes, DEFAULT_PAYLOAD_LIMITS.errorBytes);
  return bytes;
}

/** A server configured with a lower limit refuses what passed the check: the same error, with the server's word. */
export function refusedAsTooLarge(err: unknown, method: string, field: string, bytes: number): unknown {
  const cause = (err as { cause?: unknown } | undefined)?.cause ?? err;
  if (isGrpcServiceError(cause) && cause.code === GRPC_INVALID_ARGUMENT && /blob data size exceeds limit/i.test(cause.details ?? '')) {
    return new PayloadTooLargeError(method, field, bytes, null);
  }
  return err;
}
