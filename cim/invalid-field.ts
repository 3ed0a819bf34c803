import type { z } from 'zod';

/** One sentence naming the first bad field of a failed zod parse: `context: invalid field "a.b": reason`. */
export function invalidField(context: string, error: z.ZodError, whole = 'value'): string {
  const issue = error.issues[0];
  const reason = issue?.code === 'unrecognized_keys' && issue.keys.length ? 'not a field it takes' : (issue?.message ?? 'invalid');
  return `${context}: invalid field "${fieldOf(error, whole)}": ${reason}`;
}

/**
 * The path of a failed parse's first issue, `whole` when the value itself is wrong. A key a
 * strict object does not take is the field, not the object it was found in.
 */
export function fieldOf(error: z.ZodError, whole = 'value'): string {
  const issue = error.issues[0];
  const path = issue?.path.map(String) ?? [];
  if (issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  return path.join('.') || whole;
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

/**
 * A key of `input` that `known` lacks, refused naming it: zod drops unknown keys silently, and
 * a misspelled `resource` or `subagents` would leave an agent unrestricted or a tool without
 * its declared resources. The likeliest meant key is suggested. `at` names the option a
 * nested object was given as.
 */
export function unknownOption(context: string, input: unknown, known: readonly string[], at?: string): InvalidOptionError | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const key = Object.keys(input).find((k) => !known.includes(k));
  if (key === undefined) return undefined;
  const meant = likeliest(key, known);
  // `at` is the option the object was given as (`spool`), so the field reads as the user wrote it.
  const field = at ? `${at}.${key}` : key;
  return new InvalidOptionError(
    `${context}: invalid field "${field}": not a field it takes${meant ? ` (did you mean "${meant}"?)` : ''}; it takes ${known.join(', ')}`,
    field,
  );
}

/**
 * The known key a typo most likely meant: same letters in another case, a plural, or two edits
 * away; else one the key spells out in longer words, give or take a slip (\`databaseUrl\`,
 * \`databaseUrll\` and \`database_url\` for \`url\`, \`schemaName\` for \`schema\`).
 */
export function likeliest(key: string, known: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  const near = known.map((c) => ({ c, d: distance(k, c.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
  if (near && near.d <= Math.min(2, Math.floor(key.length / 3))) return near.c;
  // Words of the key (camelCase, snake_case, kebab-case), each held to the known keys as a whole key is.
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[\s_-]+/).filter(Boolean);
  if (words.length < 2) return undefined;
  const inWords = known.filter((c) => c.length >= 3 && words.some((w) => distance(w.toLowerCase(), c.toLowerCase()) <= Math.floor(w.length / 4)));
  return inWords.length === 1 ? inWords[0] : undefined;
}

/** Levenshtein distance; the keys compared are short. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
