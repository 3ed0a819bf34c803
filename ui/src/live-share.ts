/**
 * One live stream per browser, shared by all its dashboard tabs. A stream is a request
 * that never ends, and over HTTP/1.1 a browser opens at most six connections to one
 * host: with a stream per tab, the seventh tab's page never loaded. So the tabs elect
 * one of them with a Web Lock; it holds the namespace stream (`/api/live`) and relays
 * each event to the others over a BroadcastChannel. When it closes, its lock is
 * released and a waiting tab takes over. Views of one session turn a namespace event
 * into that session's token with a short request (see live.tsx).
 */
import type { ChangesResponse } from '../../client/ui-api-types';

export type StreamState = 'live' | 'lost';

export interface StreamListener {
  change(token: ChangesResponse): void;
  state(state: StreamState): void;
}

type Relay = { type: 'change'; token: ChangesResponse } | { type: 'state'; state: StreamState } | { type: 'hello' };

const NAME = 'scopetrail-live';
/** How long the holding tab waits before it opens a stream the server refused again. */
const REOPEN_MS = 3_000;

let shared: SharedStream | undefined;

/** Follows the namespace stream through whichever tab holds it; returns the unsubscribe. */
export function followShared(path: string, listener: StreamListener): () => void {
  shared ??= new SharedStream(path);
  return shared.add(listener);
}

class SharedStream {
  private readonly listeners = new Set<StreamListener>();
  private readonly channel = new BroadcastChannel(NAME);
  private leader = false;
  private last: ChangesResponse | undefined;
  private lastState: StreamState | undefined;

  constructor(path: string) {
    this.channel.onmessage = (e: MessageEvent<Relay>) => this.receive(e.data);
    // Waits, for as long as the page lives, until no other tab holds the stream; the
    // lock is released by the browser when the holding tab closes or crashes.
    void navigator.locks.request(NAME, () => this.lead(path));
    // Whoever leads answers with what it last had, so a new tab is current at once.
    this.channel.postMessage({ type: 'hello' } satisfies Relay);
  }

  add(listener: StreamListener): () => void {
    this.listeners.add(listener);
    if (this.lastState) listener.state(this.lastState);
    if (this.last) listener.change(this.last);
    return () => this.listeners.delete(listener);
  }

  private lead(path: string): Promise<never> {
    this.leader = true;
    const open = () => {
      const source = new EventSource(path);
      source.addEventListener('change', (e) => this.publish({ type: 'change', token: JSON.parse((e as MessageEvent<string>).data) as ChangesResponse }));
      source.addEventListener('open', () => this.publish({ type: 'state', state: 'live' }));
      source.addEventListener('error', () => {
        this.publish({ type: 'state', state: 'lost' });
        // EventSource retries a dropped stream by itself, but gives up on an error answer
        // (a store down as the stream opened is a 500): then it is opened anew.
        if (source.readyState === EventSource.CLOSED) setTimeout(open, REOPEN_MS);
      });
    };
    open();
    // Held until the page goes away.
    return new Promise<never>(() => undefined);
  }

  private publish(msg: Relay): void {
    this.channel.postMessage(msg);
    this.receive(msg);
  }

  private receive(msg: Relay): void {
    if (msg.type === 'hello') {
      if (!this.leader) return;
      if (this.lastState) this.channel.postMessage({ type: 'state', state: this.lastState } satisfies Relay);
      if (this.last) this.channel.postMessage({ type: 'change', token: this.last } satisfies Relay);
      return;
    }
    if (msg.type === 'state') {
      this.lastState = msg.state;
      for (const l of this.listeners) l.state(msg.state);
      return;
    }
    // Every new tab's hello is answered to all: a token they already have changes nothing.
    if (msg.token.cursor === this.last?.cursor && this.lastState === 'live') return;
    this.last = msg.token;
    this.lastState = 'live';
    for (const l of this.listeners) l.change(msg.token);
  }
}
