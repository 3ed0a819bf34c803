/**
 * An agent's result must reach Temporal: the SDK converts it after the agent's code has
 * returned, and a value its payload converter cannot convert (a BigInt under the default
 * converter) fails the workflow task, retried without end, after the scope has already
 * been recorded a success. So the result is checked before the scope's end is recorded,
 * with the converter the SDK will use: this workflow's own (the activator holds it, set
 * from the worker's `payloadConverterPath` when the bundle was built with one).
 *
 * With Temporal's default converter the check is cim/json-sendable.ts, one walk with
 * JSON.stringify's rules that also refuses what JSON would silently change (binary data,
 * a Map, a Set) and names the refused value's path. A converter of the user's own is
 * asked to convert the envelope itself: only it knows what it carries.
 */
import { ApplicationFailure, patched } from '@temporalio/workflow';
import { maybeGetActivator } from '@temporalio/workflow/lib/global-attributes';
import { defaultPayloadConverter, type PayloadConverter } from '@temporalio/common';
import { jsonRefusal } from '../cim/json-sendable';

/**
 * The patch that marks histories in which an agent's unsendable result failed its run.
 * Asked only when a result is refused: a history an earlier build made, in which a result
 * JSON changed (a Uint8Array) went through, replays as it ran.
 */
export const UNSENDABLE_RESULT_PATCH = 'scopetrail-unsendable-result';

export const UNSENDABLE_AGENT_RESULT = 'UnsendableAgentResult';

/**
 * The failure to end the run with when `envelope` (the agent's `value` in its envelope)
 * cannot be sent to Temporal, or undefined when it can.
 */
export function unsendableResult(agent: string, value: unknown, envelope: unknown): ApplicationFailure | undefined {
  const why = sendRefusal(value, 'result', envelope);
  if (why === undefined || !patched(UNSENDABLE_RESULT_PATCH)) return undefined;
  // The same code gives the same result: retrying cannot help.
  return ApplicationFailure.nonRetryable(`agent ${agent}: its result cannot be sent to Temporal: ${why}`, UNSENDABLE_AGENT_RESULT);
}

/**
 * Why this workflow's payload converter cannot send `value` (named `root` in the message),
 * or undefined when it can. `sent` is what the SDK converts, when `value` goes wrapped.
 */
export function sendRefusal(value: unknown, root: string, sent: unknown = value): string | undefined {
  const converter = maybeGetActivator()?.payloadConverter as PayloadConverter | undefined;
  if (!converter || converter === defaultPayloadConverter) return jsonRefusal(value, root)?.message;
  try {
    if (converter.toPayload(sent) === undefined) return "the workflow's payload converter holds no converter that takes it";
    return undefined;
  } catch (err) {
    return `the workflow's payload converter says: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * The failure to refuse a call, child or handoff with, when the workflow's converter cannot
 * send its input (named `input`); undefined when it can. Nothing has been started then, so
 * nothing is recorded: history has nothing to agree with.
 */
export function unsendableInput(context: string, input: unknown, type: string): ApplicationFailure | undefined {
  const why = sendRefusal(input, 'input');
  if (why === undefined || !patched(UNSENDABLE_INPUT_PATCH)) return undefined;
  // The same input gives the same refusal: retrying cannot help.
  return ApplicationFailure.nonRetryable(`${context}: its input cannot be sent to Temporal: ${why}`, type);
}

/**
 * The patch that marks histories in which an input was refused this way. Asked only when one
 * is: an earlier build started a child or handed off with an input JSON changed on the way (a
 * nested Uint8Array, a Map), and its histories replay as they ran.
 */
export const UNSENDABLE_INPUT_PATCH = 'scopetrail-unsendable-input';

export const UNSENDABLE_TOOL_INPUT = 'UnsendableToolInput';
export const UNSENDABLE_DELEGATION_INPUT = 'UnsendableDelegationInput';
export const UNSENDABLE_HANDOFF_INPUT = 'UnsendableHandoffInput';
export const UNSENDABLE_CONTINUATION_INPUT = 'UnsendableContinuationInput';
