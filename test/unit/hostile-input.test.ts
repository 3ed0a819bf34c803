/**
 * Hostile input at every boundary, property-based (fast-check): the CLI's argument
 * parser, the zod schemas that guard the public API, defineTool's input check,
 * canonical JSON digests and the scope header codec.
 *
 * Pure and fast: no Temporal, no database. The CLI cases are built to fail validation
 * before any I/O, and every CLI call also carries `--database-url guard://no-io`, which
 * openStore refuses before it connects to anything. A command that gets as far as
 * opening the store therefore ends with exit 1 naming "url" instead of touching a
 * database — so a check done only after the store is opened shows up as a failure here
 * instead of as a side effect (without the guard the CLI would create and migrate the
 * embedded store under ~/.local/share first).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { EXIT, runCli } from '../../client/cli';
import { COMMANDS } from '../../client/cli-commands';
import { ActionsUnderArgs, StartSessionOptions } from '../../client/scope-client';
import { SessionsArgs } from '../../client/forensic-queries';
import { OpenStoreOptions } from '../../store/open';
import {
  ActionKind,
  ActionRecord,
  ActionStatus,
  HandoffRequest,
  Manifest,
  ResourceMode,
  ScopeContext,
  ScopeKind,
  ScopeStatus,
} from '../../cim/schemas';
import { defineTool } from '../../activities/tool';
import { canonicalJson } from '../../cim/canonical-json';
import { digest } from '../../store/digest';
import { SCOPE_HEADER, decodeScopeHeader, encodeScopeHeader } from '../../cim/header';
import { prng } from '../helpers/prng';

const RUNS = { numRuns: 200 };
const FEW = { numRuns: 100 };

// ---------------------------------------------------------------------------------------
// Shared arbitraries
// ---------------------------------------------------------------------------------------

/** Any string, including lone surrogates, control characters and NUL. */
const anyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000', '\n', '\r\n', '\t', '\u001b[31m', '\u2028', "'", '"', '\\', '%', '_', '$1') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1001, maxLength: 3000 }) },
);

/** Hostile values of every JS shape zod may be handed. */
const anything = fc.anything({
  maxDepth: 3,
  maxKeys: 6,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withTypedArray: true,
  withSparseArray: true,
  stringUnit: 'binary',
});

/** A JSON value as it looks after a trip over the wire (no -0, own `__proto__` keys kept). */
const wireJson = fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);

const agentName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,99}$/);
const identifier = fc.stringMatching(/^[A-Za-z0-9_.:~@-]{1,200}$/);
const subAgentRef = fc.oneof(
  agentName,
  fc.tuple(agentName, fc.stringMatching(/^[A-Za-z0-9._+-]{1,50}$/)).map(([n, v]) => `${n}@${v}`),
);
const isoTime = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const isoTimeWithOffset = fc.oneof(
  isoTime,
  fc.tuple(isoTime, fc.integer({ min: -14, max: 14 }), fc.constantFrom('00', '30', '45')).map(
    ([t, h, m]) => `${t.slice(0, -1)}${h < 0 ? '-' : '+'}${String(Math.abs(h)).padStart(2, '0')}:${m}`,
  ),
);
/**
 * Any printable string (unicode, lone surrogates, quotes, `%` and `_` included; no control
 * characters, which Postgres text cannot hold (NUL) or no stored id has): what a stored id,
 * name or tool can be.
 */
const storableString = (minLength: number, maxLength: number) =>
  fc.string({ unit: 'binary', minLength, maxLength }).map((s) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd'));
const finiteNumber = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0));

// ---------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------

const GUARD = ['--database-url', 'guard://no-io'];

interface CliRun {
  code: number;
  log: string[];
  err: string[];
}

/**
 * Commands resolve paths from the working directory, and a generated argv may well be a
 * valid `init <dir>`: the runs happen in a folder of their own, never in the checkout.
 */
process.chdir(mkdtempSync(join(tmpdir(), 'scopetrail-hostile-cli-')));

/** A command that opens no store (init, deployment) refuses --database-url: it gets no guard, and needs none. */
function guardFor(argv: string[]): string[] {
  const name = argv.find((a) => Object.hasOwn(COMMANDS, a));
  return name === undefined || (COMMANDS[name]!.options as readonly string[]).includes('database-url') ? GUARD : [];
}

async function cli(argv: string[]): Promise<CliRun> {
  const log: string[] = [];
  const err: string[] = [];
  const code = await runCli([...guardFor(argv), ...argv], {
    log: (t) => log.push(t),
    err: (t) => err.push(t),
  });
  return { code, log, err };
}

/** Whether an error message names `token`, verbatim or with its control characters escaped. */
function mentions(line: string, token: string): boolean {
  const unicodeEscaped = (s: string) =>
    s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const json = JSON.stringify(token).slice(1, -1);
  return [token, json, unicodeEscaped(token), unicodeEscaped(json)].some((form) => line.includes(form));
}

