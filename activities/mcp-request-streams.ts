/**
 * Follows each MCP request over Streamable HTTP to its answer, as the fetch given to the
 * SDK's client transport. It does two things the SDK (1.32) leaves undone:
 *
 * - A request is answered on the event stream of the POST that carried it. When that
 *   stream ends or breaks before the answer (the server died, or closed its connections),
 *   the SDK only tells `onerror`, and the request waits out its whole timeout. Here it
 *   fails at once, saying why. Unless the stream can be resumed: a server that keeps an
 *   event store marks its events with ids, and the SDK reopens such a stream with a GET
 *   carrying Last-Event-ID, on which the answer may still come (a server may close the
 *   stream on purpose, to have the client poll). Such a request is left to the SDK and
 *   fails only once the SDK stops trying: every reconnection attempt failed, the server
 *   said it has no stream to resume (405), or a resumed stream ended without an event id,
 *   when the SDK reconnects without Last-Event-ID and nothing can carry the answer. The
 *   rule is the SDK's own (an event id seen on that stream, no result on it), so a stream
 *   the SDK will resume is never failed, and one it will not is never waited for.
 * - A request the caller gave up on (its timeout, or its AbortSignal) is cancelled by the
 *   SDK with `notifications/cancelled`, a POST of its own. A stateless server runs each POST
 *   in a server instance of its own, which that notification cannot reach: all it can see
 *   is its request's connection closing (an SDK server closes the request's transport then,
 *   which aborts the handler's signal). So once the notification has gone, the request's
 *   stream is closed as well.
 *
 * A request failed here gets an answer as if from the server: a JSON-RPC error whose data
 * carries LOST_ANSWER, handed to the transport's `onmessage`, so the SDK settles it like
 * any other and lostAnswer() tells it apart from a server's own error.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

type RequestId = string | number;

/** Marks the data of an error that no server sent: the request's stream was lost before its answer. */
export const LOST_ANSWER = 'io.scopetrail/lost-answer';

/** Why a request got no answer, when it failed here (undefined for any other error). */
export function lostAnswer(err: unknown): string | undefined {
  if (!(err instanceof McpError)) return undefined;
  const data = err.data as Record<string, unknown> | undefined;
  return typeof data?.[LOST_ANSWER] === 'string' ? data[LOST_ANSWER] : undefined;
}

/** One event stream the SDK reads answers from: a POST's, or the GET resuming it. */
interface Followed {
  /** The requests it carries that have no answer yet. */
  unanswered: Set<RequestId>;
  /** Closes the stream (and the connection under it). */
  cut: AbortController;
  /** The transport's own signal: once it aborts, the SDK has settled every request itself. */
  closing?: AbortSignal | null;
  /** Reconnections in a row that failed, as the SDK counts them. */
  failedResumes: number;
  /** The last event id on the stream being read: the SDK resumes from it, and only if it has one. */
  eventId?: string;
}

export class RequestStreams {
  /** Requests in flight over HTTP, by JSON-RPC id. */
  private readonly requests = new Map<RequestId, Followed>();
  /** Streams the SDK will reopen, by the Last-Event-ID it will send. */
  private readonly resumable = new Map<string, Followed>();
  /** Streams closed for a cancelled request, which the SDK would reopen all the same. */
  private readonly closedOnCancel = new Set<string>();

  /**
   * deliver: the transport's onmessage (where a failed request's error goes). maxResumes:
   * the transport's reconnectionOptions.maxRetries, after which the SDK stops reconnecting.
   */
  constructor(
    private readonly deliver: (message: JSONRPCMessage) => void,
    private readonly maxResumes: number,
    private readonly base: FetchLike = fetch,
  ) {}

