/**
 * What every CLI command shares: the context it runs with, the usage error it raises,
 * and how a module path on the command line is found. Commands import this module,
 * never the command table, so the table can import every command without a circle.
 */
import { resolve } from 'node:path';
import { ScopetrailError } from '../cim/errors';
import type { ProgressStream } from './progress';
import type { PayloadCodec } from '@temporalio/common';
import { RemoteCodec, codecsOfModule } from './codec-loader';

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

/**
 * The workers' payload codecs, from --codec / --codec-endpoint (else $SCOPETRAIL_CODEC /
 * $SCOPETRAIL_CODEC_ENDPOINT); none when neither is given.
 */
export function codecsOf(ctx: CommandContext, namespace: string): PayloadCodec[] {
  const flag = (name: string) => (typeof ctx.flags[name] === 'string' ? (ctx.flags[name] as string) : undefined);
  const module = flag('codec') ?? (process.env.SCOPETRAIL_CODEC || undefined);
  const endpoint = flag('codec-endpoint') ?? (process.env.SCOPETRAIL_CODEC_ENDPOINT || undefined);
  if (module && endpoint) throw new CliUsageError('give --codec or --codec-endpoint, not both');
  if (endpoint) {
    try {
      return [new RemoteCodec(endpoint, namespace)];
    } catch (err) {
      throw new CliUsageError((err as Error).message);
    }
  }
  if (!module) return [];
  let path: string;
  try {
    path = resolveModule(module);
  } catch {
    throw new CliUsageError(`--codec: no module at "${module}"`);
  }
  try {
    return codecsOfModule(require(path), module);
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
}
