/**
 * A Postgres server of a test's own: a fresh cluster in a temporary folder on a free
 * port, which the test may stop and start (a real restart, not a cut connection)
 * without disturbing the shared server the other tests use.
 *
 * Needs the server's binaries (initdb, pg_ctl). Where they are missing the test is
 * skipped with the install command, except under CI, where that is a failure.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { underCi } from './browser';
import { freePort } from '../../devserver/dev-server';

const execFileAsync = promisify(execFile);

export const POSTGRES_INSTALL = 'apt-get install postgresql (Debian/Ubuntu) or brew install postgresql';

export interface PrivatePostgres {
  url: string;
  port: number;
  dir: string;
  /**
   * Stops the server the way an administrator's fast shutdown does: open connections are
   * ended. Asynchronous, so a worker in the same process keeps running meanwhile.
   */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  destroy(): Promise<void>;
}

/** The folder holding initdb and pg_ctl, or why there is none. */
export function postgresBinaries(): { bin: string } | { missing: string } {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates = [fromConfig.status === 0 ? fromConfig.stdout.trim() : ''];
  if (existsSync('/usr/lib/postgresql')) {
    // Debian keeps each major version apart; the newest is tried first.
    for (const v of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  const bin = candidates.find((dir) => dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
  return bin ? { bin } : { missing: `no PostgreSQL server binaries (initdb, pg_ctl) found: install them (${POSTGRES_INSTALL}); under CI this test is required` };
}

/** A skip reason for node:test, or false when the test can run (always false under CI: it then fails loudly). */
export function privatePostgresSkip(): string | false {
  const found = postgresBinaries();
  if ('bin' in found || underCi()) return false;
  return found.missing;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const found = postgresBinaries();
  if ('missing' in found) throw new Error(found.missing);
  const dir = mkdtempSync(join(tmpdir(), 'scopetrail-pg-'));
  const data = join(dir, 'data');
  // initdb refuses to run as root: as root, the cluster belongs to the postgres user.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? userIds('postgres') : undefined;
  if (asRoot && !owner) throw new Error('running as root and there is no postgres user to own a private cluster');
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const run = async (cmd: string, args: string[]) => {
    const [file, argv] = owner ? ['runuser', ['-u', 'postgres', '--', join(found.bin, cmd), ...args]] : [join(found.bin, cmd), args];
    try {
      await execFileAsync(file, argv, { encoding: 'utf8', cwd: dir });
    } catch (err) {
      const { code, stderr, stdout } = err as { code?: unknown; stderr?: string; stdout?: string };
      const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000) : '';
      throw new Error(`${cmd} ${args.join(' ')} failed (${String(code)}): ${stderr || stdout}\n${log}`);
    }
  };
  await run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=40`;
  const start = () => run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '30', 'start']);
  const stop = () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop,
    start,
    async destroy() {
      await stop().catch(() => undefined); // already stopped
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}
