import type { z } from 'zod';

/** One sentence naming the first bad field of a failed zod parse: `context: invalid field "a.b": reason`. */
export function invalidField(context: string, error: z.ZodError, whole = 'value'): string {
  const issue = error.issues[0];
  return `${context}: invalid field "${issue?.path.join('.') || whole}": ${issue?.message ?? 'invalid'}`;
}
