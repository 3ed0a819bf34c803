/**
 * Live updates as server-sent events: `GET /api/live[?session=<id>]` streams the
 * change token of a session (or of the sessions list) whenever it changes. The
 * browser refetches what it shows on each event; the event id is the token, so a
 * reconnecting EventSource (which sends Last-Event-ID) gets nothing it already has.
 * Each stream asks the store at the server's interval; the token query reads indexes
 * only (see store/dashboard-queries.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleApi, type ApiContext } from './ui-api';
import type { ChangesResponse } from './ui-api-types';

export async function serveLive(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL, intervalMs: number): Promise<void> {
  const changesUrl = new URL(url);
  changesUrl.pathname = '/api/changes';
  // The first answer is also the validation: a bad or unknown session is a JSON error, not a stream.
  const first = await handleApi(ctx, req.method ?? 'GET', changesUrl);
  if (first.status !== 200) {
    const body = JSON.stringify(first.body);
    res.writeHead(first.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
  });
  res.write(`retry: ${Math.max(1000, intervalMs)}\n\n`);
  let last = lastEventId(req);
  const emit = (result: { status: number; body: unknown }) => {
    if (result.status !== 200) {
      // The store may be down for a while; say so and keep asking rather than end the stream.
      res.write(`event: problem\ndata: ${JSON.stringify(result.body)}\n\n`);
      return;
    }
    const token = result.body as ChangesResponse;
    if (token.cursor === last) return;
    last = token.cursor;
    res.write(`id: ${token.cursor}\nevent: change\ndata: ${JSON.stringify(token)}\n\n`);
  };
  emit(first);

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
  req.once('close', stop);
  res.once('close', stop);
  // One request at a time per stream: the next waits for the previous answer, so a slow store is never piled on.
  const tick = async () => {
    if (stopped) return;
    emit(await handleApi(ctx, 'GET', changesUrl));
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  timer = setTimeout(() => void tick(), intervalMs);
}

function lastEventId(req: IncomingMessage): string | undefined {
  const v = req.headers['last-event-id'];
  return typeof v === 'string' && /^[0-9a-f]{1,64}$/.test(v) ? v : undefined;
}
