/**
 * A `scopetrail` process ends: a command that fails at start exits with its code and its
 * reason, a process that only configured Temporal's logs exits on its own or on SIGTERM,
 * and a running worker still stops cleanly on SIGTERM. Each case is a real process, run
 * as a user runs it, with a deadline: a hang fails the test instead of holding it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TEST_DATABASE_URL, dropTestSchema, usesPglite } from '../helpers/runtime';
import { createWorker } from '../../worker/create-worker';
import { openStore } from '../../store';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'scopetrail.js');
let base: string;

before(() => {
  base = mkdtempSync(join(tmpdir(), 'scopetrail-cli-exit-'));
});
after(() => {
  rmSync(base, { recursive: true, force: true });
});

/** The embedded store only: no DATABASE_URL, whatever the test run uses. */
function embeddedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.DATABASE_URL;
  return env;
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Waits for `child` to end; past `ms` it is killed and the test fails, naming what it said. */
function ended(child: ChildProcess, ms: number, what: string): Promise<Ended> {
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what}: still running after ${ms} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A process holding the embedded store at `dataDir` open, as a running worker does. */
async function holder(dataDir: string): Promise<ChildProcess> {
  const script = `
    require('./store').openStore({ dataDir: ${JSON.stringify(dataDir)} }).then(() => console.log('ready'), (e) => { console.error(e.message); process.exit(1); });
    setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env: embeddedEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  return child;
}

test('worker, dev and run demo on an embedded store another process holds say so and exit 1 at once', async () => {
  const dataDir = join(base, 'held');
  const held = await holder(dataDir);
  try {
    const runs: Array<[string, string[], NodeJS.ProcessEnv]> = [
      ['worker', ['worker', '--data-dir', dataDir], {}],
      ['dev', ['dev', '--data-dir', dataDir], {}],
      ['run', ['run', 'demo'], { SCOPETRAIL_DATA_DIR: dataDir }],
    ];
    for (const [command, args, env] of runs) {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: embeddedEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
      const run = await ended(child, 20_000, `scopetrail ${args.join(' ')}`);
      assert.equal(run.code, 1, `${command}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`scopetrail ${command}: the embedded store at ${dataDir} is in use by another scopetrail process \\(pid ${held.pid}\\)`));
    }
  } finally {
    held.kill('SIGKILL');
  }
});

test('worker --data-dir naming a regular file says so and exits instead of staying alive', async () => {
  const file = join(base, 'a-file');
  writeFileSync(file, 'not a folder\n');
  const child = spawn(process.execPath, [CLI, 'worker', '--data-dir', file], { cwd: ROOT, env: embeddedEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const run = await ended(child, 20_000, 'scopetrail worker --data-dir <file>');
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^scopetrail worker: invalid --data-dir: the embedded store's folder \S+ is a file, not a folder/);
});

test('a program that calls quietTemporalLogs first exits when it is done, and SIGTERM stops one that waits', async () => {
  // As the README tells library users: quietTemporalLogs before anything else.
  const done = spawn(process.execPath, ['--import', 'tsx', '-e', "require('./index').quietTemporalLogs('WARN'); console.log('configured')"], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const finished = await ended(done, 20_000, 'a program that only called quietTemporalLogs');
  assert.deepEqual([finished.code, finished.stdout], [0, 'configured\n'], finished.stderr);

  const waiting = spawn(
    process.execPath,
    ['--import', 'tsx', '-e', "require('./index').quietTemporalLogs('ERROR'); console.log('configured'); setInterval(() => undefined, 1000)"],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const result = ended(waiting, 20_000, 'a waiting program sent SIGTERM');
  await new Promise<void>((resolve) => createInterface({ input: waiting.stdout! }).once('line', () => resolve()));
  waiting.kill('SIGTERM');
  assert.equal((await result).signal, 'SIGTERM', 'SIGTERM ends the process as it would any Node program');
});

test('a program that reads a Postgres store and never closes it exits when it is done, not when the idle connections time out', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const schema = `t_exit_${Date.now().toString(36)}`;
  // As a short script does: open, ask, print, and forget close().
  const script = `
    require('./store').openStore({ url: ${JSON.stringify(TEST_DATABASE_URL)}, schema: ${JSON.stringify(schema)} })
      .then((store) => store.scopesOfSession('ses-none'))
      .then((scopes) => console.log('scopes', scopes.length), (e) => { console.error(e.message); process.exit(1); });`;
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Pooled connections stay open a minute idle (SCOPETRAIL_PG_IDLE_TIMEOUT_MS); they must not hold the process.
    const run = await ended(child, 30_000, 'a script that never closes its store');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'scopes 0');
  } finally {
    await dropTestSchema(schema);
  }
});

test('a running worker on the embedded store stops cleanly on SIGTERM, saying so', async () => {
  const child = spawn(
    process.execPath,
    [CLI, 'worker', '--json', '--data-dir', join(base, 'running'), '--task-queue', `cli-exit-${process.pid}`],
    { cwd: ROOT, env: embeddedEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const result = ended(child, 90_000, 'a worker sent SIGTERM');
  await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).once('line', () => resolve()));
  child.kill('SIGTERM');
  const run = await result;
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n').map((l) => JSON.parse(l).event), ['ready', 'stopped']);
});

test('run demo interrupted by Ctrl-C terminates its sessions on the Temporal server it used, says so and exits 1', async () => {
  const { ensureTemporal } = await import('../../devserver/dev-server');
  const { Client, Connection } = await import('@temporalio/client');
  const temporal = await ensureTemporal({ log: () => undefined });
  const connection = await Connection.connect({ address: temporal.address });
  try {
    const child = spawn(process.execPath, [CLI, 'run', 'demo', '--memory'], {
      cwd: ROOT,
      env: embeddedEnv({ TEMPORAL_ADDRESS: temporal.address }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = ended(child, 120_000, 'run demo sent SIGINT');
    // Interrupted once the session runs: its root and delegations are open on the server.
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stderr! }).on('line', (line) => line.includes('Running the example session') && resolve());
      child.once('exit', () => reject(new Error('run demo ended before its session started')));
    });
    await new Promise((r) => setTimeout(r, 1_500));
    child.kill('SIGINT');
    const run = await result;
    assert.equal(run.code, 1, run.stderr);
    const said = run.stderr.match(/scopetrail run: interrupted by SIGINT: (\d+) running workflow\(s\) of the example terminated/);
    assert.ok(said, run.stderr);
    assert.ok(Number(said[1]) >= 1, 'the running session was terminated');
    const client = new Client({ connection, namespace: temporal.namespace });
    const queue = `scopetrail-demo-${child.pid}`;
    const open = [];
    for await (const wf of client.workflow.list({ query: `TaskQueue = "${queue}" AND ExecutionStatus = "Running"` })) open.push(wf.workflowId);
    assert.deepEqual(open, [], 'no workflow of the example is left running');
    const closed = [];
    for await (const wf of client.workflow.list({ query: `TaskQueue = "${queue}" AND ExecutionStatus = "Terminated"` })) closed.push(wf.workflowId);
    assert.ok(closed.length >= 1, 'the session is terminated, with its reason in history');
  } finally {
    await connection.close();
    await temporal.stop();
  }
});

