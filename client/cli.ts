/**
 * The `scopetrail` command line. Each query command prints a table or tree for
 * people and, with --json, a stable JSON document for machines (shapes in
 * docs/cli-json.md). Exit codes: 0 ok, 1 unknown id or runtime failure, 2 bad
 * arguments, 3 a finding (which commands find what: EXIT_CODES, as --help prints it).
 */
import { parseArgs } from 'node:util';
import { COMMANDS } from './cli-commands';
import { CliFailure, CliUsageError, type Command, type CommandContext } from './cli-context';
import { InvalidArgumentError } from './scope-client';
import { NoStoreError, SessionPrunedError, UnknownIdError } from './arguments';
import { terminalJson } from './visible-text';
import { TemporalUnreachableError, isUnreachable, unreachableMessage } from './temporal-reachable';
import { COMMON_OPTIONS, CONFLICTS, joinNegativeValues, negativeNumbersAsPositionals, OPTION_HELP, OPTIONS, optionSyntax, type OptionName } from './cli-options';
import { likeliest } from '../cim/invalid-field';
import { temporalAddressError } from './temporal-address';

const EXIT_CODES =
  'Exit codes: 0 ok · 1 unknown id or failure · 2 bad arguments · 3 a finding (reconcile or verify-usage found differences, verify a problem, touched no proof, drift a drift or a doubtful manifest)';

export const EXIT = { ok: 0, failure: 1, usage: 2, differences: 3 } as const;

const CLI_FIX = 'start it (scopetrail dev starts one with a worker), or give its address with --address or TEMPORAL_ADDRESS';

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
    '  --namespace NS            Temporal namespace (default: TEMPORAL_NAMESPACE, else default)',
    '  --task-queue NAME         worker task queue (default: scopetrail)',
    '  --otel                    worker/dev: stream GenAI spans live to the collector OTEL_* names',
    '  --deployment N --build-id B  worker/dev: a versioned worker of Worker Deployment N, build B (sessions pinned)',
    '  --codec MODULE            the workers\' payload codec (a module exporting payloadCodec), e.g. encryption,',
    '                            or their data converter (exporting dataConverter: { payloadConverterPath, payloadCodecs })',
    '  --codec-endpoint URL      or a Temporal codec server (POST URL/decode) that decodes for you',
    '  --spool DIR               quarantine: the workers\' spool folder (default: $SCOPETRAIL_SPOOL_DIR, else ~/.local/state/scopetrail/spool)',
    '',
    'scopetrail <command> --help lists the options a command takes.',
    '',
    EXIT_CODES,
  ];
  return lines.join('\n');
}

/** Every option a command takes: those it declares, in its order, then --json and --help. */
export function optionsOf(command: Command): OptionName[] {
  return [...new Set<OptionName>([...command.options, ...COMMON_OPTIONS])];
}

/** `scopetrail <command> --help`: the command's usage line, what it does, and each option it takes. */
export function commandUsage(name: string, command: Command): string {
  const options = optionsOf(command).map((o) => [optionSyntax(o), command.optionHelp?.[o] ?? OPTION_HELP[o].text] as const);
  const width = Math.max(...options.map(([syntax]) => syntax.length)) + 2;
  return [
    `Usage: scopetrail ${`${name} ${command.args}`.trim()} [options]`,
    '',
    `${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.`,
    '',
    'Options:',
    ...options.map(([syntax, text]) => `  ${syntax.padEnd(width)}${text}`),
    '',
    EXIT_CODES,
  ].join('\n');
}

