/**
 * Finding the `temporal` CLI, in this order: $TEMPORAL_CLI_PATH, `temporal` on PATH,
 * the per-user cache keyed by version, then a build from Go modules into that cache.
 * The build uses the last CLI release whose go.mod has no replace directive
 * (`go install module@version` refuses those), so it needs only the Go module proxy.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { goInstall, scopetrailCacheDir } from './go-build';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

export type CliSource = 'env' | 'path' | 'cache' | 'built';

export interface ResolvedCli {
  path: string;
  source: CliSource;
  /** Wall time of the Go build, when this call built it. */
  buildSeconds?: number;
}

export function cacheDir(version = TEMPORAL_CLI_VERSION): string {
  return join(scopetrailCacheDir(), 'temporal-cli', version);
}

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * Returns a runnable CLI, or undefined when none can be found or built (no Go):
 * the caller then falls back to the SDK's own download.
 */
export async function resolveTemporalCli(log: (line: string) => void = () => undefined): Promise<ResolvedCli | undefined> {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH points at ${fromEnv}, which does not exist`);
    return { path: fromEnv, source: 'env' };
  }
  const onPath = findOnPath('temporal');
  if (onPath) return { path: onPath, source: 'path' };
  const cached = join(cacheDir(), 'temporal');
  if (existsSync(cached)) return { path: cached, source: 'cache' };
  const go = findOnPath('go');
  if (!go) return undefined;
  return buildWithGo(go, cached, log);
}

async function buildWithGo(go: string, target: string, log: (line: string) => void): Promise<ResolvedCli> {
  const dir = cacheDir();
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} from Go modules into ${dir} (first run only; a few minutes)…`);
  const buildSeconds = await goInstall(go, [{ pkg: CLI_MODULE, builds: 'temporal', as: 'temporal' }], TEMPORAL_CLI_VERSION, dir, log);
  log(`Built the Temporal CLI in ${buildSeconds.toFixed(1)} s: ${target}`);
  return { path: target, source: 'built', buildSeconds };
}

export function cliVersion(path: string): string {
  const out = spawnSync(path, ['--version'], { encoding: 'utf8' });
  return (out.stdout || out.stderr || '').trim();
}
