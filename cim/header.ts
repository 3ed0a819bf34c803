/**
 * The `scopetrail-scope` header codec, shared by the workflow sandbox (which writes
 * it) and the worker's activity interceptor (which reads it).
 */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ScopeContext } from './schemas';

export { SCOPE_HEADER } from './names';

export function encodeScopeHeader(ctx: ScopeContext): Payload {
  return defaultPayloadConverter.toPayload(ctx) as Payload;
}

export function decodeScopeHeader(payload: Payload | undefined): ScopeContext | undefined {
  if (!payload) return undefined;
  let value: unknown;
  try {
    value = defaultPayloadConverter.fromPayload(payload);
  } catch {
    return undefined;
  }
  const parsed = ScopeContext.safeParse(value);
  // A malformed header is not trusted: the receiver acts as if it had none rather
  // than claim a parent it cannot prove.
  return parsed.success ? parsed.data : undefined;
}
