/**
 * The dashboard's web server: the built frontend (ui/dist) and the JSON API
 * (client/ui-api.ts) on one port, bound to 127.0.0.1 unless told otherwise because
 * the API shows everything the store holds and has no authentication.
 */
import { stringifyAnyDepth } from './deep-json';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { isIPv4, isIPv6, type AddressInfo } from 'node:net';
import { z } from 'zod';
import { handleApi } from './ui-api';
import { serveLive } from './ui-live';
import type { Connection } from '@temporalio/client';
import type { ScopeClient } from './scope-client';
import { UI_DIST } from './ui-build';

export const UiServerOptions = z.object({
  host: z.string().min(1).max(255).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(0),
  distDir: z.string().min(1).default(UI_DIST),
  /** How often a live stream (/api/live) asks the store whether anything changed. */
  liveIntervalMs: z.number().int().min(100).max(60_000).default(1_000),
});

export interface UiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

export async function startUiServer(
  client: ScopeClient,
  options: z.input<typeof UiServerOptions> = {},
): Promise<UiServer> {
  const o = UiServerOptions.parse(options);
  const dist = resolve(o.distDir);
  const ctx = { client, temporalAddress: temporalAddress(client) };
  // On loopback, only a page served from loopback may ask: a web page elsewhere that
  // points a hostname of its own at 127.0.0.1 (DNS rebinding) sends its own Host header.
  const loopbackOnly = isLoopback(o.host);
  const server = createServer((req, res) => {
    serve(req, res).catch((err) => send(res, 500, 'application/json', JSON.stringify({ error: { status: 500, message: String(err) } })));
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (loopbackOnly && !isLoopback(hostnameOf(req.headers.host))) {
      send(res, 403, 'application/json', JSON.stringify({ error: { status: 403, message: `host "${req.headers.host ?? ''}" is not served here: open the dashboard at its loopback address`, field: 'host' } }));
      return;
    }
    const url = requestUrl(req.url);
    if (!url) {
      send(res, 400, 'application/json', JSON.stringify({ error: { status: 400, message: `invalid request URL ${JSON.stringify(req.url ?? '')}`, field: 'url' } }));
      return;
    }
    if (url.pathname === '/api/live' && req.method === 'GET') {
      await serveLive(ctx, req, res, url, o.liveIntervalMs);
      return;
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      const result = await handleApi(ctx, req.method ?? 'GET', url);
      // A session's tree is as deep as its longest chain: JSON.stringify overflows a few thousand levels down.
      send(res, result.status, 'application/json; charset=utf-8', stringifyAnyDepth(result.body) ?? 'null');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'use GET');
      return;
    }
    await serveFile(res, dist, url.pathname, req.method === 'HEAD');
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port, o.host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** The request target as a URL; a target no URL can be made of (`//`, `http://[`) is the client's error. */
function requestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/**
 * Every address of the loopback interface: all of 127.0.0.0/8, ::1 in any spelling and
 * IPv4-mapped, and the name localhost. A page elsewhere cannot make a browser send one of
 * these as its Host header, whichever of them the dashboard is bound to.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h)) return false;
  // The URL parser writes any spelling of an IPv6 address one way: ::1, or ::ffff:7f00:1 for 127.0.0.1 mapped.
  const canonical = new URL(`http://[${h}]/`).hostname;
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}\]$/.exec(canonical);
  return canonical === '[::1]' || (mapped !== null && parseInt(mapped[1]!, 16) >> 8 === 127);
}

function hostnameOf(header: string | undefined): string {
  if (!header) return '';
  try {
    return new URL(`http://${header}`).hostname;
  } catch {
    return '';
  }
}

function temporalAddress(client: ScopeClient): string {
  const connection = client.temporal.connection as Partial<Connection>;
  return connection.options?.address ?? 'the configured Temporal server';
}

/** A file under `dist`, or index.html for any other path (the frontend routes by hash). */
async function serveFile(res: ServerResponse, dist: string, pathname: string, headOnly: boolean): Promise<void> {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    send(res, 400, 'text/plain; charset=utf-8', 'bad percent-encoding in path');
    return;
  }
  const candidate = resolve(join(dist, rel));
  // Never outside dist, whatever `..` the path holds.
  const inside = candidate === dist || candidate.startsWith(dist + sep);
  // The dashboard routes by the URL's fragment: its one page is `/`. Any other path names a
  // file of the build or nothing (a missing asset answered with the page would be run as script).
  const found = inside && (await isFile(candidate));
  if (!found && pathname !== '/') {
    send(res, 404, 'text/plain; charset=utf-8', `not found: ${pathname.slice(0, 200)} (the dashboard is at /)`);
    return;
  }
  const file = found ? candidate : join(dist, 'index.html');
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    send(res, 503, 'text/plain; charset=utf-8', `the dashboard is not built (${dist} has no index.html): run scopetrail ui`);
    return;
  }
  // Built asset names carry a content hash, so they can be cached for good; index.html must not be.
  const cache = file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache';
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': cache,
    'x-content-type-options': 'nosniff',
  });
  res.end(headOnly ? undefined : body);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
