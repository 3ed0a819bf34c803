/**
 * Finding the `temporal` CLI, in this order: $TEMPORAL_CLI_PATH, `temporal` on PATH,
 * the per-user cache keyed by version, then a build from Go modules into that cache.
 * The build uses the last CLI release whose go.mod has no replace directive
 * (`go install module@version` refuses those), so it needs only the Go module proxy.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

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
  const base = process.env.SCOPETRAIL_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'scopetrail');
  return join(base, 'temporal-cli', version);
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
  mkdirSync(dir, { recursive: true });
  // Build into a private folder and rename: a concurrent build or a killed one never
  // leaves a half-written binary at the cached path.
  const staging = mkdtempSync(join(dir, '.build-'));
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} from Go modules into ${dir} (first run only; a few minutes)…`);
  const started = Date.now();
  const ticker = setInterval(() => log(`  …still building (${Math.round((Date.now() - started) / 1000)} s)`), 20_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', '-trimpath', '-ldflags=-s -w', `${CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
        env: { ...process.env, GOBIN: staging, CGO_ENABLED: '0', GOFLAGS: process.env.GOFLAGS ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let tail = '';
      const onData = (chunk: Buffer) => {
        tail = (tail + chunk.toString()).slice(-4000);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0
          ? resolve()
          : reject(new Error(`go install ${CLI_MODULE}@${TEMPORAL_CLI_VERSION} failed (exit ${code}):\n${tail.trim()}`)),
      );
    });
    renameSync(join(staging, 'temporal'), target);
  } finally {
    clearInterval(ticker);
    rmSync(staging, { recursive: true, force: true });
  }
  const buildSeconds = (Date.now() - started) / 1000;
  log(`Built the Temporal CLI in ${buildSeconds.toFixed(1)} s: ${target}`);
  return { path: target, source: 'built', buildSeconds };
}

export function cliVersion(path: string): string {
  const out = spawnSync(path, ['--version'], { encoding: 'utf8' });
  return (out.stdout || out.stderr || '').trim();
}
