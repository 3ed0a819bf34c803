/**
 * `scopetrail export-ocsf <session> | --since ISO [--out file [--force]] [--follow [--cursor file] [--poll-ms N]]`:
 * the store's records as OCSF 1.9 API Activity events, one JSON line each.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { CliUsageError, type CommandContext } from './cli-context';
import type { ScopeClient } from './scope-client';
import type { Store } from '../store/types';
import { isoTimeArg, SessionPrunedError, UnknownIdError } from './arguments';
import { exportOcsf, OcsfExportError, type OcsfExportSummary } from './ocsf-export';
import { fileSink, followOcsf, newCursor, readCursor, streamSink, type FollowSummary, type LineSink } from './ocsf-follow';

type WithClient = <T>(ctx: CommandContext, fn: (client: ScopeClient, store: Store) => Promise<T>) => Promise<T>;

const Args = z.object({
  session: z.string().min(1).max(1000).regex(/^[^\s]+$/, 'must not contain whitespace').optional(),
  // The forms every time option takes (a date alone is its midnight UTC), in this command's words.
  since: isoTimeArg('give an ISO 8601 time such as 2026-01-01T00:00:00Z, or a date alone such as 2026-01-01 (its midnight UTC)').optional(),
  out: z.string().min(1).optional(),
  force: z.boolean().default(false),
  follow: z.boolean().default(false),
  cursor: z.string().min(1).optional(),
  pollMs: z.coerce.number().int('give whole milliseconds').min(100).max(600_000).default(1000),
});
const FLAG_NAMES: Record<string, string> = { session: '<session>', since: '--since', out: '--out', cursor: '--cursor', pollMs: '--poll-ms' };

export async function exportOcsfCommand(ctx: CommandContext, withClient: WithClient): Promise<number> {
  const [session, extra] = ctx.args;
  if (extra !== undefined) throw new CliUsageError(`unexpected argument "${extra}"`);
  const text = (name: string) => (typeof ctx.flags[name] === 'string' ? (ctx.flags[name] as string) : undefined);
  const parsed = Args.safeParse({
    session,
    since: text('since'),
    out: text('out'),
    force: ctx.flags.force === true,
    follow: ctx.flags.follow === true,
    cursor: text('cursor'),
    pollMs: text('poll-ms'),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0]);
    // Like every command, the error names the argument and the value it refused.
    const given = key === 'session' ? session : key === 'pollMs' ? text('poll-ms') : text(key);
    throw new CliUsageError(`invalid ${FLAG_NAMES[key] ?? 'option'}${given === undefined ? '' : ` ${JSON.stringify(given)}`}: ${issue?.message}`);
  }
  const a = parsed.data;
  if (a.session !== undefined && a.since !== undefined) throw new CliUsageError('give either <session> or --since, not both');
  if (!a.follow && a.session === undefined && a.since === undefined) throw new CliUsageError('missing argument <session> (or --since ISO for every session since then)');
  if (!a.follow && (a.cursor !== undefined || text('poll-ms') !== undefined)) throw new CliUsageError('--cursor and --poll-ms only go with --follow');
  if (a.force && a.out === undefined) throw new CliUsageError('--force only goes with --out: it lets the export replace that file', '--force');
  // Said before the store is opened: otherwise the export would fail on the file with Node's errno, not naming the flag.
  for (const [name, path] of [['--out', a.out], ['--cursor', a.cursor]] as const) {
    const why = path === undefined ? undefined : unwritable(path);
    if (why) throw new CliUsageError(`cannot write ${name} ${JSON.stringify(path)}: ${why}`, name);
  }
  if (!a.follow) refuseToReplace(a);
  return a.follow ? follow(ctx, withClient, a) : once(ctx, withClient, a);
}

async function once(ctx: CommandContext, withClient: WithClient, a: z.infer<typeof Args>): Promise<number> {
  return withClient(ctx, async (client, store) => {
    const sink = a.out ? fileSink(a.out, null) : streamSink(ctx.out.log);
    let summary: OcsfExportSummary;
    try {
      summary = await exportOcsf(store, a.session !== undefined ? { sessionId: a.session } : { since: a.since! }, (lines) => sink.write(lines), client.receiptChecker());
    } catch (err) {
      // A session the store does not have may have been pruned: the answer says so, like every query's.
      const pruned = err instanceof UnknownIdError && a.session !== undefined ? await client.prunedSession(a.session) : undefined;
      throw pruned ? new SessionPrunedError(a.session!, pruned) : err;
    } finally {
      await sink.close();
    }
    report(ctx, a.out, { ...summary, out: a.out ?? null }, `Wrote ${summary.events} OCSF event(s) of ${summary.sessions} session(s)${a.out ? ` to ${a.out}` : ''}`);
    if (summary.invalidRows > 0) ctx.out.err(`${summary.invalidRows} row(s) do not parse as CIM records and were left out; scopetrail verify names them`);
    return 0;
  });
}

async function follow(ctx: CommandContext, withClient: WithClient, a: z.infer<typeof Args>): Promise<number> {
  const cursorPath = a.cursor ?? (a.out ? `${a.out}.cursor` : undefined);
  if (!cursorPath) throw new CliUsageError('--follow needs --out or --cursor, so that a restart can resume where it stopped');
  const saved = usage(() => readCursor(cursorPath));
  if (saved && saved.sessionId !== (a.session ?? null)) {
    throw new CliUsageError(`the cursor ${cursorPath} follows ${saved.sessionId === null ? 'every session' : `session ${saved.sessionId}`}; give the same target or another --cursor`);
  }
  if (saved && (saved.offset === null) !== (a.out === undefined)) {
    throw new CliUsageError(`the cursor ${cursorPath} was written ${saved.offset === null ? 'for standard output' : 'for an --out file'}; resume the same way or use another --cursor`);
  }
  // Without a cursor to resume from, the output file is started afresh.
  if (!saved) refuseToReplace(a, cursorPath);
  const cursor = saved ?? newCursor(a.session ?? null, a.since ?? new Date().toISOString());
  return withClient(ctx, async (client, store) => {
    // A session retention dropped would be followed for ever, its events never coming: said at once, as every query says it.
    if (a.session !== undefined && !(await store.sessionHasScopes(a.session))) {
      const pruned = await client.prunedSession(a.session);
      if (pruned) throw new SessionPrunedError(a.session, pruned);
    }
    const sink: LineSink = a.out ? usage(() => fileSink(a.out!, cursor.offset)) : streamSink(ctx.out.log);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let summary: FollowSummary;
    try {
      summary = await followOcsf(store, sink, cursor, { cursorPath, pollMs: a.pollMs, signal: stop.signal, receiptKey: client.receiptChecker() });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await sink.close();
    }
    report(ctx, a.out, { ...summary, out: a.out ?? null, cursor: cursorPath }, `Wrote ${summary.events} OCSF event(s) of ${summary.scopes} sealed scope(s)${a.out ? ` to ${a.out}` : ''}; cursor ${cursorPath}`);
    return 0;
  });
}

/** A problem with the cursor or the output file is the caller's to fix: a usage error naming it. */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof OcsfExportError && err.field) throw new CliUsageError(err.message, err.field);
    throw err;
  }
}

