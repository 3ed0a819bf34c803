/**
 * How an LLM provider's errors become activity failures. Temporal retries the `llm`
 * activity, so the provider must say which failures another attempt could fix: rate
 * limits, timeouts and server errors may pass; a bad request, a bad key or an unknown
 * model will fail the same way every time.
 */
import { ApplicationFailure } from '@temporalio/common';

export const LLM_PROVIDER_ERROR = 'LlmProviderError';

/** Longest server-requested pause honoured; beyond it the retry policy's own backoff applies. */
const MAX_RETRY_AFTER_MS = 60_000;

export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export interface ProviderFailureInput {
  provider: string;
  /** What was called, e.g. `POST http://127.0.0.1:8080/v1/chat/completions (model gpt-4o-mini)`. */
  target: string;
  httpStatus?: number;
  /** The reason in the provider's own words, if any. */
  reason: string;
  /** Overrides the status-based decision (e.g. a connection refused: retryable; an unreadable answer: not). */
  retryable?: boolean;
  /** A pause the server asked for (Retry-After), in milliseconds. */
  retryAfterMs?: number;
}

export function providerFailure(input: ProviderFailureInput): ApplicationFailure {
  const retryable = input.retryable ?? (input.httpStatus !== undefined && retryableStatus(input.httpStatus));
  const status = input.httpStatus === undefined ? '' : `HTTP ${input.httpStatus} `;
  // Said of the failure, not promised: the last attempt's failure is retryable too, with none left.
  const next = retryable ? 'retryable' : 'not retryable';
  const delay =
    retryable && input.retryAfterMs !== undefined && input.retryAfterMs > 0 ? Math.min(input.retryAfterMs, MAX_RETRY_AFTER_MS) : undefined;
  return ApplicationFailure.create({
    type: LLM_PROVIDER_ERROR,
    message: `${input.provider} provider: ${status}from ${input.target}: ${oneLine(input.reason)} (${next})`,
    nonRetryable: !retryable,
    details: [{ provider: input.provider, httpStatus: input.httpStatus ?? null }],
    ...(delay === undefined ? {} : { nextRetryDelay: delay }),
  });
}

/** The HTTP status a provider failure carries, for the attempt's record. */
export function httpStatusOf(err: unknown): number | undefined {
  if (!(err instanceof ApplicationFailure) || err.type !== LLM_PROVIDER_ERROR) return undefined;
  const status = (err.details?.[0] as { httpStatus?: unknown } | undefined)?.httpStatus;
  return typeof status === 'number' ? status : undefined;
}

/** Retry-After is either seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 299)}…` : flat || 'no reason given';
}
