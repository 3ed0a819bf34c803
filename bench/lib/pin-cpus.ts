/**
 * Gives the local Postgres server CPUs of its own for a benchmark run, as a database on
 * another host would have: every `postgres` process (the postmaster, whose later
 * backends inherit its affinity, and those it has forked) goes onto `postgresCpus`, and
 * this process and every `temporal` process (the dev server) onto the other CPUs. The
 * workers, the client and Temporal then share what is left, whichever variant runs, and
 * Postgres's work no longer takes their cores. Linux only (taskset and /proc); needs
 * the right to change those processes' affinity (root, or their owner).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';

export interface Pinned {
  postgresCpus: number[];
  appCpus: number[];
  /** Puts every process it moved back onto all CPUs. */
  restore: () => void;
}

/** `1` or `1,3` or `2-3`: the CPUs given to Postgres; the rest go to the benchmark and Temporal. */
export function pinPostgres(spec: string): Pinned {
  const all = Array.from({ length: availableParallelism() }, (_, i) => i);
  const postgresCpus = parseCpuList(spec, all.length);
  const appCpus = all.filter((c) => !postgresCpus.includes(c));
  if (appCpus.length === 0) throw new Error(`--postgres-cpus ${spec}: that leaves no CPU for the workers and Temporal (this machine has ${all.length})`);
  const postgres = processesNamed('postgres');
  if (postgres.length === 0) throw new Error('--postgres-cpus: no postgres process on this machine (the option needs Postgres on the same host)');
  const app = [process.pid, ...processesNamed('temporal')];
  const moved: number[] = [];
  const restore = () => {
    for (const pid of moved) setAffinity(pid, all, false);
  };
  try {
    for (const pid of postgres) if (setAffinity(pid, postgresCpus, true)) moved.push(pid);
    for (const pid of app) if (setAffinity(pid, appCpus, true)) moved.push(pid);
  } catch (err) {
    restore();
    throw err;
  }
  return { postgresCpus, appCpus, restore };
}

function parseCpuList(spec: string, cpus: number): number[] {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`--postgres-cpus: "${spec}" is not a CPU list such as 1, 1,3 or 2-3`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to >= cpus) throw new Error(`--postgres-cpus: "${part}" is outside CPUs 0-${cpus - 1}`);
    for (let c = from; c <= to; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

function processesNamed(name: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name) pids.push(Number(pid));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Sets every thread of `pid` onto `cpus`; false when the process exited meanwhile. */
function setAffinity(pid: number, cpus: number[], strict: boolean): boolean {
  const res = spawnSync('taskset', ['-a', '-p', '-c', cpus.join(','), String(pid)], { encoding: 'utf8' });
  if (res.error) {
    if (strict) throw new Error(`--postgres-cpus needs taskset (util-linux): ${res.error.message}`);
    return false;
  }
  if (res.status === 0) return true;
  let alive = true;
  try {
    readFileSync(`/proc/${pid}/stat`);
  } catch {
    alive = false;
  }
  if (alive && strict) throw new Error(`--postgres-cpus: could not set the CPUs of process ${pid}: ${res.stderr.trim()}`);
  return false;
}
