/**
 * A signal that aborts when the current attempt is over, for a tool waiting on something
 * outside the worker (an MCP server's answer) that should stop when the attempt does.
 * Temporal's own cancellation signal is not enough: it reaches an activity only in answer
 * to a heartbeat, so a tool that never heartbeats is never told it was cancelled; and at
 * the attempt's deadline Temporal times it out without telling it at all (see
 * worker/attempt-deadline.ts). So while the signal is held the activity heartbeats (the
 * worker sends them on at its throttle: 80% of the heartbeat timeout, or every 30 s
 * without one), and the signal also aborts at the attempt's own deadline.
 */
import { Context } from '@temporalio/activity';
import { attemptDeadline, watchDeadline } from './attempt-deadline';

/** How often the activity heartbeats while the signal is held: the worker's throttle decides how often one is sent. */
const HEARTBEAT_EVERY_MS = 1_000;

export interface AttemptSignal {
  /** Aborts with Temporal's reason (a CancelledFailure) or, at the deadline, an Error naming the timeout. */
  signal: AbortSignal;
  /** Stops heartbeating and watching; call it once the wait is over. */
  release(): void;
}

export function attemptSignal(ctx: Context): AttemptSignal {
  const controller = new AbortController();
  const cancelled = () => controller.abort(ctx.cancellationSignal.reason);
  if (ctx.cancellationSignal.aborted) cancelled();
  else ctx.cancellationSignal.addEventListener('abort', cancelled, { once: true });
  // Counted from now, a little after the attempt began: never before Temporal times it out.
  const stopWatch = watchDeadline(attemptDeadline(ctx.info, Date.now()), (deadline) =>
    controller.abort(new Error(`the attempt's ${deadline.timeout} timeout (${deadline.ms} ms) passed`)),
  );
  // A local activity cannot heartbeat; its worker times it out and cancels it itself.
  const heartbeatMs = Math.min(HEARTBEAT_EVERY_MS, (ctx.info.heartbeatTimeoutMs || Infinity) / 2);
  const beat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(), heartbeatMs);
  if (!ctx.info.isLocal) ctx.heartbeat();
  return {
    signal: controller.signal,
    release: () => {
      clearInterval(beat);
      stopWatch();
      ctx.cancellationSignal.removeEventListener('abort', cancelled);
    },
  };
}

/**
 * Runs `call` with the current attempt's signal, released once it settles; outside an
 * activity (a provider called directly) there is no attempt and no signal.
 */
export async function duringAttempt<T>(call: (signal: AbortSignal | undefined) => PromiseLike<T>): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    ctx = undefined;
  }
  const attempt = ctx ? attemptSignal(ctx) : undefined;
  try {
    return await call(attempt?.signal);
  } finally {
    attempt?.release();
  }
}
