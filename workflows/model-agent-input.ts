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
 */
export type ModelAgentInput =
  | { prompt: string }
  | { messages: ModelMessage[]; from?: string }
  | { conversation: ConversationReference; from?: string; reason?: string };

/** The failure type of a session whose model agent was started with an input it cannot take. */
export const INVALID_AGENT_INPUT = 'InvalidAgentInput';

// In the order the loop reads them: given several, the first is the one checked and used.
const INPUT_KEYS = ['messages', 'prompt', 'conversation'] as const;

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
    messages: z.object({ messages: z.array(message), from: z.string().optional() }),
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

/** The input as the loop reads it; anything else fails the session, non-retryable, naming the field. */
export function checkedInput(agent: string, input: unknown): ModelAgentInput {
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
  const parsed = shapes()[kind].safeParse(input);
  if (!parsed.success) throw refuse(invalidField(agent, parsed.error, 'input'));
  // The parsed copy would drop keys the schemas do not list; the loop reads the input as given.
  return input as ModelAgentInput;
}
