/**
 * An error's message with its causes' as one line: `fetch failed: connect ECONNREFUSED
 * 127.0.0.1:7412`. Temporal keeps each cause as a failure of its own, and messages often
 * quote their cause already (`…gave no answer to read: fetch failed`): text a message
 * already holds is not said again. Pure: the workflow records scope and action errors
 * with it, reconcile expects them from history by the same rule, and the worker writes
 * the errors of its MCP calls with it, so a recorded message and the one an agent builds
 * from its failure chain agree.
 */

/** How far causes are followed: a chain is rarely more than a few links, and one may loop. */
const MAX_CAUSES = 20;

/**
 * The messages of `err` and its causes, outermost first. The chain ends at a cause without
 * a message of its own or one that repeats the message before it (an agent's Error reaches
 * history wrapped in a failure of the same message).
 */
export function causeMessages(err: unknown): string[] {
  if (!(err instanceof Error)) return [String(err)];
  const messages = [err.message];
  let cause = (err as { cause?: unknown }).cause;
  while (cause instanceof Error && messages.length <= MAX_CAUSES) {
    const message = ownMessage(cause);
    if (!message || message === messages[messages.length - 1]) break;
    messages.push(message);
    cause = (cause as { cause?: unknown }).cause;
  }
  return messages;
}

/**
 * Node reports a connection refused on every address of a name as an AggregateError without
 * a message: its errors say what happened.
 */
function ownMessage(err: Error): string {
  const errors = (err as { errors?: unknown }).errors;
  if (err.message || !Array.isArray(errors)) return err.message;
  return errors.map((e) => (e instanceof Error ? e.message : String(e))).filter(Boolean).join('; ');
}

/** The chain of messages (as causeMessages gives them) as one line. */
export function joinCauses(messages: readonly string[]): string {
  let text = messages[messages.length - 1] ?? '';
  for (let i = messages.length - 2; i >= 0; i--) text = withCause(messages[i]!, messages[i + 1]!, text);
  return text;
}

/**
 * `message` followed by its cause's text (`causeText`, which begins with the cause's own
 * `causeMessage`), unless it holds that text already: at its end, or followed by more (a
 * message written where the chain was longer than the one Temporal kept). A message that
 * ends with the cause's own message only gets what the cause's causes add: `…: fetch failed`
 * over `fetch failed: connect ECONNREFUSED …` is `…: fetch failed: connect ECONNREFUSED …`.
 */
function withCause(message: string, causeMessage: string, causeText: string): string {
  if (message.endsWith(causeText) || message.includes(`${causeText}: `)) return message;
  if (message.endsWith(causeMessage)) return message + causeText.slice(causeMessage.length);
  return `${message}: ${causeText}`;
}

/** An error and its causes as one line, cut after `max` characters saying how many more there were. */
export function causeText(err: unknown, max: number): string {
  const text = joinCauses(causeMessages(err));
  if (text.length <= max) return text;
  // Not between the halves of a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(text[max - 1] ?? '') ? max - 1 : max;
  return `${text.slice(0, end)}… (${text.length - end} more characters)`;
}
