/**
 * The command line's options: the one table parseArgs reads, what each means in help,
 * and the groups of them commands take. Every command declares the options it reads
 * (client/cli-commands.ts); runCli refuses any other, so a flag is never silently ignored.
 */
import { ActionKind, ScopeStatus } from '../cim/schemas';
import { SESSIONS_LIMIT, SESSIONS_MAX } from './limits';

export const OPTIONS = {
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
  after: { type: 'string' },
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
  port: { type: 'string' },
  host: { type: 'string' },
  endpoint: { type: 'string' },
  'service-name': { type: 'string' },
  'scopetrail-spec': { type: 'string' },
  otel: { type: 'boolean' },
  out: { type: 'string' },
  force: { type: 'boolean' },
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
} as const satisfies Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export type OptionName = keyof typeof OPTIONS;

/** Every command takes these: its output as JSON (errors too), and its help. */
export const COMMON_OPTIONS = ['json', 'help'] as const satisfies readonly OptionName[];

/** The store a command reads (client/cli-context.ts storeOptions): its namespace is the store's too. */
export const STORE_OPTIONS = ['database-url', 'data-dir', 'schema', 'namespace'] as const satisfies readonly OptionName[];

/** The workers' payload codec or converter (dataConverterOf), for text they stored or sent to Temporal encoded. */
export const CODEC_OPTIONS = ['codec', 'codec-endpoint'] as const satisfies readonly OptionName[];

/**
 * A query that reads the store, may ask Temporal (a session missing from the store may
 * have been pruned) and shows text the workers may have encoded.
 */
export const QUERY_OPTIONS = [...STORE_OPTIONS, 'address', ...CODEC_OPTIONS] as const satisfies readonly OptionName[];

/** Pairs of options that say opposite things: given together, neither could be honoured. */
export const CONFLICTS: ReadonlyArray<readonly [OptionName, OptionName]> = [['descendants', 'no-descendants']];

/** What an option's value is called in help, and what it does; a command may say it its own way. */
export const OPTION_HELP: Record<OptionName, { value?: string; text: string }> = {
  json: { text: 'print JSON on stdout, errors too (shapes in docs/cli-json.md)' },
  help: { text: "print this command's usage and options" },
  descendants: { text: 'also the actions under every scope it delegated to, transitively' },
  'no-descendants': { text: "only the scope's own, not its descendants'" },
  kind: { value: 'K,…', text: `only actions of these kinds (comma-separated, or repeat --kind): ${ActionKind.options.join(', ')}` },
  tool: { value: 'T', text: 'only calls of tool T' },
  agent: { value: 'A', text: 'only sessions in which agent A ran a scope' },
  status: { value: 'S', text: `only sessions whose rolled-up status is S: ${ScopeStatus.options.join(', ')}` },
  since: { value: 'ISO', text: 'only sessions started at or after this ISO 8601 time (a date alone is its midnight UTC)' },
  limit: { value: 'N', text: `at most N sessions, newest first (default: ${SESSIONS_LIMIT}, at most ${SESSIONS_MAX})` },
  after: { value: 'CURSOR', text: 'the sessions after the last one of an earlier page: its "next" (in --json, or the hint under the table)' },
  'database-url': { value: 'URL', text: 'the Postgres of the store (default: $DATABASE_URL, else the embedded store)' },
  'data-dir': { value: 'DIR', text: "the embedded store's folder (default: $SCOPETRAIL_DATA_DIR, else ~/.local/share/scopetrail/pglite)" },
  schema: { value: 'NAME', text: 'store schema (default: scopetrail)' },
  address: { value: 'HOST:PORT', text: 'Temporal server (default: $TEMPORAL_ADDRESS, else localhost:7233)' },
  namespace: { value: 'NS', text: 'Temporal namespace, and the store\'s (default: TEMPORAL_NAMESPACE, else default)' },
  'task-queue': { value: 'NAME', text: 'the task queue the worker polls (default: scopetrail)' },
  agents: { value: 'M', text: 'your agents module (with --tools; default: the example agents)' },
  tools: { value: 'M', text: 'your tools module (with --agents)' },
  memory: { text: 'an embedded store in memory, gone when the command ends (ignored when $DATABASE_URL is set)' },
  repair: { text: 'repair what differs' },
  port: { value: 'N', text: 'the port to listen on (default: 8737; 0 picks a free one)' },
  host: { value: 'H', text: 'the address to listen on (default: 127.0.0.1; the dashboard has no authentication)' },
  endpoint: { value: 'URL', text: 'OTLP/HTTP traces endpoint (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, $OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318/v1/traces)' },
  'service-name': { value: 'N', text: 'the spans\' service.name (default: $OTEL_SERVICE_NAME, else scopetrail)' },
  'scopetrail-spec': { value: 'SPEC', text: 'what package.json depends on for scopetrail: a version range, a git URL, or the path of a tarball or checkout (from this folder; it must exist)' },
  otel: { text: 'stream GenAI spans live to the collector the OTEL_* variables name' },
  out: { value: 'FILE', text: 'write the events to FILE (the summary then goes to stdout)' },
  force: { text: 'with --out: replace FILE when it already has content (a --follow that resumes from its cursor appends anyway)' },
  follow: { text: 'keep tailing sealed scopes until stopped, resuming from a cursor (needs --out or --cursor)' },
  cursor: { value: 'FILE', text: 'with --follow: where the export keeps its place (default: FILE.cursor of --out)' },
  'poll-ms': { value: 'N', text: 'with --follow: milliseconds between polls (default: 1000)' },
  before: { value: 'DATE', text: 'drop the months entirely before DATE (UTC) with the sessions started in them (ISO 8601 date or time, not later than now)' },
  'dry-run': { text: 'show what would be dropped, and drop nothing' },
  deployment: { value: 'N', text: 'run as a versioned worker of Worker Deployment N (with --build-id; sessions pinned)' },
  'build-id': { value: 'B', text: "this worker's build in the deployment (with --deployment)" },
  wait: { value: 'S', text: 'seconds to wait for workers of the build to appear (default: 30)' },
  codec: { value: 'MODULE', text: "the workers' payload codec or converter, a module exporting payloadCodec, or dataConverter with payloadCodecs and/or payloadConverterPath (default: $SCOPETRAIL_CODEC)" },
  'codec-endpoint': { value: 'URL', text: 'or a Temporal codec server (POST URL/decode) that decodes for you (default: $SCOPETRAIL_CODEC_ENDPOINT)' },
  spool: { value: 'DIR', text: "the workers' spool folder (default: $SCOPETRAIL_SPOOL_DIR, else ~/.local/state/scopetrail/spool)" },
};