/** JSON, with the line and paragraph separators and C1 controls JSON.stringify leaves raw shown escaped. */
function show(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function explain(run: CliRun, argv: string[]): string {
  return `argv ${show(argv)} → exit ${run.code}, err ${show(run.err)}`;
}

/** Exit 2 comes with exactly one message on stderr, starting with "scopetrail", naming `what`. */
function assertUsageError(run: CliRun, argv: string[], ...what: string[]): void {
  assert.equal(run.code, EXIT.usage, explain(run, argv));
  assert.equal(run.err.length, 1, explain(run, argv));
  const line = run.err[0]!;
  assert.ok(line.startsWith('scopetrail'), explain(run, argv));
  for (const w of what) assert.ok(mentions(line, w), `error should name ${JSON.stringify(w)}: ${explain(run, argv)}`);
}

const KNOWN_OPTIONS = new Set([
  'json', 'help', 'descendants', 'no-descendants', 'kind', 'tool', 'agent', 'status', 'since', 'limit', 'database-url',
  'schema', 'address', 'namespace', 'task-queue', 'agents', 'tools', 'memory',
]);
const STRING_OPTIONS = ['kind', 'tool', 'agent', 'status', 'since', 'limit', 'schema', 'address', 'namespace', 'task-queue', 'agents', 'tools'];
const BOOLEAN_OPTIONS = ['json', 'help', 'descendants', 'no-descendants', 'memory'];

/**
 * Required and optional positionals of each command, read from its usage line: `<session>`
 * is required, `[agent]` optional; bracketed flags (`[--kind K]`) are not positionals.
 * A command added later is covered without touching this file.
 */
/** A command whose arguments follow a subcommand (`deployment set-current <name> <build>`): its first form's word. */
const SUBCOMMAND: Record<string, string[]> = {};
const POSITIONALS: Record<string, { required: string[]; optional: string[] }> = Object.fromEntries(
  Object.entries(COMMANDS).map(([name, c]) => {
    let bare = c.args.replace(/\[[^\]]*--[^\]]*\]/g, '').split(' | ')[0]!;
    const sub = /^\s*([a-z][\w-]*)\s/.exec(bare)?.[1];
    SUBCOMMAND[name] = sub ? [sub] : [];
    if (sub) bare = bare.replace(sub, '');
    return [name, {
      required: [...bare.matchAll(/<([\w-]+)>/g)].map((m) => m[1]!),
      optional: [...bare.matchAll(/\[([\w-]+)\]/g)].map((m) => m[1]!),
    }];
  }),
);
const COMMAND_NAMES = Object.keys(POSITIONALS);

/** A positional the parser will not take for an option. */
const positionalToken = anyString.filter((s) => !s.startsWith('-'));
/** A positional every command accepts: 1-1000 characters, no whitespace. */
const validPositional = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 60 })
  .filter((s) => !s.startsWith('-') && /^[^\s]+$/.test(s));
/** A file path may contain spaces: only an empty or overlong one is refused. */
const invalidPath = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'binary-ascii', minLength: 1001, maxLength: 2000 }).map((s) => `x${s.replace(/\s/g, 'y')}`),
);
const invalidPositional = fc.oneof(
  fc.constant(''),
  fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\ufeff', '\u3000'), fc.string({ maxLength: 10 }))
    .map(([a, ws, b]) => `x${a}${ws}${b}`),
  fc.string({ unit: 'binary-ascii', minLength: 1001, maxLength: 2000 }).map((s) => `x${s.replace(/\s/g, 'y')}`),
);