  readonly fetch: FetchLike = (url, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method === 'POST') return this.post(url, init);
    const token = method === 'GET' ? new Headers(init?.headers).get('last-event-id') : null;
    if (token !== null && this.closedOnCancel.delete(token)) {
      // Nothing is left to wait for on it: 405 is the SDK's word for "no stream here", after which it stops.
      return Promise.resolve(new Response(null, { status: 405, statusText: 'closed on cancel' }));
    }
    const followed = token === null ? undefined : this.resumable.get(token);
    if (token !== null && followed) return this.resume(url, init, token, followed);
    return this.base(url, init);
  };

  private async post(url: string | URL, init: RequestInit | undefined): Promise<Response> {
    const messages = messagesOf(init?.body);
    const ids = messages.flatMap((m) => ('method' in m && 'id' in m && m.id !== undefined ? [m.id] : []));
    if (ids.length === 0) {
      const cancelled = messages.flatMap((m) => ('method' in m && m.method === 'notifications/cancelled' && !('id' in m) ? [cancelledId(m)] : []));
      // The notification goes first, so a server that can read it stops the handler on its word.
      return cancelled.length ? this.base(url, init).finally(() => cancelled.forEach((id) => id !== undefined && this.cancelled(id))) : this.base(url, init);
    }
    const followed: Followed = { unanswered: new Set(ids), cut: new AbortController(), closing: init?.signal, failedResumes: 0 };
    for (const id of ids) this.requests.set(id, followed);
    let response: Response;
    try {
      response = await this.base(url, { ...init, signal: joined(init?.signal, followed.cut.signal) });
    } catch (err) {
      // No stream: the SDK's send fails and settles the request itself.
      this.forget(followed);
      throw err;
    }
    // A JSON answer is read whole by the SDK, which fails the request if the body breaks; a refusal settles it too.
    if (!response.ok || !response.body || !isEventStream(response)) {
      this.forget(followed);
      return response;
    }
    return withBody(response, this.watch(response.body, followed));
  }

  private async resume(url: string | URL, init: RequestInit | undefined, token: string, followed: Followed): Promise<Response> {
    this.resumable.delete(token);
    let response: Response;
    try {
      response = await this.base(url, { ...init, signal: joined(init?.signal, followed.cut.signal) });
    } catch (err) {
      this.resumeFailed(token, followed, errorText(err));
      throw err;
    }
    if (response.status === 405) {
      // The SDK takes 405 as "no stream here" and stops.
      this.lose(followed, 'the server closed its event stream and has no stream to resume (405)');
    } else if (!response.ok) {
      this.resumeFailed(token, followed, `HTTP ${response.status}`);
    } else if (!response.body) {
      this.lose(followed, 'the server closed its event stream and resumed it without a body');
    } else {
      followed.failedResumes = 0;
      return withBody(response, this.watch(response.body, followed));
    }
    return response;
  }

  private resumeFailed(token: string, followed: Followed, why: string): void {
    followed.failedResumes += 1;
    if (followed.failedResumes >= this.maxResumes) {
      this.lose(followed, `its event stream broke and could not be resumed (${followed.failedResumes} attempt(s), the last: ${why})`);
    } else {
      this.resumable.set(token, followed);
    }
  }

  /** The stream as the SDK reads it, chunk for chunk, read here too for event ids and answers. */
  private watch(body: ReadableStream<Uint8Array>, followed: Followed): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    followed.eventId = undefined;
    let resultSeen = false;
    const parser = createParser({
      onEvent: (event: EventSourceMessage) => {
        // As the SDK reads it: an id marks the stream resumable, a result ends the need to.
        if (event.id) followed.eventId = event.id;
        if (!event.data || (event.event && event.event !== 'message')) return;
        const answer = answerOf(event.data);
        if (!answer) return;
        if (answer.result) resultSeen = true;
        if (followed.unanswered.delete(answer.id)) this.requests.delete(answer.id);
      },
    });
    const ended = (broke?: unknown) => {
      if (followed.unanswered.size === 0 || followed.closing?.aborted || followed.cut.signal.aborted) return this.forget(followed);
      if (followed.eventId !== undefined && !resultSeen) {
        this.resumable.set(followed.eventId, followed);
        return;
      }
      this.lose(followed, broke === undefined ? 'the server ended its event stream without the answer' : `the connection broke before the answer (${errorText(broke)})`);
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          ended(err);
          controller.error(err);
          return;
        }
        if (chunk.done) {
          parser.feed(decoder.decode());
          ended();
          controller.close();
          return;
        }
        parser.feed(decoder.decode(chunk.value, { stream: true }));
        controller.enqueue(chunk.value);
      },
      cancel: (reason) => {
        // The SDK stopped reading (its transport closed): it settles its requests itself.
        this.forget(followed);
        return reader.cancel(reason);
      },
    });
  }

  /** The caller gave up on `id` and the SDK has told the server: its stream is closed too. */
  private cancelled(id: RequestId): void {
    const followed = this.requests.get(id);
    if (!followed) return;
    this.requests.delete(id);
    followed.unanswered.delete(id);
    if (followed.unanswered.size === 0) {
      this.forget(followed);
      if (followed.eventId !== undefined) this.closedOnCancel.add(followed.eventId);
      followed.cut.abort(new Error(`request ${id} cancelled`));
    }
  }

  /** Fails the stream's unanswered requests with `why`, as though the server had said it. */
  private lose(followed: Followed, why: string): void {
    const ids = [...followed.unanswered];
    this.forget(followed);
    for (const id of ids) {
      this.deliver({ jsonrpc: '2.0', id, error: { code: ErrorCode.ConnectionClosed, message: why, data: { [LOST_ANSWER]: why } } });
    }
  }

  private forget(followed: Followed): void {
    for (const id of followed.unanswered) if (this.requests.get(id) === followed) this.requests.delete(id);
    followed.unanswered.clear();
    for (const [token, f] of this.resumable) if (f === followed) this.resumable.delete(token);
  }
}

function messagesOf(body: RequestInit['body']): JSONRPCMessage[] {
  if (typeof body !== 'string') return [];
  try {
    const parsed = JSON.parse(body) as unknown;
    return (Array.isArray(parsed) ? parsed : [parsed]).filter((m): m is JSONRPCMessage => typeof m === 'object' && m !== null);
  } catch {
    return [];
  }
}

function cancelledId(message: JSONRPCMessage): RequestId | undefined {
  const id = (message as { params?: { requestId?: unknown } }).params?.requestId;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** A JSON-RPC answer (a result or an error for a request id), or undefined for anything else. */
function answerOf(data: string): { id: RequestId; result: boolean } | undefined {
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null || 'method' in message) return undefined;
  const m = message as { id?: unknown; result?: unknown; error?: unknown };
  if ((typeof m.id !== 'string' && typeof m.id !== 'number') || (m.result === undefined && m.error === undefined)) return undefined;
  return { id: m.id, result: m.result !== undefined };
}

function isEventStream(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase() === 'text/event-stream';
}

/** The response with another body; status and headers (the session id, the content type) as they came. */
function withBody(response: Response, body: ReadableStream<Uint8Array>): Response {
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function joined(a: AbortSignal | null | undefined, b: AbortSignal): AbortSignal {
  return a ? AbortSignal.any([a, b]) : b;
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}
