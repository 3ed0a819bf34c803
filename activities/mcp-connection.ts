/**
 * The client side of one MCP server: one SDK client connection per server, shared by every
 * call of the worker, with errors that name the server and where it is. Over Streamable
 * HTTP each request is followed to its answer (mcp-request-streams.ts): a call whose
 * connection drops fails then, not at its timeout, and one given up on is cancelled at
 * the server even when the server keeps no session.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { z } from 'zod';
import type { McpServerOptions } from './mcp-tools';
import { RequestStreams, lostAnswer } from './mcp-request-streams';
import { causeText } from '../cim/cause-chain';

/** What a connection needs of the server's options (parsed: see McpServerOptions). */
export type McpConnectionOptions = Pick<z.output<typeof McpServerOptions>, 'name' | 'transport'>;

export interface ListedTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean };
}

/**
 * The SDK's own defaults, given explicitly so RequestStreams knows when the SDK stops
 * reconnecting a stream it is resuming: two attempts, 1 s then 1.5 s apart (or as often as
 * the server's `retry` field asks).
 */
const RECONNECTION = { initialReconnectionDelay: 1_000, maxReconnectionDelay: 30_000, reconnectionDelayGrowFactor: 1.5, maxRetries: 2 };

/**
 * A call the server answered with a JSON-RPC error instead of a result: it reached the
 * server, which said why it would not run it (an unknown tool, arguments it refuses, its
 * own failure). Whether the tool ran is the server's to say: the call is kept without
 * `mcp.answered`, as one that got no answer, so `touched` stays cautious about it.
 */
export const MCP_CALL_REFUSED = 'McpCallRefused';

/**
 * How much of a failure's cause chain its message quotes. The SDK's and fetch's own words
 * ("fetch failed") say nothing of why; the root cause (`connect ECONNREFUSED …`) does, and
 * the message is what the action row, root-cause and Temporal's activity failure show.
 * Bounded: an HTTP error may carry a whole response body.
 */
const MAX_CAUSE_CHARS = 500;

/** Errors that answer the request itself: sent again, it would get them again. */
const SAME_ANSWER_AGAIN: ReadonlySet<number> = new Set([ErrorCode.ParseError, ErrorCode.InvalidRequest, ErrorCode.MethodNotFound, ErrorCode.InvalidParams]);

/**
 * An McpError the server sent. The SDK makes two codes of its own, for a connection that
 * closed and a request that timed out (and RequestStreams one for an answer lost with its
 * stream, marked in its data); those are calls that got no answer.
 */
function refusedByServer(err: unknown): err is McpError {
  return err instanceof McpError && err.code !== ErrorCode.ConnectionClosed && err.code !== ErrorCode.RequestTimeout && lostAnswer(err) === undefined;
}

/** The server's own words: the SDK prefixes "MCP error <code>: " to them (a server on the SDK sends them prefixed already). */
function serverMessage(err: McpError): string {
  return err.message.replace(/^(MCP error -?\d+: )+/, '') || 'no message';
}

export interface CallResult {
  content: Array<{ type: string; text?: unknown }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/**
 * One client connection per server, shared by every call of the worker (MCP multiplexes
 * requests by id). A closed transport (a stdio server that exited) is replaced on the next
 * call, so one crash costs one attempt, not the worker; an HTTP session the server no
 * longer knows is replaced at once, and the call sent again on the new one (inSession).
 */
export class McpConnection {
  private client?: Promise<Client>;
  /** What `client` resolved to, while it is the connection's. */
  private current?: Client;
  private readonly inFlight = new Map<Client, number>();
  private readonly retired = new WeakSet<Client>();
  private closed = false;

  constructor(private readonly o: McpConnectionOptions) {}