describe('CLI argument parser', () => {
  test('the guard: a command that reaches the store is stopped by the guard URL, before any connection', async () => {
    const run = await cli(['tree', 'some-session']);
    assert.ok(run.code === EXIT.failure || run.code === EXIT.usage, explain(run, ['tree', 'some-session']));
    assert.match(run.err[0] ?? '', /url/);
  });

  test('any argv: runCli never throws, exits 0, 1, 2 or 3, and says at most one thing on stderr', async () => {
    const argv = fc
      .tuple(
        fc.oneof(fc.constantFrom(...COMMAND_NAMES, '--help', '-h', '--json', '--kind', '--'), anyString),
        fc.array(
          fc.oneof(
            anyString,
            fc.constantFrom(...[...KNOWN_OPTIONS].map((o) => `--${o}`), '-d', '-h', '-dh', '-x', '--', '--kind=', '--json=1'),
          ),
          { maxLength: 8 },
        ),
      )
      .map(([first, rest]) => [first, ...rest])
      // Commands that would start a worker or a server or run the demo are not for a unit test.
      .filter((a) => !a.some((s) => ['dev', 'worker', 'run'].includes(s) || s.startsWith('--database-url') || s.startsWith('--agents') || s.startsWith('--tools')));
    await fc.assert(
      fc.asyncProperty(argv, async (args) => {
        let run: CliRun;
        try {
          run = await cli(args);
        } catch (err) {
          assert.fail(`runCli threw for ${JSON.stringify(args)}: ${String(err)}`);
        }
        assert.ok([0, 1, 2, 3].includes(run.code), explain(run, args));
        assert.ok(run.err.length <= 1, explain(run, args));
        if (run.code === EXIT.usage && run.err.length === 1) assert.ok(run.err[0]!.startsWith('scopetrail'), explain(run, args));
      }),
      RUNS,
    );
  });

  test('with a command named: exit 2 always comes with exactly one message on stderr starting with "scopetrail"', async () => {
    const argv = fc
      .tuple(
        fc.oneof(fc.constantFrom(...COMMAND_NAMES), anyString).filter((s) => s !== '' && !s.startsWith('-')),
        fc.array(fc.oneof(anyString, fc.constantFrom(...STRING_OPTIONS.map((o) => `--${o}`), '--json=1', '--nope', '-x')), { maxLength: 6 }),
      )
      .map(([first, rest]) => [first, ...rest])
      .filter((a) => !a.some((s) => ['dev', 'worker', 'run'].includes(s) || s === '--' || s.startsWith('--agents') || s.startsWith('--tools')));
    await fc.assert(
      fc.asyncProperty(argv, async (args) => {
        const run = await cli(args);
        if (run.code !== EXIT.usage) return;
        assert.equal(run.err.length, 1, explain(run, args));
        assert.ok(run.err[0]!.startsWith('scopetrail'), explain(run, args));
      }),
      RUNS,
    );
  });

  test('an error message is one line: newlines and terminal escapes in the input do not reach stderr raw', async () => {
    // Unknown commands, option names and values are echoed back; a value carrying "\n" or
    // ESC must not split the message or drive the terminal.
    const control = fc.constantFrom('\n', '\r', '\u001b[2J', '\u0007', '\u2028');
    const argv = fc.oneof(
      fc.tuple(fc.string({ maxLength: 8 }), control, fc.string({ maxLength: 8 })).map(([a, c, b]) => [`cmd${a}${c}${b}`]),
      fc.tuple(fc.string({ maxLength: 8 }), control).map(([a, c]) => [`--opt${a.replace(/=/g, '')}${c}`]),
      // Whitespace makes the id invalid before any I/O; the message quotes it.
      fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\n', '\r', '\u2028')).map(([a, c]) => ['tree', `id${a}${c}x`]),
      fc.tuple(fc.constantFrom(...STRING_OPTIONS)).map(([o]) => ['tree', 'x', `--${o}`, '--json']),
    );
    await fc.assert(
      fc.asyncProperty(argv, async (args) => {
        const run = await cli(args);
        assert.equal(run.code, EXIT.usage, explain(run, args));
        assert.equal(run.err.length, 1, explain(run, args));
        assert.doesNotMatch(run.err[0]!, /[\r\n\u001b\u0007\u2028]/, explain(run, args));
      }),
      FEW,
    );
  });

  test('no command at all is a usage error: exit 2 with one line saying the command is missing', async () => {
    for (const args of [[], ['--json'], ['-d', '--limit', '3']]) {
      const run = await cli(args);
      assertUsageError(run, args, 'command');
    }
  });

  test('unknown commands exit 2 naming the command, including names Object.prototype has', async () => {
    const name = fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__'),
      anyString,
    ).filter((s) => s !== '' && !s.startsWith('-') && !Object.prototype.hasOwnProperty.call(POSITIONALS, s));
    await fc.assert(
      fc.asyncProperty(name, fc.array(positionalToken, { maxLength: 3 }), async (cmd, rest) => {
        const args = [cmd, ...rest];
        const run = await cli(args);
        assertUsageError(run, args, cmd);
        assert.match(run.err[0]!, /unknown command/);
      }),
      RUNS,
    );
  });

  test('option errors exit 2 naming the option: unknown options, missing values, values on switches', async () => {
    const unknownLong = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 30 })
      .filter((s) => !s.includes('=') && !s.startsWith('-') && !KNOWN_OPTIONS.has(s))
      .map((s) => `--${s}`);
    const unknownShort = fc.constantFrom(...'abcefgijklmnoprstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('')).map((c) => `-${c}`);
    const argv = fc.oneof(
      fc.tuple(fc.constantFrom(...COMMAND_NAMES), fc.oneof(unknownLong, unknownShort), fc.array(positionalToken, { maxLength: 2 }))
        .map(([c, f, rest]) => ({ args: [c, ...rest, f], flag: f.split('=')[0]! })),
      fc.tuple(fc.constantFrom(...COMMAND_NAMES), fc.constantFrom(...STRING_OPTIONS), fc.array(positionalToken, { maxLength: 2 }))
        .map(([c, o, rest]) => ({ args: [c, ...rest, `--${o}`], flag: `--${o}` })),
      fc.tuple(fc.constantFrom(...COMMAND_NAMES), fc.constantFrom(...BOOLEAN_OPTIONS.filter((o) => o !== 'help')), anyString)
        .map(([c, o, v]) => ({ args: [c, `--${o}=${v}`], flag: `--${o}` })),
    );
    await fc.assert(
      fc.asyncProperty(argv, async ({ args, flag }) => {
        const run = await cli(args);
        assertUsageError(run, args, flag);
      }),
      RUNS,
    );
  });

  test('positional errors exit 2 naming the argument: missing, extra, empty, with whitespace, too long', async () => {
    const missing = fc
      .constantFrom(...COMMAND_NAMES.filter((c) => POSITIONALS[c]!.required.length > 0))
      .chain((c) => {
        const req = POSITIONALS[c]!.required;
        return fc.nat({ max: req.length - 1 }).chain((n) =>
          fc.array(validPositional, { minLength: n, maxLength: n }).map((given) => ({ args: [c, ...SUBCOMMAND[c]!, ...given], names: [`<${req[n]}>`] })),
        );
      });
    const extra = fc.constantFrom(...COMMAND_NAMES).chain((c) => {
      const { required, optional } = POSITIONALS[c]!;
      const n = required.length + optional.length;
      return fc
        .tuple(fc.array(validPositional, { minLength: n, maxLength: n }), positionalToken, fc.array(positionalToken, { maxLength: 2 }))
        .map(([given, unexpected, more]) => ({ args: [c, ...SUBCOMMAND[c]!, ...given, unexpected, ...more], names: [unexpected] }));
    });
    const invalid = fc
      .constantFrom(...COMMAND_NAMES.filter((c) => POSITIONALS[c]!.required.length + POSITIONALS[c]!.optional.length > 0))
      .chain((c) => {
        const names = [...POSITIONALS[c]!.required, ...POSITIONALS[c]!.optional];
        return fc.nat({ max: names.length - 1 })
          .chain((i) => fc.tuple(fc.constant(i), names[i] === 'file' ? invalidPath : invalidPositional, fc.array(validPositional, { minLength: names.length, maxLength: names.length })))
          .map(([i, bad, given]) => {
            const args = [...given];
            args[i] = bad;
            return { args: [c, ...SUBCOMMAND[c]!, ...args], names: [`<${names[i]}>`, bad] };
          });
      });
    await fc.assert(
      fc.asyncProperty(fc.oneof(missing, extra, invalid), async ({ args, names }) => {
        const run = await cli(args);
        assertUsageError(run, args, ...names);
      }),
      RUNS,
    );
  });

  test('actions --kind with anything but an action kind exits 2 naming the value and the kinds', async () => {
    const badKind = anyString.filter((s) => !ActionKind.safeParse(s).success);
    await fc.assert(
      fc.asyncProperty(validPositional, fc.array(fc.constantFrom(...ActionKind.options), { maxLength: 2 }), badKind, async (scope, good, bad) => {
        const args = ['actions', scope, ...good.map((k) => `--kind=${k}`), `--kind=${bad}`];
        const run = await cli(args);
        assertUsageError(run, args, '--kind', bad);
        assert.match(run.err[0]!, /tool_call, llm_call, delegate, handoff, signal, denied/);
      }),
      RUNS,
    );
  });

  test('run with anything but a known example exits 2 naming it', async () => {
    await fc.assert(
      fc.asyncProperty(validPositional.filter((s) => s !== 'demo'), async (example) => {
        const args = ['run', example];
        assertUsageError(await cli(args), args, example);
      }),
      FEW,
    );
  });

  test('sessions --limit/--status/--since/--agent: bad values exit 2 naming the flag, before the store is opened', async () => {
    const badLimit = anyString.filter((s) => !SessionsArgs.shape.limit.safeParse(Number(s)).success);
    const badStatus = anyString.filter((s) => !ScopeStatus.safeParse(s).success);
    const badSince = anyString.filter((s) => !SessionsArgs.shape.since.safeParse(s).success);
    const badAgent = fc.oneof(fc.constant(''), fc.constant('x y'), fc.constant('1agent'), fc.string({ unit: 'binary-ascii', minLength: 101, maxLength: 300 }));
    const flagArg = fc.oneof(
      badLimit.map((v) => ({ flag: 'limit', v })),
      badStatus.map((v) => ({ flag: 'status', v })),
      badSince.map((v) => ({ flag: 'since', v })),
      badAgent.map((v) => ({ flag: 'agent', v })),
    );
    await fc.assert(
      fc.asyncProperty(flagArg, async ({ flag, v }) => {
        const args = ['sessions', `--${flag}=${v}`];
        assertUsageError(await cli(args), args, flag);
      }),
      FEW,
    );
  });

  test('an invalid --schema or --database-url is a bad argument (exit 2), not a failure (exit 1)', async () => {
    const badSchema = anyString.filter((s) => !/^[a-z_][a-z0-9_]{0,62}$/.test(s));
    const badUrl = anyString.filter((s) => !/^postgres(ql)?:\/\//.test(s));
    await fc.assert(
      fc.asyncProperty(fc.oneof(badSchema.map((v) => ({ flag: 'schema', v })), badUrl.map((v) => ({ flag: 'database-url', v }))), async ({ flag, v }) => {
        // A postgres URL nobody listens on: the refusal must come before any connection.
        const url = flag === 'database-url' ? v : 'postgres://127.0.0.1:1/never';
        const schema = flag === 'schema' ? v : 'fine';
        const args = ['tree', 'sid', `--database-url=${url}`, `--schema=${schema}`];
        const run = await cli(args);
        assertUsageError(run, args, flag === 'schema' ? 'schema' : 'url');
      }),
      FEW,
    );
  });

  test('--help (or -h) anywhere among positionals that name no command prints the usage and exits 0', async () => {
    // A command named first gets its own help (test/unit/cli-options.test.ts).
    const notACommand = fc.array(positionalToken, { maxLength: 4 }).filter((rest) => rest[0] === undefined || !Object.hasOwn(COMMANDS, rest[0]));
    await fc.assert(
      fc.asyncProperty(notACommand, fc.nat(), fc.constantFrom('--help', '-h'), async (rest, at, help) => {
        const args = [...rest];
        args.splice(at % (rest.length + 1), 0, help);
        const run = await cli(args);
        assert.equal(run.code, EXIT.ok, explain(run, args));
        assert.deepEqual(run.err, []);
        assert.match(run.log.join('\n'), /^Usage: scopetrail <command>/);
        for (const name of Object.keys(COMMANDS)) assert.ok(run.log.join('\n').includes(`  ${name} `), `usage lists ${name}`);
      }),
      FEW,
    );
  });
});

