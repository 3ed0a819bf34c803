/**
 * A real Temporal dev server for development, the example and the tests:
 * `temporal server start-dev` on a free loopback port, headless, with scopetrail's
 * search attributes registered. TEMPORAL_ADDRESS skips all of this and uses an
 * existing server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { resolveTemporalCli, type ResolvedCli } from './temporal-cli';

import { REGISTERED_SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTES } from './search-attributes';

export { SEARCH_ATTRIBUTES };

export interface TemporalEndpoint {
  address: string;
  namespace: string;
  /** How the server was obtained, for the user. */
  description: string;
  cli?: ResolvedCli;
  stop(): Promise<void>;
}

export interface EnsureTemporalOptions {
  namespace?: string;
  /** Extra namespaces to create on a dev server we start. */
  extraNamespaces?: string[];
  log?: (line: string) => void;
  /** Keep the dev server's state in this SQLite file instead of memory. */
  dbFile?: string;
}

export async function ensureTemporal(options: EnsureTemporalOptions = {}): Promise<TemporalEndpoint> {
  const namespace = options.namespace ?? (process.env.TEMPORAL_NAMESPACE || 'default');
  const log = options.log ?? ((line: string) => console.error(line));
  const existing = process.env.TEMPORAL_ADDRESS;
  if (existing) {
    await waitUntilServing(existing, 15_000);
    return { address: existing, namespace, description: `existing server at ${existing}`, stop: async () => undefined };
  }
  const cli = await resolveTemporalCli(log);
  if (!cli) return startWithSdkDownload(namespace, log);
  return startDevServer(cli, { ...options, namespace, log });
}

export async function startDevServer(
  cli: ResolvedCli,
  options: EnsureTemporalOptions & { namespace: string; log: (line: string) => void },
): Promise<TemporalEndpoint> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const namespaces = new Set([options.namespace, ...(options.extraNamespaces ?? [])]);
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--headless',
    '--log-level', 'error',
    ...[...namespaces].flatMap((ns) => ['--namespace', ns]),
    ...REGISTERED_SEARCH_ATTRIBUTES.flatMap(({ name, type }) => ['--search-attribute', `${name}=${type}`]),
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
  ];
  const child = spawn(cli.path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal server start-dev exited (code ${code}): ${stderr.trim()}`))),
  );
  exited.catch(() => undefined);
  try {
    await Promise.race([waitUntilServing(address, 60_000), exited]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    namespace: options.namespace,
    description: `dev server at ${address} (${cli.source === 'built' ? 'just built' : cli.source}: ${cli.path})`,
    cli,
    stop: () => stopChild(child, stopOnExit),
  };
}

/** Stops a server process: SIGTERM, then SIGKILL after `graceMs` (a stuck shutdown must not hold the caller). */
export async function stopChild(child: ChildProcess, stopOnExit: () => void, graceMs = 5_000): Promise<void> {
  process.removeListener('exit', stopOnExit);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

async function startWithSdkDownload(namespace: string, log: (line: string) => void): Promise<TemporalEndpoint> {
  log('No Temporal CLI and no Go found; trying the Temporal SDK download of the CLI…');
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  try {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        namespace,
        searchAttributes: REGISTERED_SEARCH_ATTRIBUTES.map(({ name, type }) => ({ name, type: type === 'Keyword' ? ('KEYWORD' as const) : ('KEYWORD_LIST' as const) })) as never,
      },
    });
    const address = (env.connection as unknown as { options: { address: string } }).options.address;
    return { address, namespace, description: `dev server downloaded by the Temporal SDK at ${address}`, stop: () => env.teardown() };
  } catch (err) {
    throw new Error(
      'Could not get a Temporal server: no `temporal` CLI on PATH, no Go to build one, and the SDK download failed ' +
        `(${(err as Error).message}). Install Go or the Temporal CLI and set TEMPORAL_CLI_PATH, or point TEMPORAL_ADDRESS at a running server.`,
    );
  }
}

export async function waitUntilServing(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal at ${address} did not answer within ${timeoutMs / 1000} s: ${(lastError as Error)?.message}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}