  async listTools(): Promise<ListedTool[]> {
    return this.inSession(async (client) => {
      const tools: ListedTool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : undefined);
        tools.push(...(page.tools as ListedTool[]));
        cursor = page.nextCursor;
      } while (cursor);
      return tools;
    });
  }

  /**
   * Runs `op` on the connection; once more on a new session when the server no longer knows
   * this one. A server that restarted, or ended the session, answers its id with 404 and runs
   * nothing (the Streamable HTTP spec): the client must start a new session, and the SDK's
   * transport does not.
   */
  private async inSession<T>(op: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.get();
    // Read first: a retired client's transport forgets its session when it closes.
    const session = sessionOf(client);
    try {
      return await this.using(client, op);
    } catch (err) {
      if (!(err instanceof StreamableHTTPError && err.code === 404 && session !== undefined)) throw err;
      this.retire(client);
      return this.using(await this.get(), op);
    }
  }

  /** `op` on `client`, counted: a retired client is closed once its last request has ended. */
  private async using<T>(client: Client, op: (client: Client) => Promise<T>): Promise<T> {
    this.inFlight.set(client, (this.inFlight.get(client) ?? 0) + 1);
    try {
      return await op(client);
    } finally {
      const left = this.inFlight.get(client)! - 1;
      if (left > 0) this.inFlight.set(client, left);
      else {
        this.inFlight.delete(client);
        if (this.retired.has(client)) void client.close().catch(() => undefined);
      }
    }
  }

  /**
   * The next call connects again. Not closed while requests of its session are in flight:
   * closing would fail them as "Connection closed", where each gets its own 404 and starts over.
   */
  private retire(client: Client): void {
    if (this.current === client) {
      this.current = undefined;
      this.client = undefined;
    }
    this.retired.add(client);
    if (!this.inFlight.has(client)) void client.close().catch(() => undefined);
  }

  /**
   * Calls `tool`, giving up after `timeout` ms or when `signal` aborts; either way the SDK
   * tells the server (notifications/cancelled). A Temporal cancellation (a CancelledFailure
   * as the signal's reason) is thrown as it is, so the attempt ends as cancelled; any other
   * reason is the text of the error.
   */
  async callTool(tool: string, args: Record<string, unknown>, meta: object, timeout: number, signal: AbortSignal): Promise<CallResult> {
    let result: unknown;
    try {
      result = await this.inSession((client) => client.callTool({ name: tool, arguments: args, _meta: meta as Record<string, unknown> }, undefined, { timeout, signal }));
    } catch (err) {
      if (signal.aborted && signal.reason instanceof CancelledFailure) throw signal.reason;
      if (!signal.aborted && refusedByServer(err)) {
        // The same request would be refused again; a server's own failure may pass.
        throw ApplicationFailure.create({
          type: MCP_CALL_REFUSED,
          nonRetryable: SAME_ANSWER_AGAIN.has(err.code),
          message: `MCP server ${this.o.name} (${this.where()}) refused ${tool}: ${serverMessage(err)} (JSON-RPC error ${err.code})`,
          details: [{ code: err.code }],
        });
      }
      // The SDK's words ("fetch failed", "Request timed out") name neither the server nor where it was.
      const why = signal.aborted
        ? `${reasonText(signal.reason)}; the server was told to cancel the call`
        : err instanceof McpError && err.code === ErrorCode.RequestTimeout
          ? `callTimeoutMs (${timeout} ms) passed; the server was told to cancel the call`
          : (lostAnswer(err) ?? causeText(err, MAX_CAUSE_CHARS));
      throw new Error(`MCP server ${this.o.name} (${this.where()}) gave no answer to ${tool}: ${why}`, { cause: err });
    }
    return McpCallResult.parse(result);
  }

  private where(): string {
    const t = this.o.transport;
    return t.type === 'stdio' ? t.command : t.url;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = await this.client?.catch(() => undefined);
    this.client = undefined;
    this.current = undefined;
    await client?.close();
  }

  private get(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error(`MCP server ${this.o.name}: the connection was closed`));
    if (!this.client) {
      const forget = () => {
        if (this.client !== pending) return;
        this.client = undefined;
        this.current = undefined;
      };
      const pending = this.connect(forget);
      this.client = pending;
      pending.then((client) => {
        if (this.client === pending) this.current = client;
      }, forget);
    }
    return this.client;
  }

  private async connect(onClose: () => void): Promise<Client> {
    const t = this.o.transport;
    let transport: Transport;
    if (t.type === 'stdio') {
      // A stdio server that dies closes the transport, and the SDK fails its requests then.
      transport = new StdioClientTransport({ command: t.command, args: t.args, env: t.env, cwd: t.cwd, stderr: 'inherit' });
    } else {
      const streams = new RequestStreams((message) => http.onmessage?.(message), RECONNECTION.maxRetries);
      const http = new StreamableHTTPClientTransport(new URL(t.url), { fetch: streams.fetch, reconnectionOptions: RECONNECTION });
      transport = http;
    }
    const client = new Client({ name: 'scopetrail', version: '0.1.0' });
    client.onclose = onClose;
    try {
      await client.connect(transport);
    } catch (err) {
      throw new Error(`MCP server ${this.o.name}: could not connect (${this.where()}): ${causeText(err, MAX_CAUSE_CHARS)}`, { cause: err });
    }
    return client;
  }
}

/** The session id of an HTTP client's transport; undefined over stdio or without sessions. */
function sessionOf(client: Client): string | undefined {
  const transport = client.transport;
  return transport instanceof StreamableHTTPClientTransport ? transport.sessionId : undefined;
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

const McpCallResult = z.object({
  content: z.array(z.looseObject({ type: z.string() })).default([]),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
});
