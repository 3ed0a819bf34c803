/**
 * Follows the server's live stream (/api/live): each event carries the change token
 * of a session or of the sessions list; views pass it to useApi as their refresh key
 * so they refetch exactly when something changed. EventSource reconnects by itself.
 *
 * `?live=0` in the page's address (before the #) polls /api/changes instead. A stream
 * is a request that never ends: a proxy that buffers or cuts it leaves the page stale,
 * and a headless browser on virtual time (`--virtual-time-budget`) waits for it to end
 * before its clock moves, so a screenshot is never taken.
 */
import { useEffect, useState } from 'react';
import type { ChangesResponse } from '../../client/ui-api-types';
import { enc, getJson } from './api';

/** How often a page that does not stream asks for the change token. */
export const POLL_MS = 2_000;

export interface Live {
  cursor: string | null;
  runningScopes: number | null;
  state: 'connecting' | 'live' | 'lost';
  /** How the page follows the store: a server-sent event stream, or polling (`?live=0`). */
  via: 'stream' | 'poll';
}

type SetLive = (update: (live: Live) => Live) => void;

/** Whether the page's address asks to poll rather than stream (`?live=0`). */
export function polls(search: string): boolean {
  return new URLSearchParams(search).get('live') === '0';
}

export function useLive(sessionId: string | null): Live {
  const via = polls(window.location.search) ? 'poll' : 'stream';
  const [live, setLive] = useState<Live>({ cursor: null, runningScopes: null, state: 'connecting', via });
  useEffect(() => {
    setLive(() => ({ cursor: null, runningScopes: null, state: 'connecting', via }));
    const query = sessionId ? `?session=${enc(sessionId)}` : '';
    return via === 'poll' ? poll(`/api/changes${query}`, setLive) : follow(`/api/live${query}`, setLive);
  }, [sessionId, via]);
  return live;
}

function follow(path: string, setLive: SetLive): () => void {
  const source = new EventSource(path);
  source.addEventListener('change', (e) => {
    const token = JSON.parse((e as MessageEvent<string>).data) as ChangesResponse;
    setLive((l) => ({ ...l, cursor: token.cursor, runningScopes: token.runningScopes, state: 'live' }));
  });
  source.addEventListener('open', () => setLive((l) => ({ ...l, state: 'live' })));
  source.addEventListener('error', () => setLive((l) => ({ ...l, state: 'lost' })));
  return () => source.close();
}

/** One request at a time: the next is asked for only once the last has been answered. */
function poll(path: string, setLive: SetLive): () => void {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    try {
      const token = await getJson<ChangesResponse>(path, abort.signal);
      setLive((l) => ({ ...l, cursor: token.cursor, runningScopes: token.runningScopes, state: 'live' }));
    } catch {
      if (abort.signal.aborted) return;
      setLive((l) => ({ ...l, state: 'lost' }));
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
    live.state === 'lost'
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
