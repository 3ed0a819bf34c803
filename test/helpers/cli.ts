/** Runs the `scopetrail` CLI in-process against a test runtime's store and Temporal server, capturing its output. */
import { runCli } from '../../client/cli';
import { COMMANDS } from '../../client/cli-commands';
import { TEST_DATABASE_URL, usesPglite, type TestRuntime } from './runtime';

/** Why a test of the CLI is skipped on the embedded store: the CLI opens the store by URL, and that store lives in the test's own process. */
export const CLI_STORE_SKIP: string | false =
  usesPglite() && 'the CLI opens the store by URL, and the embedded store lives in this test process (set DATABASE_URL to a Postgres server to run it)';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Each line written to stderr, as written. */
  errLines: string[];
}

export async function runCliFor(
  rt: Pick<TestRuntime, 'schema' | 'temporal'>,
  args: string[],
  stderr?: { isTTY: boolean; write(t: string): void; columns?: number },
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([...args, ...runtimeFlags(rt, args[0])], {
    log: (t) => out.push(t),
    err: (t) => err.push(t),
    ...(stderr ? { stderr } : {}),
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n'), errLines: err };
}

/**
 * The runtime's store and Temporal server, as the flags the command takes: a command refuses
 * an option it does not read (`init` opens no store, `deployment` none either, `roles` no Temporal).
 * An unknown command gets them all: it is refused for being unknown.
 */
function runtimeFlags(rt: Pick<TestRuntime, 'schema' | 'temporal'>, name: string | undefined): string[] {
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  const flags: Array<[string, string]> = [['database-url', TEST_DATABASE_URL], ['schema', rt.schema], ['address', rt.temporal.address]];
  return flags.filter(([option]) => !command || (command.options as readonly string[]).includes(option)).flatMap(([option, value]) => [`--${option}`, value]);
}
