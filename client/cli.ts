/**
 * The `scopetrail` command line. Each query command prints a table or tree for
 * people and, with --json, a stable JSON document for machines (shapes in
 * docs/cli-json.md). Exit codes: 0 ok, 1 unknown id or runtime failure, 2 bad
 * arguments, 3 reconcile found differences.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, CliUsageError, type Command, type CommandContext } from './cli-commands';
import { InvalidArgumentError } from './scope-client';

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
  schema: { type: 'string' },
  address: { type: 'string' },
  namespace: { type: 'string' },
  'task-queue': { type: 'string' },
  agents: { type: 'string' },
  tools: { type: 'string' },
  memory: { type: 'boolean' },
  repair: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
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
    '  --json                    print JSON instead of tables',
    '  --database-url URL        Postgres to read (default: $DATABASE_URL, else the embedded store)',
    '  --schema NAME             store schema (default: scopetrail)',
    '  --address HOST:PORT       Temporal server (default: $TEMPORAL_ADDRESS, else localhost:7233)',
    '  --namespace NS            Temporal namespace (default: default)',
    '  --task-queue NAME         worker task queue (default: scopetrail)',
    '',
    'Exit codes: 0 ok · 1 unknown id or failure · 2 bad arguments · 3 reconcile found differences',
  ];
  return lines.join('\n');
}

export async function runCli(argv: string[], out: CommandContext['out'] = defaultOut): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    out.err(`scopetrail: ${printable((err as Error).message.replace(/\. To specify.*$/s, ''))}. Run scopetrail --help.`);
    return EXIT.usage;
  }
  const [name, ...args] = parsed.positionals;
  if (parsed.values.help) {
    out.log(usage());
    return EXIT.ok;
  }
  if (!name) {
    out.err('scopetrail: give a command. Run scopetrail --help for the list.');
    return EXIT.usage;
  }
  // Own properties only: "__proto__" or "toString" are not commands.
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    out.err(`scopetrail: unknown command ${printable(JSON.stringify(name))}. Run scopetrail --help.`);
    return EXIT.usage;
  }
  const label = `scopetrail ${name}`;
  try {
    return await command.run({ args, flags: parsed.values, out });
  } catch (err) {
    const message = printable(err instanceof Error ? err.message : String(err));
    if (err instanceof CliUsageError || err instanceof InvalidArgumentError) {
      out.err(`${label}: ${message}`);
      return EXIT.usage;
    }
    out.err(`${label}: ${message}`);
    return EXIT.failure;
  }
}

/** Error text is one line: control characters from user input are shown escaped, never emitted. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const defaultOut: CommandContext['out'] = {

  log: (text: string) => process.stdout.write(`${text}\n`),
  err: (text: string) => process.stderr.write(`${text}\n`),
  progress: (text: string) => {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  },
};

if (require.main === module) {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
