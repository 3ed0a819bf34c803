/**
 * Follows the server's live stream (/api/live): each event carries the change token
 * of a session or of the sessions list; views pass it to useApi as their refresh key
 * so they refetch exactly when something changed. EventSource reconnects by itself.
 */
import { useEffect, useState } from 'react';
import type { ChangesResponse } from '../../client/ui-api-types';
import { enc } from './api';

export interface Live {
  cursor: string | null;
  runningScopes: number | null;
  state: 'connecting' | 'live' | 'lost';
}

export function useLive(sessionId: string | null): Live {
  const [live, setLive] = useState<Live>({ cursor: null, runningScopes: null, state: 'connecting' });
  useEffect(() => {
    setLive({ cursor: null, runningScopes: null, state: 'connecting' });
    const source = new EventSource(`/api/live${sessionId ? `?session=${enc(sessionId)}` : ''}`);
    source.addEventListener('change', (e) => {
      const token = JSON.parse((e as MessageEvent<string>).data) as ChangesResponse;
      setLive({ cursor: token.cursor, runningScopes: token.runningScopes, state: 'live' });
    });
    source.addEventListener('open', () => setLive((l) => ({ ...l, state: 'live' })));
    source.addEventListener('error', () => setLive((l) => ({ ...l, state: 'lost' })));
    return () => source.close();
  }, [sessionId]);
  return live;
}

export function LiveBadge({ live }: { live: Live }) {
  const text =
    live.state === 'lost'
      ? 'reconnecting…'
      : live.state === 'connecting'
        ? 'connecting…'
        : live.runningScopes
          ? `live · ${live.runningScopes} running`
          : 'live · nothing running';
  return (
    <span className={`live live-${live.state}${live.runningScopes ? ' live-running' : ''}`} data-testid="live-indicator" data-state={live.state}
      data-running={live.runningScopes ?? ''} title="updates as the store changes">
      <span className="live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}