test('worker on a Postgres server that answers but has no such database says why and exits 1; the library\'s shutdown may be called twice', { skip: usesPglite() && 'needs the Postgres server' }, async () => {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/scopetrail_no_such_db_${process.pid}`;
  const child = spawn(process.execPath, [CLI, 'worker', '--database-url', url.toString(), '--task-queue', `nodb-${process.pid}`], {
    cwd: ROOT,
    env: embeddedEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = await ended(child, 60_000, 'scopetrail worker --database-url <no such database>');
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /does not exist/);
  assert.doesNotMatch(run.stderr, /Cannot close connection/);

  const worker = await createWorker({ agents: require.resolve('../fixtures/agents'), tools: [], taskQueue: `nodb-lib-${process.pid}`, store: await openStore({ url: url.toString(), migrate: false }), spool: false });
  await assert.rejects(worker.run(), /does not exist/);
  await worker.shutdown();
  await worker.shutdown();
});

test('worker with a Temporal address nothing answers on names it and what to do, and exits 1', async () => {
  const child = spawn(process.execPath, [CLI, 'worker', '--data-dir', join(base, 'unreachable-store'), '--address', '127.0.0.1:1'], {
    cwd: ROOT,
    env: embeddedEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = await ended(child, 60_000, 'scopetrail worker --address 127.0.0.1:1');
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^scopetrail worker: Temporal at 127\.0\.0\.1:1 is not reachable \(.*\): start it .*--address or TEMPORAL_ADDRESS$/m);
});

test('a program that runs createWorker as README shows exits once Ctrl-C has stopped the worker', async () => {
  const { ensureTemporal } = await import('../../devserver/dev-server');
  const temporal = await ensureTemporal({ log: () => undefined });
  const program = join(base, 'worker-program.ts');
  // The README's worker: run() until SIGINT, then the store closed; nothing else ends the process.
  writeFileSync(
    program,
    `import { ScopeClient, createWorker, openStore, quietTemporalLogs } from ${JSON.stringify(join(ROOT, 'index'))};
import { createExampleTools } from ${JSON.stringify(join(ROOT, 'examples', 'tools'))};
quietTemporalLogs('ERROR');
(async () => {
  const store = await openStore({ dataDir: ${JSON.stringify(join(base, 'program-store'))} });
  const taskQueue = 'exit-${process.pid}';
  const worker = await createWorker({ agents: ${JSON.stringify(join(ROOT, 'examples', 'agents.ts'))}, tools: Object.values(createExampleTools({ latencyMs: 0 }).tools), store, taskQueue, address: ${JSON.stringify(temporal.address)} });
  const running = worker.run();
  // A session first: what it leaves running (sealing, anchors, the look for unended scopes) must not hold the process either.
  const client = await ScopeClient.connect({ store, taskQueue, address: ${JSON.stringify(temporal.address)} });
  const session = await client.startSession('citer', { input: { url: 'https://example.org/a' } });
  await session.result();
  await client.close();
  console.log('ran a session');
  await running;
  await store.close();
  console.log('returned');
})();
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', program], { cwd: ROOT, env: embeddedEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const result = ended(child, 60_000, 'a createWorker program sent SIGINT');
  await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).once('line', () => resolve()));
  const signalled = Date.now();
  child.kill('SIGINT');
  const run = await result;
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /returned/);
  assert.ok(Date.now() - signalled < 15_000, `exited ${Date.now() - signalled} ms after SIGINT`);
});
