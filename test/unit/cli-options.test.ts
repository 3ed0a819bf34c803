/**
 * Each `scopetrail` command takes the options it reads and refuses every other (exit 2,
 * naming the option and the command), so a flag it would ignore — a filter the user
 * believes applied — never passes silently. `scopetrail <command> --help` lists them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, optionsOf, runCli } from '../../client/cli';
import { COMMANDS, type Command } from '../../client/cli-commands';
import { OPTIONS, type OptionName } from '../../client/cli-options';

const ROOT = join(__dirname, '..', '..');
const ENTRIES = Object.entries(COMMANDS) as Array<[string, Command]>;
const ALL = Object.keys(OPTIONS) as OptionName[];

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { log: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err };
}

/** The option as given on a command line, with a value when it takes one. */
function given(option: OptionName): string[] {
  return OPTIONS[option].type === 'string' ? [`--${option}`, 'v'] : [`--${option}`];
}

/**
 * Arguments every command refuses at once, before it opens anything: too many of them.
 * A command that ignored a foreign option would then say "unexpected argument", never
 * name the option, so the assertions below fail without the check (and start nothing).
 */
const TOO_MANY = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];

describe('the options each command declares', () => {
  test('are options of the table, each once, and every option of the table is some command\'s', () => {
    for (const [name, c] of ENTRIES) {
      for (const o of c.options) assert.ok(Object.hasOwn(OPTIONS, o), `${name} declares --${o}, which is not in OPTIONS`);
      assert.equal(new Set(c.options).size, c.options.length, `${name} declares an option twice`);
      for (const o of Object.keys(c.optionHelp ?? {})) assert.ok(optionsOf(c).includes(o as OptionName), `${name} describes --${o} but does not take it`);
    }
    const taken = new Set(ENTRIES.flatMap(([, c]) => optionsOf(c)));
    assert.deepEqual(ALL.filter((o) => !taken.has(o)), [], 'an option no command takes would be refused by all');
  });

  test('every command refuses every option it does not take: exit 2, one line naming the option, the command and what it takes', async () => {
    for (const [name, c] of ENTRIES) {
      const accepted = optionsOf(c);
      for (const option of ALL.filter((o) => !accepted.includes(o))) {
        const argv = [name, ...TOO_MANY, ...given(option)];
        const run = await cli(argv);
        const said = run.err.join('\n');
        assert.equal(run.code, EXIT.usage, `${argv.join(' ')}: ${said}`);
        assert.equal(run.err.length, 1, said);
        assert.ok(said.startsWith(`scopetrail ${name}: --${option} is not an option of ${name} (it takes `), said);
        for (const o of accepted.filter((a) => a !== 'help')) assert.ok(said.includes(`--${o}`), `${said} lists --${o}`);
        assert.ok(said.endsWith(`Run scopetrail ${name} --help.`), said);
      }
    }
  });

  test('the flags of the report are refused, as typed, with --json as the usual error document', async () => {
    const cases: Array<[string[], string, RegExp]> = [
      [['tree', 'S1', '--kind', 'tool_call'], 'tree', /^--kind is not an option of tree \(it takes --database-url, .*--address.*; --kind goes with actions\)\. Run scopetrail tree --help\.$/],
      [['roles', '--before', '2026-01-01'], 'roles', /^--before is not an option of roles \(.*; --before goes with prune\)/],
      [['prune', '--before', '2026-01-01', '--descendants'], 'prune', /^--descendants is not an option of prune \(it takes --before, --dry-run, /],
      [['prune', '--before', '2026-01-01', '-d'], 'prune', /^-d \(--descendants\) is not an option of prune/],
      [['status', 'S1', '--since', '2026-01-01T00:00:00Z', '--limit', '3'], 'status', /^--since and --limit are not options of status \(/],
      [['init', 'somewhere', '--database-url', 'postgres://127.0.0.1:1/x'], 'init', /^--database-url is not an option of init \(it takes --scopetrail-spec, --json\)/],
      [['drift', '--address', '127.0.0.1:1'], 'drift', /^--address is not an option of drift/],
      [['dev', '--address', '127.0.0.1:1'], 'dev', /^--address is not an option of dev/],
    ];
    for (const [argv, command, message] of cases) {
      const run = await cli([...argv, '--json']);
      assert.equal(run.code, EXIT.usage, run.err.join('\n'));
      const doc = JSON.parse(run.out) as { error: Record<string, unknown> };
      assert.deepEqual(Object.keys(doc), ['error']);
      assert.deepEqual(Object.keys(doc.error).sort(), ['command', 'exitCode', 'kind', 'message']);
      assert.deepEqual([doc.error.command, doc.error.exitCode, doc.error.kind], [command, 2, 'usage']);
      assert.match(String(doc.error.message), message);
      assert.equal(run.err[0], `scopetrail ${command}: ${doc.error.message}`);
    }
  });

  test('--descendants with --no-descendants is refused, whichever command', async () => {
    for (const argv of [['actions', 'S1', '--descendants', '--no-descendants'], ['footprint', 'S1', '--no-descendants', '-d'], ['tree', 'S1', '-d', '--no-descendants']]) {
      const run = await cli(argv);
      assert.equal(run.code, EXIT.usage, run.err.join('\n'));
      assert.match(run.err[0]!, /^scopetrail \S+: give (--descendants|-d \(--descendants\)|--no-descendants) or .*, not both/);
    }
  });

  test('a value option given twice, alike or not, or a list option given twice, passes the check (the last value counts, as the README says)', async () => {
    for (const argv of [
      ['actions', 'S1', '--tool', 'search', '--tool', 'fetch', ...TOO_MANY],
      ['actions', 'S1', '--tool', 'search', '--tool', 'search', ...TOO_MANY],
      ['actions', 'S1', '--kind', 'tool_call', '--kind', 'delegate', ...TOO_MANY],
    ]) {
      const run = await cli(argv);
      assert.equal(run.code, EXIT.usage);
      assert.match(run.err[0]!, /unexpected argument/, argv.join(' '));
    }
  });

  test('what a command takes still runs: its own flags pass the check', async () => {
    // Arguments each command refuses: past the check, and stopped before any I/O.
    for (const [name, c] of ENTRIES) {
      const argv = [name, ...TOO_MANY, ...c.options.flatMap(given)];
      const run = await cli(argv);
      assert.equal(run.code, EXIT.usage, `${argv.join(' ')}: ${run.err.join('\n')}`);
      assert.doesNotMatch(run.err.join('\n'), /is not an option|are not options/, argv.join(' '));
    }
  });
});

describe('scopetrail <command> --help', () => {
  test("prints the command's usage line and exactly the options it takes, and exits 0", async () => {
    for (const [name, c] of ENTRIES) {
      for (const help of ['--help', '-h']) {
        // Help wins over anything else on the line, a foreign option included.
        const run = await cli([name, help, '--kind', 'x']);
        assert.equal(run.code, EXIT.ok, run.err.join('\n'));
        assert.deepEqual(run.err, []);
        assert.ok(run.out.startsWith(`Usage: scopetrail ${`${name} ${c.args}`.trim()} [options]\n`), run.out);
        const listed = [...run.out.matchAll(/^ {2}(?:-\w, )?--([\w-]+)/gm)].map((m) => m[1]);
        assert.deepEqual(listed, optionsOf(c), `${name} --help lists its options`);
      }
    }
  });

  test('--help --json of a command is its entry of the --help --json document, which lists each command\'s options', async () => {
    const all = JSON.parse((await cli(['--help', '--json'])).out) as { commands: Array<{ name: string; options: string[] }>; options: string[] };
    assert.deepEqual(all.options, ALL);
    for (const [name, c] of ENTRIES) {
      const entry = all.commands.find((e) => e.name === name);
      assert.deepEqual(entry?.options, optionsOf(c));
      const one = await cli([name, '--help', '--json']);
      assert.deepEqual(JSON.parse(one.out), entry);
    }
  });

  test('scopetrail --help (no command) is the usage of them all', async () => {
    for (const argv of [['--help'], ['-h'], ['no-such-command', '--help']]) {
      const run = await cli(argv);
      assert.equal(run.code, EXIT.ok);
      assert.match(run.out, /^Usage: scopetrail <command> \[arguments\] \[options\]/);
      for (const name of Object.keys(COMMANDS)) assert.ok(run.out.includes(`  ${name} `), `usage lists ${name}`);
    }
  });
});

describe('command lines in the documentation', () => {
  /** `scopetrail <command> …` in the docs, the README, the examples and the starter project: each flag must be its command's. */
  test('use only options their command takes', () => {
    const files = [
      'README.md', 'RELIABILITY.md', 'BENCHMARKS.md', 'docker-compose.yml', 'client/starter-files.ts', 'examples/demo.ts',
      ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
    ];
    const wrong: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const [i, line] of readFileSync(join(ROOT, file), 'utf8').split('\n').entries()) {
        for (const m of line.matchAll(/\bscopetrail(?:\.js)? ([a-z][\w-]*)([^`|#\n"]*)/g)) {
          const command = Object.hasOwn(COMMANDS, m[1]!) ? COMMANDS[m[1]!] : undefined;
          if (!command) continue;
          checked++;
          for (const flag of m[2]!.matchAll(/(?:^|\s|\[)--([a-z][\w-]*)/g)) {
            if (!optionsOf(command).includes(flag[1] as OptionName)) wrong.push(`${file}:${i + 1}: scopetrail ${m[1]} … --${flag[1]}`);
          }
        }
      }
    }
    assert.ok(checked > 30, `found ${checked} command lines`);
    assert.deepEqual(wrong, []);
  });
});

describe('actions --kind takes several kinds', () => {
  test('comma-separated, repeated, or both; deduplicated, in the order given', async () => {
    const { kindsFlag } = await import('../../client/cli-commands');
    assert.deepEqual(kindsFlag(['tool_call,llm_call']), ['tool_call', 'llm_call']);
    assert.deepEqual(kindsFlag(['tool_call,llm_call', 'delegate', 'tool_call']), ['tool_call', 'llm_call', 'delegate']);
    assert.equal(kindsFlag(undefined), undefined);
  });

  test('a list with a kind that is none, or an empty place, is a usage error naming the value and the part', async () => {
    const runs = [
      [['actions', 'S1', '--kind', 'tool_call,nonsense'], /^invalid --kind "tool_call,nonsense": "nonsense" is not a kind: use one of tool_call, llm_call, delegate, /],
      [['actions', 'S1', '--kind', 'tool_call,'], /^invalid --kind "tool_call,": an empty kind in the list: use one of /],
      [['actions', 'S1', '--kind', 'nonsense'], /^invalid --kind "nonsense": use one of .* \(several: comma-separated, or --kind again\)$/],
    ] as const;
    for (const [argv, message] of runs) {
      const lines: string[] = [];
      const code = await runCli([...argv, '--json'], { log: (t) => lines.push(t), err: () => undefined });
      assert.equal(code, 2, argv.join(' '));
      const { error } = JSON.parse(lines.join('\n'));
      assert.equal(error.kind, 'usage');
      assert.match(error.message, message);
    }
  });

  test('help says so', async () => {
    const lines: string[] = [];
    await runCli(['actions', '--help'], { log: (t) => lines.push(t), err: () => undefined });
    assert.match(lines.join('\n'), /--kind K,…\s+only actions of these kinds \(comma-separated, or repeat --kind\)/);
  });
});
