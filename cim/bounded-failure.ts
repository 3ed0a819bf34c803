/**
 * A failure as Temporal can take it. A failure goes to the server whole: its message,
 * its stack (which repeats the message) and its causes. One over the server's payload
 * limit is refused: a tool's attempt then times out at its start-to-close deadline
 * instead of failing (every retry the same, the agent learning of a timeout long after
 * the tool said why it failed), and an agent's run never closes, its workflow task failing
 * again and again. A message longer than MAX_FAILURE_MESSAGE_CHARS is cut there, saying
 * how much was cut; the record and history then hold the same text, and retry policies
 * decide as they would (the type, the retry flag, details and causes are kept). Failures
 * the SDK makes (an activity's, a child's) are left as they are: their own messages are
 * short, and what they wrap was cut where it was thrown. Pure: agents use it in the
 * workflow sandbox, the worker for tools.
 */
import { ApplicationFailure, TemporalFailure, ensureApplicationFailure } from '@temporalio/common';

export const MAX_FAILURE_MESSAGE_CHARS = 32 * 1024;

/** How deep causes are followed: a chain is rarely more than a few links. */
const MAX_CAUSES = 20;

export function boundedFailure(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > MAX_CAUSES) return err;
  if (err instanceof TemporalFailure && !(err instanceof ApplicationFailure)) return err;
  const cause = (err as { cause?: unknown }).cause;
  const boundedCause = boundedFailure(cause, depth + 1);
  if (err.message.length <= MAX_FAILURE_MESSAGE_CHARS && boundedCause === cause) return err;
  const failure = ensureApplicationFailure(err);
  const message = err.message.length <= MAX_FAILURE_MESSAGE_CHARS ? err.message : cutMessage(err.message);
  const bounded = new ApplicationFailure(
    message,
    failure.type,
    failure.nonRetryable,
    failure.details,
    boundedCause instanceof Error ? boundedCause : failure.cause,
    failure.nextRetryDelay,
    failure.category,
  );
  bounded.stack = withMessage(failure.stack, err.name, message);
  return bounded;
}

function cutMessage(message: string): string {
  let end = MAX_FAILURE_MESSAGE_CHARS;
  // Never between the two halves of a surrogate pair: a lone half is not storable text.
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${message.slice(0, end)}… [${message.length - end} more characters cut: a failure message is kept to ${MAX_FAILURE_MESSAGE_CHARS} characters, so that Temporal can take it]`;
}

/** The stack's frames under the new message: V8 puts the whole message at the top. */
function withMessage(stack: string | undefined, name: string, message: string): string {
  const frames = stack?.indexOf('\n    at ') ?? -1;
  return `${name}: ${message}${frames >= 0 ? stack!.slice(frames) : ''}`;
}
