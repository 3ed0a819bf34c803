/**
 * Whether the Temporal server a connection names answers, and the error that says so
 * when it does not: the CLI's, the dashboard's and ScopeClient's sentence, with the fix
 * each says in its own terms.
 *
 * ScopeClient's connection is lazy, so queries that only read the store never need
 * Temporal. But the SDK retries a call that finds no server (its retry interceptor: ten
 * attempts of UNAVAILABLE with backoff, about 20 s), so the first call to an address
 * nothing listens on waits that long and ends in a bare gRPC error. The SDK's own check,
 * Connection.ensureConnected, keeps its first failure for good (a server started later
 * would never be seen) and waits out its whole timeout even for a refused connection.
 * This asks the channel itself, past the retry interceptor: a refused or unresolvable
 * address fails in milliseconds, one that never answers at the deadline, and a channel
 * that had already failed is given its next attempt (about 3 s) so that a server started
 * since is found. Only this check has a deadline; the calls it guards keep theirs, so a
 * long `result()` is not cut short.
 */
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { ScopetrailError } from '../cim/errors';

/** The largest message the client takes: above a history page of events at Temporal's 2 MiB payload limit. */
export const MAX_RECEIVE_BYTES = 128 * 1024 * 1024;

/** Long enough for a TLS handshake with a distant server; a refused connection fails long before. */
export const REACHABLE_WITHIN_MS = 5_000;

// gRPC's codes and channel state, as numbers: @grpc/grpc-js is the SDK's dependency, not ours.
const DEADLINE_EXCEEDED = 4;
const UNIMPLEMENTED = 12;
const UNAVAILABLE = 14;
const READY = 2;
const TRANSIENT_FAILURE = 3;

/** The cheapest call every Temporal server answers (old ones with UNIMPLEMENTED, which is an answer too). */
const SYSTEM_INFO = '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo';

export function unreachableMessage(address: string, reason: string, fix: string): string {
  return `Temporal at ${address} is not reachable (${reason}): ${fix}`;
}

/** A call that needs Temporal found no server at `address`; `reason` is what the connection said. */
export class TemporalUnreachableError extends ScopetrailError {
  override name = 'TemporalUnreachableError';

  constructor(readonly address: string, readonly reason: string, fix: string) {
    super(unreachableMessage(address, reason, fix), 'address');
  }
}

/**
 * The server at the address does not answer: this module's error, gRPC's UNAVAILABLE as
 * the Temporal client raises it, or the worker's native connection failing to connect
 * (its TransportError).
 */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof TemporalUnreachableError) return true;
  if ((err as { code?: unknown } | null)?.code === 14) return true;
  if (!(err instanceof Error)) return false;
  return /^14 UNAVAILABLE\b/.test(err.message) || (err.name === 'TransportError' && /ConnectError|tcp connect error|dns error/i.test(err.message));
}

/**
 * How long, at most, the channel waits between attempts to connect to a server that is
 * down (gRPC's default grows to 120 s): a server that comes back is connected to within
 * this, and a check that finds the channel failed waits one such period for a new attempt.
 */
const RECONNECT_MAX_MS = 2_000;
/** One reconnect period with gRPC's jitter (20%), and time for the connection itself. */
const NEXT_ATTEMPT_MS = 3_000;

/**
 * ScopeClient's own connection: the SDK's Connection, able to ask its channel directly
 * whether the server answers (the channel is the SDK's protected `client`).
 */
export class ReachableConnection extends Connection {
  static override lazy(options: ConnectionOptions = {}): ReachableConnection {
    const channelArgs = {
      'grpc.max_reconnect_backoff_ms': RECONNECT_MAX_MS,
      // gRPC's 4 MiB default is less than one page of a history whose calls carried payloads
      // near Temporal's limit: verify, reconcile and touched must read every history they are given.
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
      ...options.channelArgs,
    };
    return super.lazy({ ...options, channelArgs }) as ReachableConnection;
  }

  /** What the channel said when no server answered within `withinMs`; undefined when one did. */
  async unreachableReason(withinMs: number): Promise<string | undefined> {
    const state = this.client.getChannel().getConnectivityState(false);
    // Connected now: a call that loses the server later finds out for itself.
    if (state === READY) return undefined;
    // Fails at once on a refused connection: that attempt's outcome is news.
    const reason = await this.ask(withinMs);
    if (reason === undefined || state !== TRANSIENT_FAILURE) return reason;
    // The channel had failed before this check and answers with that failure until its next
    // attempt: a server started since would be missed. Waited for, that attempt tells.
    const connected = await this.untilReady(Date.now() + Math.min(withinMs, NEXT_ATTEMPT_MS)).then(() => true, () => false);
    return connected ? undefined : reason;
  }

  /** GetSystemInfo straight on the channel, past the services' retry interceptor (which is what would wait). */
  private ask(withinMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(SYSTEM_INFO, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + withinMs }, (err) => {
        resolve(err ? reasonOf(err, withinMs) : undefined);
      });
    });
  }
}

/** Connections the caller made that have answered once: asked again, each would cost a round trip per call. */
const answered = new WeakSet<Connection>();

/** Resolves once the server answers; throws TemporalUnreachableError, naming the address and `fix`, when it does not. */
export async function requireReachable(connection: Connection, fix: string, withinMs = REACHABLE_WITHIN_MS): Promise<void> {
  let reason: string | undefined;
  if (connection instanceof ReachableConnection) reason = await connection.unreachableReason(withinMs);
  else if (!answered.has(connection)) {
    // Only the SDK's public calls, so its retries wait out the deadline even for a refused connection.
    reason = await connection.withDeadline(Date.now() + withinMs, () => connection.workflowService.getSystemInfo({})).then(
      () => void answered.add(connection),
      (err: unknown) => reasonOf(err, withinMs),
    );
  }
  if (reason !== undefined) throw new TemporalUnreachableError(connection.options.address, reason, fix);
}

/**
 * Why no Temporal server answered, or undefined when the error is a Temporal server's
 * answer (UNAUTHENTICATED, an old server's UNIMPLEMENTED for the method, ...).
 */
function reasonOf(err: unknown, withinMs: number): string | undefined {
  const { code, details } = err as { code?: unknown; details?: unknown };
  if (code === DEADLINE_EXCEEDED) return `no answer within ${withinMs / 1000} s`;
  // A gRPC server without Temporal's service at all (grpc-go says "unknown service", grpc-js
  // "does not implement the method"); an old Temporal server knows the service, not the method.
  if (code === UNIMPLEMENTED && typeof details === 'string' && /unknown service|does not implement the method/i.test(details)) {
    return `a gRPC server answers there, but not Temporal's: ${details}`;
  }
  if (code !== UNAVAILABLE) return undefined;
  return (typeof details === 'string' ? details.replace(/\.?\s*Resolution note:\s*$/, '') : '') || 'unavailable';
}
