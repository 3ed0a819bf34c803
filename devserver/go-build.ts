/**
 * `go install` of Go commands into a cache folder, for the Temporal CLI and the
 * Temporal server. Only the Go module proxy is needed: no clone, no docker.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The per-user cache: $SCOPETRAIL_CACHE_DIR, else $XDG_CACHE_HOME/scopetrail, else ~/.cache/scopetrail. */
export function scopetrailCacheDir(): string {
  return process.env.SCOPETRAIL_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'scopetrail');
}

export interface GoCommand {
  /** Package path of the command, e.g. go.temporal.io/server/cmd/server. */
  pkg: string;
  /** The name `go install` gives the binary (the package's last path element). */
  builds: string;
  /** The name it gets in the cache. */
  as: string;
}

/**
 * Builds every command at `version` and moves them into `dir`. Each build goes to a
 * private folder first: a concurrent build or a killed one never leaves a half-written
 * binary at a cached path.
 */
export async function goInstall(
  go: string,
  commands: GoCommand[],
  version: string,
  dir: string,
  log: (line: string) => void,
): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const staging = mkdtempSync(join(dir, '.build-'));
  const started = Date.now();
  const ticker = setInterval(() => log(`  …still building (${Math.round((Date.now() - started) / 1000)} s)`), 20_000);
  const targets = commands.map((c) => `${c.pkg}@${version}`);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', '-trimpath', '-ldflags=-s -w', ...targets], {
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
        code === 0 ? resolve() : reject(new Error(`go install ${targets.join(' ')} failed (exit ${code}):\n${tail.trim()}`)),
      );
    });
    for (const c of commands) {
      const built = join(staging, c.builds);
      if (!existsSync(built)) throw new Error(`go install ${c.pkg}@${version} produced no ${c.builds} in ${staging}`);
      renameSync(built, join(dir, c.as));
    }
  } finally {
    clearInterval(ticker);
    rmSync(staging, { recursive: true, force: true });
  }
  return (Date.now() - started) / 1000;
}
