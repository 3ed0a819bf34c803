/**
 * `scopetrail quarantine list | replay [--spool DIR] [--codec MODULE | --codec-endpoint URL]` (list when neither is given): the records workers kept aside in
 * their spool folders (worker/quarantine.ts), for a person to read, and a replay of what
 * the store takes now. Part of the CLI runtime, like `worker`: it reads the workers' files.
 */
import { CliUsageError, codecsOf, namespaceOf, type CommandContext } from './cli-context';
import { textCodec } from '../store/text-codec';
import type { Store } from '../store/types';
import { defaultSpoolDir } from '../worker/spool';
import { listQuarantine, replayQuarantine, type QuarantineEntry } from '../worker/quarantine';
import { renderTable } from './format';
import { progress } from './progress';
import { terminalJson } from './visible-text';

type WithStore = <T>(ctx: CommandContext, fn: (store: Store) => Promise<T>) => Promise<T>;

const ACTIONS = ['list', 'replay'] as const;

export async function quarantineCommand(ctx: CommandContext, withStore: WithStore): Promise<number> {
  // The first argument is named when it is wrong, before any after it.
  const action = ctx.args[0] ?? 'list';
  if (!(ACTIONS as readonly string[]).includes(action)) throw new CliUsageError(`invalid action "${action}": give list or replay`);
  if (ctx.args.length > 1) throw new CliUsageError(`unexpected argument "${ctx.args[1]}"`);
  const raw = ctx.flags.spool;
  if (raw !== undefined && (typeof raw !== 'string' || raw.trim() === '')) throw new CliUsageError('invalid --spool: give the folder workers spool to');
  const dir = typeof raw === 'string' ? raw : defaultSpoolDir();
  let listed: ReturnType<typeof listQuarantine>;
  try {
    listed = listQuarantine(dir);
  } catch (err) {
    throw new CliUsageError(`--spool: ${(err as Error).message}`);
  }
  if (action === 'list') {
    if (ctx.flags.json) ctx.out.log(terminalJson({ spool: dir, ...listed }, 2));
    else if (listed.entries.length === 0) ctx.out.log(`Nothing in quarantine under ${dir}.`);
    else {
      ctx.out.log(renderEntries(listed.entries));
      ctx.out.log(`${listed.entries.length} entr${listed.entries.length === 1 ? 'y' : 'ies'} in ${listed.files.length} file(s). "scopetrail quarantine replay" writes what the store takes now; the rest stays.`);
    }
    return 0;
  }
  if (listed.entries.length === 0) {
    if (ctx.flags.json) ctx.out.log(JSON.stringify({ spool: dir, files: [], replayed: { entries: 0, records: 0 }, kept: [] }, null, 2));
    else ctx.out.log(`Nothing in quarantine under ${dir}.`);
    return 0;
  }
  // With the workers' codec, records encoded twice (relayed and spooled) compare by their text.
  const codecs = codecsOf(ctx, namespaceOf(ctx));
  return withStore(ctx, async (store) => {
    const bar = ctx.out.stderr ? progress({ label: 'replaying quarantined entries', total: listed.entries.length, stream: ctx.out.stderr }) : undefined;
    const report = await replayQuarantine(store, dir, (done) => bar?.set(done), codecs.length ? textCodec(codecs) : undefined).finally(() => bar?.done({ clear: true }));
    if (ctx.flags.json) {
      ctx.out.log(terminalJson({ spool: dir, ...report }, 2));
      return 0;
    }
    ctx.out.log(`Replayed ${report.replayed.entries} entr${report.replayed.entries === 1 ? 'y' : 'ies'} (${report.replayed.records} records) into ${store.description}.`);
    if (report.kept.length) {
      ctx.out.log(`Kept in quarantine (${report.kept.length}):`);
      ctx.out.log(renderEntries(report.kept));
    }
    if (report.replayed.records > 0) ctx.out.log('Scopes that ended among them are sealed and anchored by a running worker\'s sweep.');
    return 0;
  });
}

function renderEntries(entries: readonly QuarantineEntry[]): string {
  return renderTable(
    ['file', 'line', 'at', 'kind', 'records', 'ids', 'reason'],
    entries.map((e) => [
      e.file,
      String(e.line),
      e.at ?? '-',
      e.kind,
      String(e.records),
      e.ids.length > 3 ? `${e.ids.slice(0, 3).join(', ')}, … (${e.ids.length})` : e.ids.join(', ') || '-',
      e.reason.length > 100 ? `${e.reason.slice(0, 99)}…` : e.reason,
    ]),
  );
}