// ---------------------------------------------------------------------------------------
// Schemas at the boundaries
// ---------------------------------------------------------------------------------------

const SCHEMAS = {
  HandoffRequest,
  Manifest,
  ScopeContext,
  ActionRecord,
  OpenStoreOptions,
  StartSessionOptions,
  ActionsUnderArgs,
  SessionsArgs,
} satisfies Record<string, z.ZodType>;
type SchemaName = keyof typeof SCHEMAS;

const scopeContext = fc.record({
  sessionId: identifier,
  scopeId: identifier,
  parentScopeId: fc.option(identifier, { nil: null }),
  handoffFromScopeId: fc.option(identifier, { nil: null }),
  kind: fc.constantFrom(...ScopeKind.options),
  agent: agentName,
  agentVersion: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  delegatedBy: fc.option(agentName, { nil: null }),
  allowance: fc.option(fc.array(fc.string({ unit: 'binary', maxLength: 20 }), { maxLength: 4 }), { nil: null }),
  depth: fc.nat({ max: 1000 }),
  path: fc.string({ unit: 'binary', minLength: 3, maxLength: 60 }),
  handoffIndex: fc.nat({ max: 1000 }),
  visibility: fc.boolean(),
  budget: fc.option(
    fc.record({
      turns: fc.option(fc.nat({ max: 1000 }), { nil: null }),
      tokens: fc.option(fc.nat(), { nil: null }),
      deadline: fc.option(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()), { nil: null }),
    }, { noNullPrototype: true }),
    { nil: null },
  ),
}, { noNullPrototype: true });