/**
 * An export that starts its --out file afresh would empty one that has content: an earlier
 * export, perhaps the only copy of events retention has since dropped. Only --force lets it.
 */
function refuseToReplace(a: z.infer<typeof Args>, cursorPath?: string): void {
  if (a.out === undefined || a.force || !existsSync(a.out)) return;
  const stat = statSync(a.out);
  if (!stat.isFile() || stat.size === 0) return;
  throw new CliUsageError(
    `--out ${JSON.stringify(a.out)} already holds ${stat.size} bytes; give --force to replace it, or another file` +
      (cursorPath ? ` (--follow appends to it only when resuming from its cursor, and there is none at ${cursorPath})` : ''),
    '--out',
  );
}

/** Why no file can be written at `path`, or undefined when one can (the checks Node's open would fail). */
function unwritable(path: string): string | undefined {
  const file = resolve(path);
  const folder = dirname(file);
  if (!existsSync(folder)) return `its folder ${folder} does not exist`;
  if (!statSync(folder).isDirectory()) return `${folder} is a file, not a folder`;
  const exists = existsSync(file);
  if (exists && statSync(file).isDirectory()) return 'it is a folder; give a file in it';
  try {
    accessSync(exists ? file : folder, constants.W_OK);
  } catch {
    return exists ? 'the file is not writable' : `its folder ${folder} is not writable`;
  }
  return undefined;
}

/** With the events on stdout, the summary goes to stderr so the stream stays pure JSON Lines. */
function report(ctx: CommandContext, out: string | undefined, summary: object, sentence: string): void {
  const text = ctx.flags.json ? JSON.stringify(summary, null, 2) : sentence;
  if (out) ctx.out.log(text);
  else ctx.out.err(text);
}
