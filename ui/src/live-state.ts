/** What a view knows of the store's changes, and the rules on it that need no browser (unit-tested). */

export interface Live {
  cursor: string | null;
  runningScopes: number | null;
  /** `missing`: the session is not in the store (a mistyped or pruned link); nothing will change that. */
  state: 'connecting' | 'live' | 'lost' | 'missing';
  /** How the page follows the store: a server-sent event stream, or polling (`?live=0`). */
  via: 'stream' | 'poll';
  /** Whether the first token has been waited for long enough (FIRST_TOKEN_MS) that the page loads without it. */
  waited: boolean;
}

/** How long a view waits for the first change token before it loads without one. */
export const FIRST_TOKEN_MS = 1_500;

/**
 * The refresh key a view gives useApi: false (do not fetch yet) until the first token
 * comes, so a page loads with one request rather than one before the token and one for
 * it; a token that is slow to come (FIRST_TOKEN_MS) holds nothing up. A stream that
 * has opened but not yet sent its token is still waiting for it: the opening and the
 * first token are separate events (two relayed messages in a tab that does not hold the
 * stream), and a render between them would otherwise fetch once for each.
 */
export function liveKey(live: Live): string | false {
  if (live.cursor !== null) return live.cursor;
  const awaitingToken = live.state === 'connecting' || live.state === 'live';
  return awaitingToken && !live.waited ? false : live.state;
}

interface Globals {
  BroadcastChannel?: unknown;
  navigator?: { locks?: { request?: unknown } };
}

/**
 * Whether this browser can share one stream among its tabs (live-share.ts); where it
 * cannot, the page polls. Web Locks exist only in a secure context: 127.0.0.1 and
 * localhost are, a plain http:// address of another host is not.
 */
export function canShare(g: Globals = globalThis as Globals): boolean {
  return typeof g.BroadcastChannel === 'function' && typeof g.navigator?.locks?.request === 'function';
}