const VALID: { [K in SchemaName]: fc.Arbitrary<Record<string, unknown>> } = {
  HandoffRequest: fc.record(
    { to: agentName, reason: fc.string({ unit: 'binary', minLength: 1, maxLength: 2000 }), input: wireJson },
    { requiredKeys: ['to', 'reason'], noNullPrototype: true },
  ),
  Manifest: fc.record(
    {
      name: agentName,
      version: fc.string({ unit: 'binary', minLength: 1, maxLength: 50 }).filter((v) => /^[^@\s]+$/.test(v)),
      description: fc.string({ unit: 'binary', maxLength: 2000 }),
      tools: fc.array(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.\/:-]{0,19}$/), { maxLength: 5 }),
      subAgents: fc.array(subAgentRef, { maxLength: 5 }),
      resources: fc.array(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), { maxLength: 5 }),
    },
    { requiredKeys: ['name', 'version', 'tools', 'subAgents'], noNullPrototype: true },
  ),
  ScopeContext: scopeContext,
  ActionRecord: fc.record({
    actionId: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    scopeId: identifier,
    sessionId: identifier,
    namespace: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
    agent: agentName,
    kind: fc.constantFrom(...ActionKind.options),
    name: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
    attempt: fc.integer({ min: 1, max: 1000 }),
    resources: fc.array(fc.record({ uri: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), mode: fc.constantFrom(...ResourceMode.options) }, { noNullPrototype: true }), { maxLength: 4 }),
    inputDigest: fc.option(fc.string({ maxLength: 70 }), { nil: null }),
    outputDigest: fc.option(fc.string({ maxLength: 70 }), { nil: null }),
    status: fc.constantFrom(...ActionStatus.options),
    error: fc.option(fc.string({ unit: 'binary', maxLength: 100 }), { nil: null }),
    startedAt: isoTimeWithOffset,
    endedAt: fc.option(isoTimeWithOffset, { nil: null }),
    workflowId: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
    runId: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    activityId: fc.option(fc.string({ maxLength: 10 }), { nil: null }),
    targetScopeId: fc.option(identifier, { nil: null }),
    attributes: fc.dictionary(
      fc.string({ unit: 'binary', maxLength: 15 }).filter((k) => k !== '__proto__'),
      fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), finiteNumber, fc.boolean(), fc.constant(null)),
      { maxKeys: 5, noNullPrototype: true },
    ),
  }, { noNullPrototype: true }),
  // At most one place to write: a URL, a folder or memory (openStore refuses two).
  OpenStoreOptions: fc.tuple(
    fc.oneof(
      fc.constant({}),
      fc.record({ url: fc.tuple(fc.constantFrom('postgres://', 'postgresql://'), fc.string({ unit: 'binary', maxLength: 60 })).map(([a, b]) => a + b) }, { noNullPrototype: true }),
      fc.record({ dataDir: fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }) }, { noNullPrototype: true }),
      fc.record({ memory: fc.boolean() }, { noNullPrototype: true }),
    ),
    fc.record(
      {
        schema: fc.stringMatching(/^[a-z_][a-z0-9_]{0,62}$/),
        namespace: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
        migrate: fc.boolean(),
      },
      { requiredKeys: [], noNullPrototype: true },
    ),
  ).map(([place, rest]) => ({ ...place, ...rest })),
  StartSessionOptions: fc.record(
    {
      input: wireJson,
      objective: fc.string({ unit: 'binary', maxLength: 10_000 }),
      sessionId: fc.stringMatching(/^[A-Za-z0-9_:@-]{1,150}$/),
    },
    { requiredKeys: ['input'], noNullPrototype: true },
  ),
  ActionsUnderArgs: fc.record(
    {
      scopeId: storableString(1, 1000),
      descendants: fc.boolean(),
      kinds: fc.array(fc.constantFrom(...ActionKind.options), { maxLength: 6 }),
      tool: storableString(1, 40),
      checkSeals: fc.boolean(),
    },
    { requiredKeys: ['scopeId', 'descendants', 'checkSeals'], noNullPrototype: true },
  ),
  SessionsArgs: fc.record(
    {
      agent: agentName,
      status: fc.constantFrom(...ScopeStatus.options),
      since: isoTimeWithOffset,
      limit: fc.integer({ min: 1, max: 10_000 }),
    },
    { requiredKeys: ['limit'], noNullPrototype: true },
  ),
};

