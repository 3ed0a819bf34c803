/**
 * CPU time spent by the parts of a benchmark run on one machine: this process (worker
 * and client), the Temporal dev server, and Postgres (every backend). Read from /proc,
 * so it counts user and system time whatever else the machine is doing.
 */
import { readFileSync, readdirSync } from 'node:fs';
import pg from 'pg';

export interface CpuSnapshot {
  self: number;
  temporal: number;
  postgres: number;
  /** Of `self`: the main thread (activities, sinks, the recorder, the store, sealing, the client). */
  main: number;
  /** Of `self`: the SDK's core (its Rust runtime's threads: polling, completions, gRPC). */
  core: number;
}

const TICKS_PER_SECOND = 100;

/**
 * Name and CPU seconds (user plus system) of a process or thread, from its `stat` file;
 * none when it ended while we looked. `reaped` is what its children that ended and were
 * waited for used: for the Postgres postmaster, every backend and autovacuum worker that
 * has exited.
 */
function readStat(path: string): { comm: string; seconds: number; reaped: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // Fields 14 and 15 of the stat file (utime, stime); `fields` starts at field 3.
  return {
    comm: stat.slice(stat.indexOf('(') + 1, close),
    seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
    // Fields 16 and 17 (cutime, cstime).
    reaped: (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND,
  };
}

function processCpu(): { temporal: number; postgres: number } {
  let temporal = 0;
  let postgres = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const found = readStat(`/proc/${pid}/stat`);
    // With what exited children used (a backend only the postmaster has), a connection
    // closed or an autovacuum worker ended between two readings still counts.
    if (found?.comm === 'temporal') temporal += found.seconds + found.reaped;
    else if (found?.comm === 'postgres') postgres += found.seconds + found.reaped;
  }
  return { temporal, postgres };
}

/**
 * This process's CPU by thread: the main thread, the SDK core's runtime threads, and the
 * rest (each worker's workflow threads, and V8's and libuv's helpers, which Linux names
 * alike). Per thread from /proc/self/task.
 */
function threadCpu(): { main: number; core: number } {
  let main = 0;
  let core = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    const found = readStat(`/proc/self/task/${tid}/stat`);
    if (!found) continue;
    if (tid === String(process.pid)) main += found.seconds;
    else if (found.comm.startsWith('tokio-runtime')) core += found.seconds;
  }
  return { main, core };
}

export function cpuSnapshot(): CpuSnapshot {
  const u = process.cpuUsage();
  return { self: (u.user + u.system) / 1e6, ...processCpu(), ...threadCpu() };
}

/**
 * CPU used since `start`. A Postgres backend that exits meanwhile (an idle pooled
 * connection closing) moves its CPU time to the postmaster's reaped children, so the sum
 * keeps it; a thread of this process that ends takes its ticks with it.
 */
export function cpuSince(start: CpuSnapshot): CpuSnapshot {
  const now = cpuSnapshot();
  return {
    self: now.self - start.self,
    // A thread that ends meanwhile takes its ticks with it.
    main: Math.max(0, now.main - start.main),
    core: Math.max(0, now.core - start.core),
    temporal: Math.max(0, now.temporal - start.temporal),
    postgres: Math.max(0, now.postgres - start.postgres),
  };
}

/** User plus system CPU seconds of one process so far (a worker the benchmark forked). */
export function processCpuSeconds(pid: number): number {
  const found = readStat(`/proc/${pid}/stat`);
  if (!found) throw new Error(`process ${pid} is gone: its CPU time cannot be read`);
  return found.seconds;
}

/** CPU seconds of this process so far (user and system). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * A connection string whose backends are marked with `app`, and a reader of the CPU
 * seconds those backends have used (read while they are still connected). On a machine
 * shared with other work, CPU time is steadier than wall time; it is reported beside it.
 */
export function markedBackends(url: string, app: string): { url: string; cpuSeconds: () => Promise<number> } {
  return {
    url: `${url}${url.includes('?') ? '&' : '?'}application_name=${app}`,
    cpuSeconds: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [app]);
        let seconds = 0;
        for (const { pid } of rows) {
          try {
            seconds += processCpuSeconds(pid);
          } catch {
            // exited meanwhile
          }
        }
        return seconds;
      } finally {
        await client.end();
      }
    },
  };
}
