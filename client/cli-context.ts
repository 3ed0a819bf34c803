/**
 * What every CLI command shares: the context it runs with, the usage error it raises,
 * and how a module path on the command line is found. Commands import this module,
 * never the command table, so the table can import every command without a circle.
 */
import { resolve } from 'node:path';
import { ScopetrailError } from '../cim/errors';
import type { ProgressStream } from './progress';

export interface CommandContext {
  args: string[];
  flags: Record<string, string | boolean | string[] | undefined>;
  out: {
    log(text: string): void;
    err(text: string): void;
    /** Where progress bars go (see client/progress.ts); none when absent. Never stdout: it carries --json. */
    stderr?: ProgressStream;
  };
}

export interface Command {
  group: 'query' | 'runtime';
  args: string;
  summary: string;
  run(ctx: CommandContext): Promise<number>;
}

export class CliUsageError extends ScopetrailError {
  override name = 'CliUsageError';
}

export function resolveModule(path: string): string {
  return require.resolve(resolve(process.cwd(), path));
}
