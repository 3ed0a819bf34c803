/**
 * What Temporal takes in one payload: the server refuses a payload over its blob size
 * limit (`limit.blobSize.error`, 2 MiB by default) and warns from `limit.blobSize.warn`
 * (512 KiB). Tool outputs (worker) and session inputs (client) are measured against it
 * before they leave, so the refusal names the value instead of arriving as a gRPC error.
 */
export interface PayloadLimits {
  /** Larger than this is refused. */
  errorBytes: number;
  /** Larger than this is worth a warning. */
  warnBytes: number;
}

export const DEFAULT_PAYLOAD_LIMITS: PayloadLimits = { errorBytes: 2 * 1024 * 1024, warnBytes: 512 * 1024 };

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
