/**
 * The `scopetrail-scope` header codec, shared by the workflow sandbox (which writes
 * it) and the worker's activity interceptor (which reads it).
 */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { scopeContextSchema, type ScopeContext } from './scope-context';
import { certainScopeContext } from './certain-context';

export { SCOPE_HEADER } from './names';

export function encodeScopeHeader(ctx: ScopeContext): Payload {
  // No codec encodes headers: a stray field of user text (an objective) never goes out in one.
  const { objective: _objective, ...scope } = ctx as ScopeContext & { objective?: unknown };
  return defaultPayloadConverter.toPayload(scope) as Payload;
}

/**
 * Headers written before the objective moved to the memo carried it (in plain text).
 * Read only so a run started from such a header keeps its objective on replay.
 */
export function legacyHeaderObjective(payload: Payload | undefined): string | null {
  if (!payload) return null;
  try {
    const value = defaultPayloadConverter.fromPayload(payload) as { objective?: unknown } | null;
    return typeof value?.objective === 'string' ? value.objective : null;
  } catch {
    return null;
  }
}

export function decodeScopeHeader(payload: Payload | undefined): ScopeContext | undefined {
  if (!payload) return undefined;
  let value: unknown;
  try {
    value = defaultPayloadConverter.fromPayload(payload);
  } catch {
    return undefined;
  }
  // The common header passes the fast check; only the rest builds the schema (see cim/certain-context.ts).
  const certain = certainScopeContext(value);
  if (certain) return certain;
  const parsed = scopeContextSchema().safeParse(value);
  // A malformed header is not trusted: the receiver acts as if it had none rather
  // than claim a parent it cannot prove.
  return parsed.success ? parsed.data : undefined;
}