function firstIssueOk(schema: z.ZodType, value: unknown): z.core.$ZodIssue | undefined {
  const result = schema.safeParse(value);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  assert.ok(issue, 'a failure has at least one issue');
  assert.ok(Array.isArray(issue.path), 'the issue has a path');
  assert.equal(typeof issue.message, 'string');
  assert.ok(issue.path.length > 0 || issue.message.length > 0, `issue names a field or says what is wrong: ${JSON.stringify(issue)}`);
  assert.ok(issue.message.length > 0, 'the issue has a message');
  return issue;
}

describe('schemas at the boundaries', () => {
  for (const [name, schema] of Object.entries(SCHEMAS) as Array<[SchemaName, z.ZodType]>) {
    test(`${name}: arbitrary values never make safeParse throw; a failure names a field or says what is wrong`, () => {
      fc.assert(
        fc.property(anything, (value) => {
          firstIssueOk(schema, value);
        }),
        RUNS,
      );
    });

    test(`${name}: one corrupted field is the field the first issue names`, () => {
      fc.assert(
        fc.property(VALID[name], anything, fc.nat(), (valid, garbage, pick) => {
          const keys = Object.keys(schema instanceof z.ZodObject ? schema.shape : valid);
          const key = keys[pick % keys.length]!;
          const corrupted = { ...valid, [key]: garbage };
          const issue = firstIssueOk(schema, corrupted);
          if (issue) assert.equal(issue.path[0], key, `corrupting "${key}" is reported as ${JSON.stringify(issue)}`);
        }),
        RUNS,
      );
    });

    test(`${name}: valid values parse, unchanged, and round-trip through JSON`, () => {
      fc.assert(
        fc.property(VALID[name], (valid) => {
          const parsed = schema.safeParse(valid);
          assert.ok(parsed.success, `valid value refused: ${JSON.stringify(parsed.error?.issues)}`);
          assert.deepEqual(parsed.data, valid, 'every field is kept as given');
          const again = schema.safeParse(JSON.parse(JSON.stringify(parsed.data)));
          assert.ok(again.success, `round-tripped value refused: ${JSON.stringify(again.error?.issues)}`);
          assert.deepEqual(again.data, parsed.data);
        }),
        RUNS,
      );
    });
  }

  test('defaults fill what a valid value leaves out, and the result is stable', () => {
    assert.deepEqual(Manifest.parse({ name: 'a', version: '1' }), { name: 'a', version: '1', tools: [], subAgents: [] });
    assert.deepEqual(ActionsUnderArgs.parse({ scopeId: 's' }), { scopeId: 's', descendants: false, checkSeals: false });
    assert.deepEqual(SessionsArgs.parse({}), { limit: 50 });
    fc.assert(
      fc.property(scopeContext, (ctx) => {
        const { visibility: _v, ...rest } = ctx;
        const parsed = ScopeContext.parse(rest);
        assert.equal(parsed.visibility, false);
        assert.deepEqual(ScopeContext.parse(parsed), parsed);
      }),
      FEW,
    );
  });
});

