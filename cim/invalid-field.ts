import type { z } from 'zod';

/** One sentence naming the first bad field of a failed zod parse: `context: invalid field "a.b": reason`. */
export function invalidField(context: string, error: z.ZodError, whole = 'value'): string {
  return `${context}: invalid field "${fieldOf(error, whole)}": ${error.issues[0]?.message ?? 'invalid'}`;
}

/** The path of a failed parse's first issue, `whole` when the value itself is wrong. */
export function fieldOf(error: z.ZodError, whole = 'value'): string {
  return error.issues[0]?.path.join('.') || whole;
}

/**
 * A bad option to a function that takes a definition or a configuration (defineTool,
 * openStore). It stays the TypeError these always threw, and carries what scopetrail's
 * other validation errors carry (cim/errors.ts): a stable `name` and the `field` its
 * message names, so code that handles them reads the field, not the sentence.
 */
export class InvalidOptionError extends TypeError {
  override name = 'InvalidOptionError';

  constructor(message: string, readonly field: string) {
    super(message);
  }
}

/** invalidField's sentence as an InvalidOptionError naming the same field. */
export function invalidOption(context: string, error: z.ZodError, whole = 'value'): InvalidOptionError {
  return new InvalidOptionError(invalidField(context, error, whole), fieldOf(error, whole));
}
