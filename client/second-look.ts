/**
 * A check of a session that still runs reads its store, its Temporal history and its seal
 * anchors one after another, and the session moves on in between: a scope sealed, a call
 * ended or a task completed between two reads looks like a difference that is not there.
 * Such a check is made twice, a moment apart; what the second look also finds is reported
 * (a real difference stays; one made by the timing of the reads does not repeat).
 */

/** How long the session is given to move past what the first look caught it in the middle of. */
export const SECOND_LOOK_AFTER_MS = 500;

export async function settleThenRead<T>(read: () => Promise<T>, afterMs = SECOND_LOOK_AFTER_MS): Promise<T> {
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  return read();
}

/** The second look's findings that the first also had (by `key`). */
export function persisting<P>(first: readonly P[], second: readonly P[], key: (p: P) => string): P[] {
  const before = new Set(first.map(key));
  return second.filter((p) => before.has(key(p)));
}