export async function runCli(argv: string[], out: CommandContext['out'] = defaultOut): Promise<number> {
  // Known before parsing, so even a malformed command line gets its error as JSON.
  const wantsJson = argv.includes('--json');
  const fail = (command: string | null, code: number, message: string, kind: ErrorKind = code === EXIT.usage ? 'usage' : 'failure', more: ErrorDetail = {}) =>
    reportError(out, wantsJson, { command, exitCode: code, kind, message, ...more });
  let parsed;
  try {
    parsed = parseArgs({ args: negativeNumbersAsPositionals(joinNegativeValues(argv)), options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    // An option no command takes: named with the command it was given to, and the one likely meant.
    const unknown = unknownOptionOf(argv, err) ?? missingValueOf(argv, err);
    if (unknown) return fail(unknown.command, EXIT.usage, unknown.message);
    // Node's own prose breaks lines after its sentences; they are one line here.
    const said = (err as Error).message.replace(/([.?])\r?\n/g, '$1 ').replace(/\. To specify.*$/s, '');
    return fail(null, EXIT.usage, `${said.replace(/\.$/, '')}. Run scopetrail --help.`);
  }
  const [name, ...args] = parsed.positionals;
  // Own properties only: "__proto__" or "toString" are not commands.
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (parsed.values.help) {
    if (command) out.log(parsed.values.json ? JSON.stringify(commandJson(name!, command), null, 2) : commandUsage(name!, command));
    else out.log(parsed.values.json ? JSON.stringify(usageJson(), null, 2) : usage());
    return EXIT.ok;
  }
  if (!name) return fail(null, EXIT.usage, 'give a command. Run scopetrail --help for the list.');
  if (!command) return fail(null, EXIT.usage, `unknown command ${JSON.stringify(name)}. Run scopetrail --help.`);
  const refused = refusedOptions(name, command, parsed.tokens);
  if (refused) return fail(name, EXIT.usage, refused);
  // A Temporal address that is not HOST:PORT, before a store is opened or a server asked.
  // dev and run start a dev server unless TEMPORAL_ADDRESS names one (empty, it names none): a malformed one is said now.
  const badAddress = optionsOf(command).includes('address')
    ? temporalAddressError(parsed.values.address)
    : (name === 'dev' || name === 'run') && process.env.TEMPORAL_ADDRESS
      ? temporalAddressError(undefined)
      : undefined;
  if (badAddress) return fail(name, EXIT.usage, badAddress.message);
  try {
    return await command.run({ args, flags: parsed.values, out });
  } catch (err) {
    const said = err instanceof Error ? err.message : String(err);
    const address = (parsed.values.address as string | undefined) ?? process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
    // ScopeClient's own error says the library's fix; the command line's is its flag.
    const message = err instanceof TemporalUnreachableError
      ? unreachableMessage(err.address, err.reason, CLI_FIX)
      : isUnreachable(err) ? unreachableMessage(address, said.split('\n')[0]!, CLI_FIX) : said;
    const usageError = err instanceof CliUsageError || err instanceof InvalidArgumentError;
    // A pruned session is an id the store no longer has: not_found, with the prune that removed it.
    const detail: ErrorDetail = err instanceof SessionPrunedError ? { pruned: err.pruned } : err instanceof CliFailure ? err.detail : {};
    // A store no worker has prepared is not an unknown id: the --schema, --database-url or --data-dir is the thing to check.
    const kind = err instanceof UnknownIdError ? 'not_found' : err instanceof NoStoreError ? 'no_store' : undefined;
    return fail(name, usageError ? EXIT.usage : EXIT.failure, message, kind, detail);
  }
}

type ErrorKind = 'usage' | 'not_found' | 'no_store' | 'failure';
/** What an error document may carry besides its four fields: for a pruned session the prune, for a refused prune the months. */
type ErrorDetail = Record<string, unknown>;

/**
 * One sentence on stderr; with --json also `{ error: { command, exitCode, kind, message } }`
 * on stdout, so a script reading stdout always gets a JSON document.
 */
function reportError(
  out: CommandContext['out'],
  json: boolean,
  error: { command: string | null; exitCode: number; kind: ErrorKind; message: string } & ErrorDetail,
): number {
  out.err(`${error.command === null ? 'scopetrail' : `scopetrail ${error.command}`}: ${printable(error.message)}`);
  if (json) out.log(terminalJson({ error }, 2));
  return error.exitCode;
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

/**
 * Why the options given cannot be honoured, or undefined when they can: two that contradict
 * each other, or any the command does not read (it would run as if the flag were absent,
 * and a filter the user believes applied would not have). Named as they were typed.
 */
function refusedOptions(name: string, command: Command, tokens: readonly Token[]): string | undefined {
  const given = new Map<OptionName, string>();
  for (const t of tokens) {
    if (t.kind !== 'option' || given.has(t.name as OptionName)) continue;
    const long = `--${t.name}`;
    given.set(t.name as OptionName, t.rawName === long ? long : `${t.rawName} (${long})`);
  }
  for (const [a, b] of CONFLICTS) {
    if (given.has(a) && given.has(b)) return `give ${given.get(a)} or ${given.get(b)}, not both: they ask for opposite things`;
  }
  const accepted = optionsOf(command);
  const foreign = [...given.keys()].filter((o) => !accepted.includes(o));
  if (foreign.length === 0) return undefined;
  const shown = foreign.map((o) => given.get(o)!);
  const takes = accepted.filter((o) => o !== 'help').map((o) => `--${o}`).join(', ');
  // Where a flag belongs to one command or two, saying which catches the slip of typing the wrong command.
  const elsewhere = foreign.length === 1 ? commandsTaking(foreign[0]!) : [];
  const hint = elsewhere.length > 0 && elsewhere.length <= 2 ? `; --${foreign[0]} goes with ${elsewhere.join(' or ')}` : '';
  const what = shown.length === 1 ? `${shown[0]} is not an option of ${name}` : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)} are not options of ${name}`;
  return `${what} (it takes ${takes}${hint}). Run scopetrail ${name} --help.`;
}

/** For Node's unknown-option error: which command it was given to, and the sentence to say. */
function unknownOptionOf(argv: string[], err: unknown): { command: string | null; message: string } | undefined {
  if ((err as { code?: unknown }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return undefined;
  const loose = parseArgs({ args: negativeNumbersAsPositionals(joinNegativeValues(argv)), options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  const option = loose.tokens.find((t) => t.kind === 'option' && !Object.hasOwn(OPTIONS, t.name));
  if (!option || option.kind !== 'option') return undefined;
  const name = loose.positionals[0];
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  const raw = option.rawName;
  if (!command) return { command: null, message: `${raw} is not an option of scopetrail. Run scopetrail --help.` };
  const accepted = optionsOf(command).filter((o) => o !== 'help');
  const meant = option.name.length > 1 ? likeliest(option.name, accepted) : undefined;
  return {
    command: name!,
    message: `${raw} is not an option of ${name} (${meant ? `did you mean --${meant}? ` : ''}it takes ${accepted.map((o) => `--${o}`).join(', ')}). Run scopetrail ${name} --help.`,
  };
}

/** For Node's error on an option given no value: the option, what it takes, and the command it was given to. */
function missingValueOf(argv: string[], err: unknown): { command: string | null; message: string } | undefined {
  if ((err as { code?: unknown }).code !== 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return undefined;
  // Missing at the end, or followed by another option (Node calls that ambiguous).
  const match = /^Option '(?:-\w, )?--([\w-]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec((err as Error).message);
  const option = match?.[1];
  if (!option || !Object.hasOwn(OPTION_HELP, option)) return undefined;
  const help = OPTION_HELP[option as OptionName] as { value?: string; text: string };
  const loose = parseArgs({ args: negativeNumbersAsPositionals(joinNegativeValues(argv)), options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  const name = loose.positionals[0];
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? name : null;
  return {
    command,
    message: `--${option} needs a value${help.value ? ` ${help.value}: ${help.text}` : ''}. Run scopetrail ${command ? `${command} ` : ''}--help.`,
  };
}

function commandsTaking(option: OptionName): string[] {
  return (Object.entries(COMMANDS) as Array<[string, Command]>).filter(([, c]) => c.options.includes(option)).map(([n]) => n);
}

function commandJson(name: string, c: Command) {
  return { name, group: c.group, args: c.args, summary: c.summary, options: optionsOf(c) };
}

function usageJson() {
  return {
    commands: (Object.entries(COMMANDS) as Array<[string, Command]>).map(([name, c]) => commandJson(name, c)),
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