/** `--kind K`, or `-d, --descendants`: how an option is written, as help shows it. */
export function optionSyntax(name: OptionName): string {
  const short = (OPTIONS[name] as { short?: string }).short;
  const value = OPTION_HELP[name].value;
  return `${short ? `-${short}, ` : ''}--${name}${value ? ` ${value}` : ''}`;
}

/**
 * The command line with a negative number after a value option joined to it (`--limit -1`
 * becomes `--limit=-1`). parseArgs refuses such a value as "ambiguous" with advice of its
 * own; joined, it reaches the command, which says what it says of any bad value (`--limit 0`).
 * No option is spelled with a digit (-1), so nothing that was an option is read as a value.
 * After `--` every argument is a positional, left as it is.
 */
export function joinNegativeValues(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return [...joined, ...argv.slice(i)];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const next = argv[i + 1];
    const valued = name !== undefined && Object.hasOwn(OPTIONS, name) && OPTIONS[name as OptionName].type === 'string';
    if (valued && next !== undefined && /^-\.?\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  return joined;
}

const isNegativeNumber = (arg: string) => /^-\.?\d/.test(arg);

/** Whether an option as written (`--limit`, `-d`) takes the next argument as its value. */
function takesValue(arg: string): boolean {
  if (arg.startsWith('--')) return !arg.includes('=') && Object.hasOwn(OPTIONS, arg.slice(2)) && OPTIONS[arg.slice(2) as OptionName].type === 'string';
  const short = Object.values(OPTIONS).find((o) => (o as { short?: string }).short === arg.slice(1));
  return arg.length === 2 && short?.type === 'string';
}

/**
 * Whether the negative number at `at` stands where a command takes a number: the percentage
 * of `deployment ramp <name> <build> <percent>`. Anywhere else `-4` is a mistyped option, and
 * is named as one (hostile-input.test.ts).
 */
function numberArgumentAt(argv: readonly string[], at: number): boolean {
  const before: string[] = [];
  for (let i = 0; i < at; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) before.push(arg);
    else if (takesValue(arg)) i++;
  }
  return before.length === 4 && before[0] === 'deployment' && before[1] === 'ramp';
}

/**
 * The command line with a negative number that is no option's value read as a positional
 * argument (`deployment ramp d b -5`): parseArgs would take it for a short option and
 * refuse it as unknown, when it is a value the command should judge. From the first
 * such number on, options keep their values and go before a `--`, positionals after it,
 * each in the order given. Run after joinNegativeValues, so the values it joined stay.
 */
export function negativeNumbersAsPositionals(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  const head = end === -1 ? argv : argv.slice(0, end);
  const tail = end === -1 ? [] : argv.slice(end + 1);
  const first = head.findIndex(isNegativeNumber);
  if (first === -1 || !numberArgumentAt(head, first)) return [...argv];
  const options: string[] = [];
  const positionals: string[] = [];
  for (let i = first; i < head.length; i++) {
    const arg = head[i]!;
    if (arg === '-' || !arg.startsWith('-') || isNegativeNumber(arg)) positionals.push(arg);
    else {
      options.push(arg);
      if (takesValue(arg) && i + 1 < head.length) options.push(head[++i]!);
    }
  }
  return [...head.slice(0, first), ...options, '--', ...positionals, ...tail];
}
