/**
 * The Temporal server and its SQL schema tool, built from Go modules at the release
 * docker-compose.yml runs and cached next to the CLI ($cache/temporal-server/<version>).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { goInstall, scopetrailCacheDir } from './go-build';
import { findOnPath } from './temporal-cli';

const SERVER_MODULE = 'go.temporal.io/server';
export const SERVER_BINARY = 'temporal-server';
export const SQL_TOOL_BINARY = 'temporal-sql-tool';

export interface ServerBinaries {
  version: string;
  server: string;
  sqlTool: string;
  /** Wall time of the Go build, when this call built them. */
  buildSeconds?: number;
}

export const GO_INSTALL_HINT = 'install Go 1.25 or newer (https://go.dev/dl/, or apt-get install golang-go) and put `go` on PATH';

export function serverCacheDir(version: string): string {
  return join(scopetrailCacheDir(), 'temporal-server', version);
}

/** The cached pair, or undefined when either is missing. */
export function cachedServer(version: string): ServerBinaries | undefined {
  const dir = serverCacheDir(version);
  const server = join(dir, SERVER_BINARY);
  const sqlTool = join(dir, SQL_TOOL_BINARY);
  return existsSync(server) && existsSync(sqlTool) ? { version, server, sqlTool } : undefined;
}

/** Why the server cannot be had on this machine, or undefined when it is cached or Go can build it. */
export function serverUnavailableReason(version: string): string | undefined {
  if (cachedServer(version) || findOnPath('go')) return undefined;
  return `the Temporal server ${version} is not in ${serverCacheDir(version)} and there is no Go toolchain to build it: ${GO_INSTALL_HINT}`;
}

export async function resolveServer(version: string, log: (line: string) => void = () => undefined): Promise<ServerBinaries> {
  const cached = cachedServer(version);
  if (cached) return cached;
  const go = findOnPath('go');
  if (!go) throw new Error(serverUnavailableReason(version));
  const dir = serverCacheDir(version);
  log(`Building the Temporal server ${version} and its SQL tool from Go modules into ${dir} (first run only; several minutes)…`);
  const buildSeconds = await goInstall(
    go,
    [
      { pkg: `${SERVER_MODULE}/cmd/server`, builds: 'server', as: SERVER_BINARY },
      { pkg: `${SERVER_MODULE}/cmd/tools/sql`, builds: 'sql', as: SQL_TOOL_BINARY },
    ],
    version,
    dir,
    log,
  );
  log(`Built the Temporal server ${version} in ${buildSeconds.toFixed(1)} s`);
  return { version, server: join(dir, SERVER_BINARY), sqlTool: join(dir, SQL_TOOL_BINARY), buildSeconds };
}