// ---------------------------------------------------------------------------------------
// defineTool's activity
// ---------------------------------------------------------------------------------------

describe('defineTool input validation', () => {
  const Input = z.object({
    name: z.string().min(1).max(40),
    count: z.number().int().min(0).max(1000),
    tags: z.array(z.string().regex(/^[a-z]+$/)).max(5).optional(),
    mode: z.enum(['fast', 'safe']).default('safe'),
    nested: z.object({ flag: z.boolean(), level: z.number().int().min(1) }).optional(),
  });
  let calls = 0;
  const hostile = defineTool(
    { name: 'hostile', input: Input, output: z.object({ echoed: z.string(), count: z.number() }) },
    async (input) => {
      calls += 1;
      // The body only ever sees input its schema accepts.
      assert.ok(Input.safeParse(input).success, 'tool body called with invalid input');
      return { echoed: input.name, count: input.count };
    },
  );

  const validInput = fc.record(
    {
      name: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
      count: fc.integer({ min: 0, max: 1000 }),
      tags: fc.array(fc.stringMatching(/^[a-z]+$/), { maxLength: 5 }),
      mode: fc.constantFrom('fast', 'safe'),
      nested: fc.record({ flag: fc.boolean(), level: fc.integer({ min: 1, max: 100 }) }, { noNullPrototype: true }),
    },
    { requiredKeys: ['name', 'count'], noNullPrototype: true },
  );
  const corrupted = fc
    .tuple(validInput, fc.constantFrom('name', 'count', 'tags', 'mode', 'nested'), anything)
    .map(([v, k, g]) => ({ ...v, [k]: g }) as unknown);

  test('any input either runs the tool or is refused as InvalidToolInput, non-retryable, naming an input field', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anything, validInput, corrupted), async (raw) => {
        const expectValid = Input.safeParse(raw).success;
        const before = calls;
        let outcome: { ok: true; value: unknown } | { ok: false; err: unknown };
        try {
          outcome = { ok: true, value: await hostile.activity(raw) };
        } catch (err) {
          outcome = { ok: false, err };
        }
        if (expectValid) {
          assert.ok(outcome.ok, `valid input refused: ${outcome.ok ? '' : String((outcome as { err: unknown }).err)}`);
          assert.equal(calls, before + 1);
          return;
        }
        assert.equal(outcome.ok, false, 'invalid input accepted');
        const err = (outcome as { err: unknown }).err;
        assert.ok(err instanceof ApplicationFailure, `not an ApplicationFailure: ${String(err)}`);
        assert.equal(err.type, 'InvalidToolInput');
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, /^tool hostile: invalid field "input(\.[^"]+)?": ./);
        assert.equal(calls, before, 'the tool body never runs on invalid input');
      }),
      RUNS,
    );
  });

  test('a corrupted field is the field the refusal names', async () => {
    await fc.assert(
      fc.asyncProperty(validInput, fc.constantFrom('name', 'count', 'tags', 'nested'), anything, async (v, key, garbage) => {
        const raw = { ...v, [key]: garbage };
        if (Input.safeParse(raw).success) return;
        const before = calls;
        await assert.rejects(hostile.activity(raw), (err: ApplicationFailure) => {
          assert.equal(err.type, 'InvalidToolInput');
          assert.match(err.message, new RegExp(`invalid field "input\\.${key}(\\.[^"]+)?"`));
          return true;
        });
        assert.equal(calls, before);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------
// Canonical JSON and digests
// ---------------------------------------------------------------------------------------

const rng = prng;

/** The same value with every object's keys inserted in another order (own `__proto__` keys kept as data). */
function shuffleKeys(value: unknown, next: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, next));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    Object.defineProperty(out, k, {
      value: shuffleKeys((value as Record<string, unknown>)[k], next),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** JSON objects with awkward keys: integer-like ones JS reorders, `__proto__`, unicode, empty. */
const awkwardKey = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.nat({ max: 200 }).map(String),
  fc.constantFrom('__proto__', 'constructor', '', '10', '9', '01', '-1', '1.5'),
);
const jsonLeaf = fc.oneof(fc.string({ unit: 'binary', maxLength: 10 }), finiteNumber, fc.boolean(), fc.constant(null));
const { tree: jsonTree } = fc.letrec<{ tree: unknown; object: Record<string, unknown> }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, jsonLeaf, tie('object'), fc.array(tie('tree'), { maxLength: 4 })),
  object: fc.uniqueArray(fc.tuple(awkwardKey, tie('tree')), { maxLength: 6, selector: ([k]) => k }).map((entries) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  }),
}));
const jsonObject = fc.oneof(jsonTree.filter((v) => v !== null && typeof v === 'object' && !Array.isArray(v)), fc.jsonValue({ maxDepth: 4 }));

