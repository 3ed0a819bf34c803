/** `scopetrail ui [--port N] [--host H]`: builds the dashboard when needed, then serves it until Ctrl-C. */
import { createServer } from 'node:net';
import { z } from 'zod';
import { CliUsageError, type CommandContext } from './cli-context';
import type { ScopeClient } from './scope-client';
import { buildUi } from './ui-build';
import { isLoopback, startUiServer } from './ui-server';

type WithClient = <T>(ctx: CommandContext, fn: (client: ScopeClient) => Promise<T>) => Promise<T>;

const UiFlags = z.object({
  port: z
    .string()
    .regex(/^\d{1,5}$/, 'give a port number (0 picks a free port)')
    .transform(Number)
    .pipe(z.number().int().max(65_535, 'ports go up to 65535'))
    .default(8737),
  host: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9.:-]+$/, 'give a host name or an IP address')
    .default('127.0.0.1'),
});

export async function uiCommand(ctx: CommandContext, withClient: WithClient): Promise<number> {
  if (ctx.args.length) throw new CliUsageError(`unexpected argument "${ctx.args[0]}"`);
  const flags = UiFlags.safeParse({ port: ctx.flags.port, host: ctx.flags.host });
  if (!flags.success) {
    const issue = flags.error.issues[0];
    const name = String(issue?.path[0] ?? 'option');
    throw new CliUsageError(`invalid --${name} "${String(ctx.flags[name])}": ${issue?.message}`);
  }
  // A host that cannot be listened on is told at once, before the store is opened and the dashboard built.
  await listenable(flags.data.host).catch((err: NodeJS.ErrnoException) => {
    throw hostError(flags.data.host, err) ?? err;
  });
  // The store options are checked first: a bad --database-url is told at once, not after a build.
  return withClient(ctx, async (client) => {
    await buildUi({ log: (line) => ctx.out.err(line) });
    const server = await startUiServer(client, { port: flags.data.port, host: flags.data.host }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') throw new CliUsageError(`port ${flags.data.port} is in use: pass another --port, or --port 0 for a free one`);
      if (err.code === 'EACCES') throw new CliUsageError(`port ${flags.data.port} needs privileges to listen on: pass a port above 1023, or --port 0 for a free one`, '--port');
      throw hostError(flags.data.host, err) ?? err;
    });
    // Listen for Ctrl-C before saying where the dashboard is: a script that stops it right after reading the URL must stop it cleanly.
    const stopped = untilSignal();
    if (!isLoopback(flags.data.host)) {
      ctx.out.err(`warning: the dashboard has no authentication and now listens on ${flags.data.host}: anyone who can reach it reads the store`);
    }
    if (ctx.flags.json) ctx.out.log(JSON.stringify({ url: server.url, port: server.port }));
    else ctx.out.log(`scopetrail dashboard at ${server.url} (store: ${client.store.description}) — Ctrl-C stops it`);
    await stopped;
    await server.close();
    return 0;
  });
}

/** Listens on `host` (any free port) and stops at once: fails as the dashboard's server would on a bad host. */
function listenable(host: string): Promise<void> {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, host, () => probe.close(() => ok()));
  });
}

/** Node's errno for a host that cannot be listened on, as a usage error naming --host; undefined for any other error. */
function hostError(host: string, err: NodeJS.ErrnoException): CliUsageError | undefined {
  const why =
    err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || err.code === 'EAI_NONAME'
      ? 'it is neither an IP address nor a host name that resolves'
      : err.code === 'EADDRNOTAVAIL'
        ? 'it is not an address of this machine'
        : undefined;
  return why === undefined ? undefined : new CliUsageError(`invalid --host ${JSON.stringify(host)}: cannot listen on it (${why}, ${err.code}); give an address of this machine such as 127.0.0.1`, '--host');
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
