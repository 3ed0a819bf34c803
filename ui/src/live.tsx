/**
 * Follows the store as it changes: the change token of a session or of the sessions
 * list; views pass it to useApi as their refresh key so they refetch exactly when
 * something changed.
 *
 * One tab per browser holds the server's live stream (/api/live) and shares its events
 * with the others (live-share.ts): a stream per tab would use up the browser's six
 * connections per host. A session's view asks /api/changes?session= for its own token
 * whenever the namespace changed.
 *
 * `?live=0` in the page's address (before the #) polls /api/changes instead, and so
 * does a browser that cannot share a stream between tabs. A stream is a request that
 * never ends: a proxy that buffers or cuts it leaves the page stale, and a headless
 * browser on virtual time (`--virtual-time-budget`) waits for it to end before its
 * clock moves, so a screenshot is never taken.
 */
import { useEffect, useState } from 'react';
import type { ChangesResponse } from '../../client/ui-api-types';
import { ApiFailure, enc, getJson } from './api';
import { followShared } from './live-share';
import { canShare, FIRST_TOKEN_MS, type Live } from './live-state';

export { liveKey, type Live } from './live-state';

/** How often a page that does not stream asks for the change token. */
export const POLL_MS = 2_000;

type SetLive = (update: (live: Live) => Live) => void;

/** Whether the page's address asks to poll rather than stream (`?live=0`). */
export function polls(search: string): boolean {
  return new URLSearchParams(search).get('live') === '0';
}

export function useLive(sessionId: string | null): Live {
  const via = polls(window.location.search) || !canShare() ? 'poll' : 'stream';
  const [live, setLive] = useState<Live>({ cursor: null, runningScopes: null, state: 'connecting', via, waited: false });
  useEffect(() => {
    setLive(() => ({ cursor: null, runningScopes: null, state: 'connecting', via, waited: false }));
    const query = sessionId ? `?session=${enc(sessionId)}` : '';
    const stop = via === 'poll' ? poll(`/api/changes${query}`, setLive) : follow(sessionId, setLive);
    const timer = setTimeout(() => setLive((l) => ({ ...l, waited: true })), FIRST_TOKEN_MS);
    return () => {
      clearTimeout(timer);
      stop();
    };
  }, [sessionId, via]);
  return live;
}

const applied = (token: ChangesResponse) => (l: Live): Live => ({ ...l, cursor: token.cursor, runningScopes: token.runningScopes, state: 'live' });
const failed = (err: unknown) => (l: Live): Live => ({ ...l, state: err instanceof ApiFailure && err.status === 404 ? 'missing' : 'lost' });

function follow(sessionId: string | null, setLive: SetLive): () => void {
  if (sessionId === null) {
    return followShared('/api/live', { change: (token) => setLive(applied(token)), state: (state) => setLive((l) => ({ ...l, state })) });
  }
  // The namespace changes whenever one of its sessions does; the session's own token
  // says whether this one did. One request at a time: changes during it ask once more.
  const abort = new AbortController();
  let asking = false;
  let again = false;
  let missing = false;
  const ask = async () => {
    if (asking || missing) return void (again = !missing);
    asking = true;
    do {
      again = false;
      try {
        setLive(applied(await getJson<ChangesResponse>(`/api/changes?session=${enc(sessionId)}`, abort.signal)));
      } catch (err) {
        if (abort.signal.aborted) return;
        missing = err instanceof ApiFailure && err.status === 404;
        setLive(failed(err));
      }
    } while (again && !abort.signal.aborted && !missing);
    asking = false;
  };
  const stop = followShared('/api/live', {
    change: () => void ask(),
    state: (state) => (state === 'lost' ? setLive((l) => (l.state === 'missing' ? l : { ...l, state })) : void ask()),
  });
  return () => {
    abort.abort();
    stop();
  };
}

/** One request at a time: the next is asked for only once the last has been answered. */
function poll(path: string, setLive: SetLive): () => void {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    try {
      setLive(applied(await getJson<ChangesResponse>(path, abort.signal)));
    } catch (err) {
      if (abort.signal.aborted) return;
      setLive(failed(err));
      // A session that is not there will not appear by asking again.
      if (err instanceof ApiFailure && err.status === 404) return;
    }
    if (!abort.signal.aborted) timer = setTimeout(() => void tick(), POLL_MS);
  };
  void tick();
  return () => {
    abort.abort();
    clearTimeout(timer);
  };
}

export function LiveBadge({ live }: { live: Live }) {
  const name = live.via === 'poll' ? 'polling' : 'live';
  const text =
    live.state === 'missing'
      ? 'not found'
      : live.state === 'lost'
      ? 'reconnecting…'
      : live.state === 'connecting'
        ? 'connecting…'
        : live.runningScopes
          ? `${name} · ${live.runningScopes} running`
          : `${name} · nothing running`;
  const title = live.via === 'poll' ? `asks every ${POLL_MS / 1000} s whether the store changed (?live=0)` : 'updates as the store changes';
  return (
    <span className={`live live-${live.state}${live.runningScopes ? ' live-running' : ''}`} data-testid="live-indicator" data-state={live.state}
      data-via={live.via} data-running={live.runningScopes ?? ''} title={title}>
      <span className="live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}
