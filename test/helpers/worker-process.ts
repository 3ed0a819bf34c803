/** A `scopetrail worker` (the example agents) as a child process, resolved once it polls its task queue. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface WorkerProcessOptions {
  address: string;
  databaseUrl: string;
  schema: string;
  taskQueue: string;
  namespace?: string;
  /** Modules of your agents and tools (both or neither); the example agents otherwise. */
  agents?: string;
  tools?: string;
  env?: NodeJS.ProcessEnv;
}

export async function spawnWorkerProcess(o: WorkerProcessOptions): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'scopetrail.js'), 'worker',
      '--address', o.address,
      '--database-url', o.databaseUrl,
      '--schema', o.schema,
      '--task-queue', o.taskQueue,
      ...(o.namespace ? ['--namespace', o.namespace] : []),
      ...(o.agents && o.tools ? ['--agents', o.agents, '--tools', o.tools] : []),
    ],
    { cwd: ROOT, env: { ...process.env, ...o.env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (c: Buffer) => {
      text += c.toString();
      if (text.includes('Ctrl-C stops')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${text.slice(-2000)}`)));
  });
  child.removeAllListeners('exit');
  return child;
}

/** SIGTERM lets the worker drain its recorder before it exits. */
export async function stopWorkerProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}
