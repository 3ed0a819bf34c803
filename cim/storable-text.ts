/**
 * Postgres text and jsonb cannot hold U+0000, and jsonb refuses an unpaired UTF-16
 * surrogate (what `slice()` through an emoji leaves). Either one in a record (an
 * objective, an error message, a resource a tool reported) is stored as U+FFFD rather
 * than letting one bad character make the whole row, and its batch, unwritable. Pure:
 * reconcile applies the same rule to what history says before it compares.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Any character that could be unstorable: a cheap scan that almost every text passes. */
const SUSPECT = /[\u0000\uD800-\uDFFF]/;

export function storableText(text: string): string {
  return SUSPECT.test(text) ? text.replace(UNSTORABLE, '\uFFFD') : text;
}