describe('canonical JSON and digests', () => {
  test('the digest does not depend on key order, at any depth', () => {
    fc.assert(
      fc.property(jsonObject, fc.integer(), (value, seed) => {
        const shuffled = shuffleKeys(value, rng(seed));
        assert.equal(canonicalJson(shuffled), canonicalJson(value));
        assert.equal(digest(shuffled), digest(value));
      }),
      RUNS,
    );
  });

  test('canonical JSON parses back to the same value, and is its own fixed point', () => {
    fc.assert(
      fc.property(jsonObject, (value) => {
        const text = canonicalJson(value);
        const back = JSON.parse(text) as unknown;
        assert.deepEqual(back, JSON.parse(JSON.stringify(value)));
        assert.equal(canonicalJson(back), text);
        assert.match(digest(value), /^sha256:[0-9a-f]{64}$/);
      }),
      RUNS,
    );
  });

  test('arbitrary values (not only JSON-safe ones) never make canonicalJson throw and always give JSON', () => {
    fc.assert(
      fc.property(anything, (value) => {
        let text: string;
        try {
          text = canonicalJson(value);
        } catch (err) {
          assert.fail(`canonicalJson threw ${String(err)}`);
        }
        assert.doesNotThrow(() => JSON.parse(text), `not JSON: ${text.slice(0, 200)}`);
      }),
      RUNS,
    );
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), /cycle/);
  });

  test('array holes and invalid dates serialize as JSON.stringify does: equal on the wire, equal digests', () => {
    // A tool may return either; its output is digested before it is serialized.
    // eslint-disable-next-line no-sparse-arrays
    const holes = [, 1, , 2];
    const cases: Array<[unknown, unknown]> = [
      [holes, [undefined, 1, undefined, 2]],
      [new Array(3), [null, null, null]],
      [{ when: new Date(Number.NaN) }, { when: null }],
      [[new Date('not a date')], [null]],
    ];
    for (const [value, sameOnTheWire] of cases) {
      let text: string | undefined;
      assert.doesNotThrow(() => {
        text = canonicalJson(value);
      }, `canonicalJson(${JSON.stringify(value)})`);
      assert.equal(text, canonicalJson(sameOnTheWire), `${JSON.stringify(value)}: ${text}`);
      assert.equal(digest(value), digest(JSON.parse(JSON.stringify(value))));
    }
  });
});

// ---------------------------------------------------------------------------------------
// The scope header codec
// ---------------------------------------------------------------------------------------

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('scope header codec', () => {
  const encodings = fc.oneof(
    fc.constantFrom('json/plain', 'binary/null', 'binary/plain', 'json/protobuf', 'binary/protobuf', 'binary/encrypted', '').map(utf8),
    fc.uint8Array({ maxLength: 20 }),
  );
  const jsonData = fc.oneof(
    scopeContext.map((c) => JSON.stringify(c)),
    fc.tuple(scopeContext, fc.constantFrom(...Object.keys(ScopeContext.shape)), fc.jsonValue({ maxDepth: 2 }))
      .map(([c, k, g]) => JSON.stringify({ ...c, [k]: g })),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.string({ unit: 'binary', maxLength: 80 }),
  ).map(utf8);
  const payload: fc.Arbitrary<unknown> = fc.oneof(
    fc.record(
      { metadata: fc.record({ encoding: encodings }, { requiredKeys: [], noNullPrototype: true }), data: fc.oneof(jsonData, fc.uint8Array({ maxLength: 200 })) },
      { requiredKeys: [], noNullPrototype: true },
    ),
    fc.record({ metadata: fc.dictionary(fc.string({ maxLength: 10 }), fc.uint8Array({ maxLength: 10 })), data: fc.uint8Array({ maxLength: 100 }) }),
    fc.record({ metadata: fc.constantFrom(null, undefined, {}), data: fc.constantFrom(null, undefined, new Uint8Array()) }),
    scopeContext.chain((c) => {
      const p = encodeScopeHeader(c);
      const data = p.data ?? new Uint8Array();
      return fc.array(fc.tuple(fc.nat({ max: Math.max(0, data.length - 1) }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
        const copy = new Uint8Array(data);
        for (const [i, b] of flips) copy[i] = b;
        return { ...p, data: copy };
      });
    }),
  );

  test('arbitrary payload bytes never throw and never yield a context ScopeContext refuses', () => {
    fc.assert(
      fc.property(payload, (p) => {
        const ctx = decodeScopeHeader(p as Payload);
        if (ctx !== undefined) assert.ok(ScopeContext.safeParse(ctx).success, `decoded an invalid context: ${JSON.stringify(ctx)}`);
      }),
      RUNS,
    );
  });

  test('a valid context round-trips, and a JSON-encoded one decodes to exactly what it says', () => {
    fc.assert(
      fc.property(scopeContext, (c) => {
        assert.deepEqual(decodeScopeHeader(encodeScopeHeader(c)), c);
        const handWritten = { metadata: { encoding: utf8('json/plain') }, data: utf8(JSON.stringify(c)) };
        assert.deepEqual(decodeScopeHeader(handWritten as Payload), c);
        assert.deepEqual(decodeScopeHeader(defaultPayloadConverter.toPayload(c) as Payload), c);
      }),
      RUNS,
    );
    assert.equal(SCOPE_HEADER, 'scopetrail-scope');
  });
});
