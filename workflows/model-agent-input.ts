/**
 * The input a model-driven agent starts from, checked before its loop runs. The AI SDK
 * refuses a malformed message only when it builds the prompt, in words that name no
 * field; checked here, a bad input fails the session naming the field (`messages.0.role`),
 * as a tool's bad input does.
 */
import {
  assistantModelMessageSchema,
  systemModelMessageSchema,
  toolModelMessageSchema,
  userModelMessageSchema,
  type ModelMessage,
} from 'ai';
import { ApplicationFailure } from '@temporalio/workflow';
import { z } from 'zod';
import { lazySchema } from '../cim/lazy-schema';
import { invalidField, likeliest } from '../cim/invalid-field';
import type { ConversationReference } from '../cim/model-step';

/**
 * A model-driven agent starts from a prompt, or — after a handoff — from the conversation
 * so far: inline, or by reference when it is large (the model step reads it from the store).
 * A handoff's reason travels with either.
 */
export type ModelAgentInput =
  | { prompt: string }
  | { messages: ModelMessage[]; from?: string; reason?: string }
  | { conversation: ConversationReference; from?: string; reason?: string };

/** The failure type of a session whose model agent was started with an input it cannot take. */
export const INVALID_AGENT_INPUT = 'InvalidAgentInput';

// The fields an input starts from: exactly one of them. (Before MODEL_INPUT_PATCH, given several,
// the first in this order was the one checked and used, the others dropped.)
const INPUT_KEYS = ['messages', 'prompt', 'conversation'] as const;

/**
 * Runs made before it started from an input holding several of `prompt`, `messages` and
 * `conversation` (the first of those in INPUT_KEYS was used, the rest dropped) and from
 * `{ messages: [] }` (the AI SDK refused it, naming no field); replayed, they still do.
 */
export const MODEL_INPUT_PATCH = 'scopetrail-model-input-checks';

const shapes = lazySchema(() => {
  // By role, so a message with no known role is refused at its `role`, not as "matches no kind of message".
  const message = z.discriminatedUnion('role', [
    systemModelMessageSchema,
    userModelMessageSchema,
    assistantModelMessageSchema,
    toolModelMessageSchema,
  ] as unknown as [z.ZodObject<{ role: z.ZodLiteral<'system'> }>, ...Array<z.ZodObject<{ role: z.ZodLiteral<string> }>>]);
  return {
    prompt: z.object({ prompt: z.string() }),
    messages: z.object({ messages: z.array(message), from: z.string().optional(), reason: z.string().optional() }),
    conversation: z.object({
      conversation: z.object({
        from: z.string().min(1),
        digest: z.string().optional(),
        messages: z.number().int().min(0),
        bytes: z.number().int().min(0),
      }),
      from: z.string().optional(),
      reason: z.string().optional(),
    }),
  };
});

/**
 * The input as the loop reads it; anything else fails the session, non-retryable, naming the field.
 * `newChecks` is asked only when one of the refusals added with MODEL_INPUT_PATCH would refuse the
 * input (the workflow passes the patch; a run made before it goes on as it did then).
 */
export function checkedInput(agent: string, input: unknown, newChecks: () => boolean = () => true): ModelAgentInput {
  const refuse = (message: string) => ApplicationFailure.create({ type: INVALID_AGENT_INPUT, message, nonRetryable: true });
  const give = 'give { prompt: string } or { messages: [...] }';
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw refuse(`${agent}: invalid field "input": ${give}, not ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`);
  }
  const kind = INPUT_KEYS.find((k) => k in input);
  if (!kind) {
    const key = Object.keys(input)[0];
    const meant = key === undefined ? undefined : likeliest(key, INPUT_KEYS);
    throw refuse(`${agent}: invalid field "${key ?? 'input'}": ${key === undefined ? give : `not a field it takes${meant ? ` (did you mean "${meant}"?)` : ''}; ${give}`}`);
  }
  // Which one to start from is not the agent's guess: a prompt beside a conversation would be dropped unseen.
  const given = INPUT_KEYS.filter((k) => k in input);
  if (given.length > 1 && newChecks()) {
    throw refuse(`${agent}: invalid field "${given[1]}": give ${given.map((k) => `"${k}"`).join(' or ')}, not ${given.length > 2 ? 'several' : 'both'} (one would be dropped unseen)`);
  }
  const parsed = shapes()[kind].safeParse(input);
  if (!parsed.success) throw refuse(invalidField(agent, parsed.error, 'input'));
  // Nothing to start from (a handed-over conversation, even empty, still has the handover note).
  const held = input as { messages?: unknown[]; from?: unknown; reason?: unknown };
  if (kind === 'messages' && held.messages!.length === 0 && held.from === undefined && held.reason === undefined && newChecks()) {
    throw refuse(`${agent}: invalid field "messages": give at least one message`);
  }
  // The parsed copy would drop keys the schemas do not list; the loop reads the input as given.
  return input as ModelAgentInput;
}

/**
 * What the loop starts from: the messages it holds, and the reference to the conversation
 * kept in the store when it came by reference. A handed-over conversation ends with a note
 * of who handed it over and why, whichever way it travelled: the model step puts a kept
 * conversation before the note, so the target reads the same either way.
 */
export function startingMessages(
  agent: string,
  given: unknown,
  newChecks?: () => boolean,
): { messages: ModelMessage[]; conversation?: ConversationReference } {
  const input = checkedInput(agent, given, newChecks);
  if ('messages' in input) {
    const handedOver = input.from !== undefined || input.reason !== undefined;
    return { messages: handedOver ? [...input.messages, handoverNote(input.from ?? 'another agent', input.messages.length, input.reason)] : input.messages };
  }
  if ('prompt' in input) return { messages: [{ role: 'user', content: input.prompt }] };
  const c = input.conversation;
  return { messages: [handoverNote(input.from ?? c.from, c.messages, input.reason)], conversation: c };
}

function handoverNote(from: string, earlier: number, reason: string | undefined): ModelMessage {
  return { role: 'user', content: `Continue the conversation handed over by ${from} (${earlier} earlier messages)${reason ? `: ${reason}` : ''}` };
}
