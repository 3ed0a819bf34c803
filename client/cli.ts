/**
 * The `scopetrail` command line. Each query command prints a table or tree for
 * people and, with --json, a stable JSON document for machines (shapes in
 * docs/cli-json.md). Exit codes: 0 ok, 1 unknown id or runtime failure, 2 bad
 * arguments, 3 reconcile found differences.
 */
import { parseArgs } from 'node:util';
import { COMMANDS } from './cli-commands';
import { CliUsageError, type Command, type CommandContext } from './cli-context';
import { InvalidArgumentError } from './scope-client';
import { NoStoreError, UnknownIdError } from './arguments';
import { terminalJson } from './visible-text';

export const EXIT = { ok: 0, failure: 1, usage: 2, differences: 3 } as const;

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  descendants: { type: 'boolean', short: 'd' },
  'no-descendants': { type: 'boolean' },
  kind: { type: 'string', multiple: true },
  tool: { type: 'string' },
  agent: { type: 'string' },
  status: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
  schema: { type: 'string' },
  address: { type: 'string' },
  namespace: { type: 'string' },
  'task-queue': { type: 'string' },
  agents: { type: 'string' },
  tools: { type: 'string' },
  memory: { type: 'boolean' },
  repair: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  port: { type: 'string' },
  host: { type: 'string' },
  endpoint: { type: 'string' },
  'service-name': { type: 'string' },
  'scopetrail-spec': { type: 'string' },
  otel: { type: 'boolean' },
  out: { type: 'string' },
  follow: { type: 'boolean' },
  cursor: { type: 'string' },
  'poll-ms': { type: 'string' },
  before: { type: 'string' },
  'dry-run': { type: 'boolean' },
  deployment: { type: 'string' },
  'build-id': { type: 'string' },
  wait: { type: 'string' },
  codec: { type: 'string' },
  'codec-endpoint': { type: 'string' },
  spool: { type: 'string' },
} as const;

export function usage(): string {
  const entries = Object.entries(COMMANDS) as Array<[string, Command]>;
  const lines = [
    'Usage: scopetrail <command> [arguments] [options]',
    '',
    'Queries (add --json for machine-readable output):',
    ...entries
      .filter(([, c]) => c.group === 'query')
      .map(([name, c]) => `  ${`${name} ${c.args}`.padEnd(34)} ${c.summary}`),
    '',
    'Runtime:',
    ...entries
      .filter(([, c]) => c.group === 'runtime')
      .map(([name, c]) => `  ${`${name} ${c.args}`.padEnd(34)} ${c.summary}`),
    '',
    'Options:',
    '  --json                    print JSON on stdout (errors too; worker/dev: one line per event)',
    '  --database-url URL        Postgres to read (default: $DATABASE_URL, else the embedded store)',
    '  --data-dir DIR            the embedded store\'s folder (default: $SCOPETRAIL_DATA_DIR, else ~/.local/share/scopetrail/pglite)',
    '  --schema NAME             store schema (default: scopetrail)',
    '  --address HOST:PORT       Temporal server (default: $TEMPORAL_ADDRESS, else localhost:7233)',
    '  --namespace NS            Temporal namespace (default: default)',
    '  --task-queue NAME         worker task queue (default: scopetrail)',
    '  --otel                    worker/dev: stream GenAI spans live to the collector OTEL_* names',
    '  --deployment N --build-id B  worker/dev: a versioned worker of Worker Deployment N, build B (sessions pinned)',
    '  --codec MODULE            the workers\' payload codec (a module exporting payloadCodec), e.g. encryption',
    '  --codec-endpoint URL      or a Temporal codec server (POST URL/decode) that decodes for you',
    '  --spool DIR               quarantine: the workers\' spool folder (default: $SCOPETRAIL_SPOOL_DIR, else ~/.local/state/scopetrail/spool)',
    '',
    'Exit codes: 0 ok · 1 unknown id or failure · 2 bad arguments · 3 reconcile found differences',
  ];
  return lines.join('\n');
}

export async function runCli(argv: string[], out: CommandContext['out'] = defaultOut): Promise<number> {
  // Known before parsing, so even a malformed command line gets its error as JSON.
  const wantsJson = argv.includes('--json');
  const fail = (command: string | null, code: number, message: string, kind: ErrorKind = code === EXIT.usage ? 'usage' : 'failure') =>
    reportError(out, wantsJson, { command, exitCode: code, kind, message });
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's own prose breaks lines after its sentences; they are one line here.
    const said = (err as Error).message.replace(/([.?])\r?\n/g, '$1 ').replace(/\. To specify.*$/s, '');
    return fail(null, EXIT.usage, `${said.replace(/\.$/, '')}. Run scopetrail --help.`);
  }
  const [name, ...args] = parsed.positionals;
  if (parsed.values.help) {
    out.log(parsed.values.json ? JSON.stringify(usageJson(), null, 2) : usage());
    return EXIT.ok;
  }
  if (!name) return fail(null, EXIT.usage, 'give a command. Run scopetrail --help for the list.');
  // Own properties only: "__proto__" or "toString" are not commands.
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return fail(null, EXIT.usage, `unknown command ${JSON.stringify(name)}. Run scopetrail --help.`);
  try {
    return await command.run({ args, flags: parsed.values, out });
  } catch (err) {
    const said = err instanceof Error ? err.message : String(err);
    const address = (parsed.values.address as string | undefined) ?? process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
    const message = isUnreachable(err)
      ? `Temporal at ${address} is not reachable (${said.split('\n')[0]}): start it (scopetrail dev starts one with a worker), or give its address with --address or TEMPORAL_ADDRESS`
      : said;
    const usageError = err instanceof CliUsageError || err instanceof InvalidArgumentError;
    return fail(name, usageError ? EXIT.usage : EXIT.failure, message, err instanceof UnknownIdError || err instanceof NoStoreError ? 'not_found' : undefined);
  }
}

/** gRPC's UNAVAILABLE, as the Temporal client raises it: the server at the address does not answer. */
function isUnreachable(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 14 || (err instanceof Error && /^14 UNAVAILABLE\b/.test(err.message));
}

type ErrorKind = 'usage' | 'not_found' | 'failure';

/**
 * One sentence on stderr; with --json also `{ error: { command, exitCode, kind, message } }`
 * on stdout, so a script reading stdout always gets a JSON document.
 */
function reportError(
  out: CommandContext['out'],
  json: boolean,
  error: { command: string | null; exitCode: number; kind: ErrorKind; message: string },
): number {
  out.err(`${error.command === null ? 'scopetrail' : `scopetrail ${error.command}`}: ${printable(error.message)}`);
  if (json) out.log(terminalJson({ error }, 2));
  return error.exitCode;
}

function usageJson() {
  return {
    commands: (Object.entries(COMMANDS) as Array<[string, Command]>).map(([name, c]) => ({ name, group: c.group, args: c.args, summary: c.summary })),
    options: Object.keys(OPTIONS),
    exitCodes: EXIT,
  };
}

/** Error text is one line: control characters from user input are shown escaped, never emitted. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const defaultOut: CommandContext['out'] = {
  stderr: process.stderr,
  log: (text: string) => process.stdout.write(`${text}\n`),
  err: (text: string) => process.stderr.write(`${text}\n`),
};

if (require.main === module) {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
