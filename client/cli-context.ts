/**
 * What every CLI command shares: the context it runs with, the usage error it raises,
 * and how a module path on the command line is found. Commands import this module,
 * never the command table, so the table can import every command without a circle.
 */
import { DEFAULT_NAMESPACE, namespaceNameProblem } from '../cim/temporal-namespace';
import { resolve } from 'node:path';
import { ScopetrailError } from '../cim/errors';
import type { ProgressStream } from './progress';
import type { PayloadCodec } from '@temporalio/common';
import { RemoteCodec, dataConverterOfModule, type CliDataConverter } from './codec-loader';
import { OpenStoreOptions } from '../store/open';
import type { OptionName } from './cli-options';

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
  /**
   * The options the command reads, besides --json and --help (which every command takes).
   * runCli refuses any other: a flag the command would ignore must not look as if it applied.
   */
  options: readonly OptionName[];
  /** What an option does for this command, where the general help (cli-options.ts) would say less. */
  optionHelp?: Partial<Record<OptionName, string>>;
  run(ctx: CommandContext): Promise<number>;
}

export class CliUsageError extends ScopetrailError {
  override name = 'CliUsageError';
}

/**
 * A command that could not do what it was asked (exit 1), with what a script needs beyond
 * the sentence: `detail`'s fields go into the --json error document beside `message`.
 */
export class CliFailure extends ScopetrailError {
  override name = 'CliFailure';

  constructor(message: string, readonly detail: Record<string, unknown>) {
    super(message);
  }
}

/** The file a module flag names, or a usage error naming the flag when there is none. */
export function resolveModule(path: string, flagName?: string): string {
  const file = resolve(process.cwd(), path);
  try {
    return require.resolve(file);
  } catch {
    throw new CliUsageError(`could not load ${flagName ?? 'module'} ${path}: no such module (looked for ${file}, with .js, .json or /index.js)`);
  }
}

/**
 * Loads a module a flag names (`--agents`, `--tools`), with what went wrong said
 * as a usage error naming the flag and the file. A TypeScript module needs a loader in
 * Node: the error says which.
 */
export function requireModule(flagName: string, path: string): Record<string, unknown> {
  try {
    return require(path) as Record<string, unknown>;
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    const typescript = /\.[cm]?tsx?$/.test(path);
    const hint = typescript
      ? ': a TypeScript module needs a loader: run with NODE_OPTIONS="--import tsx" (npm install tsx), or compile it to JavaScript first'
      : '';
    throw new CliUsageError(`could not load ${flagName} ${path}: ${message}${hint}`);
  }
}

/**
 * The workers' payload codecs, from --codec / --codec-endpoint (else $SCOPETRAIL_CODEC /
 * $SCOPETRAIL_CODEC_ENDPOINT); none when neither is given.
 */
export function codecsOf(ctx: CommandContext, namespace: string): PayloadCodec[] {
  return dataConverterOf(ctx, namespace).payloadCodecs;
}

/**
 * The workers' data converter, as far as the CLI needs it: their payload codecs and, from a
 * --codec module's `dataConverter.payloadConverterPath`, their custom payload converter.
 */
export function dataConverterOf(ctx: CommandContext, namespace: string): CliDataConverter {
  const flag = (name: string) => (typeof ctx.flags[name] === 'string' ? (ctx.flags[name] as string) : undefined);
  const module = flag('codec') ?? (process.env.SCOPETRAIL_CODEC || undefined);
  const endpoint = flag('codec-endpoint') ?? (process.env.SCOPETRAIL_CODEC_ENDPOINT || undefined);
  if (module && endpoint) throw new CliUsageError('give --codec or --codec-endpoint, not both');
  if (endpoint) {
    try {
      return { payloadCodecs: [new RemoteCodec(endpoint, namespace)] };
    } catch (err) {
      throw new CliUsageError((err as Error).message);
    }
  }
  if (!module) return { payloadCodecs: [] };
  let path: string;
  try {
    path = resolveModule(module);
  } catch {
    throw new CliUsageError(`--codec: no module at "${module}"`);
  }
  try {
    return dataConverterOfModule(require(path), module, path);
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
}

/** The data converter a client or worker is given, or nothing when it is Temporal's default. */
export function givenDataConverter(dc: CliDataConverter): { dataConverter?: { payloadCodecs: PayloadCodec[]; payloadConverterPath?: string } } {
  return dc.payloadCodecs.length || dc.payloadConverterPath ? { dataConverter: dc } : {};
}

export interface CliStoreOptions {
  url?: string;
  dataDir?: string;
  schema?: string;
  namespace?: string;
}

/** The store the flags name, checked before anything is opened. */
export function storeOptions(ctx: CommandContext): CliStoreOptions {
  const dataDir = flag(ctx, 'data-dir');
  const url = flag(ctx, 'database-url') ?? (dataDir === undefined ? process.env.DATABASE_URL || undefined : undefined);
  if (dataDir !== undefined && flag(ctx, 'database-url') !== undefined) throw new CliUsageError('give --database-url or --data-dir, not both');
  const options = {
    ...(url !== undefined ? { url } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    schema: flag(ctx, 'schema'),
    namespace: namespaceOf(ctx),
  };
  const checked = OpenStoreOptions.safeParse(options);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    // A URL the flag did not give came from DATABASE_URL: named as the user set it.
    const urlName = flag(ctx, 'database-url') === undefined ? 'DATABASE_URL (from the environment)' : '--database-url';
    const name = { url: urlName, dataDir: '--data-dir', schema: '--schema', namespace: '--namespace' }[String(issue?.path[0])] ?? 'option';
    throw new CliUsageError(`invalid ${name}: ${issue?.message}`);
  }
  return options;
}

/**
 * The Temporal namespace a command works in, and its store's: --namespace, else
 * TEMPORAL_NAMESPACE (as TEMPORAL_ADDRESS gives the address), else `default`.
 */
export function namespaceOf(ctx: CommandContext): string {
  const given = flag(ctx, 'namespace');
  if (given !== undefined) return given;
  const value = process.env.TEMPORAL_NAMESPACE;
  if (value === undefined || value === '') return DEFAULT_NAMESPACE;
  const problem = namespaceNameProblem(value);
  if (problem) throw new CliUsageError(`invalid TEMPORAL_NAMESPACE (from the environment) ${JSON.stringify(value)}: ${problem}`);
  return value;
}

/** A flag's value when it was given as a string. */
export function flag(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}
