/**
 * The embedded store held by another process (a `scopetrail dev` or worker): a second
 * process is told so, naming the directory and the holder's pid, instead of dying with
 * PGlite's `Aborted()`. The holder here is a real second process with the store open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openStore } from '../../store';
import { lockPathOf } from '../../store/embedded-lock';
import { runCli } from '../../client/cli';

const ROOT = join(__dirname, '..', '..');

/** A process that opens the embedded store at `dataDir` and keeps it open until killed. */
async function holder(dataDir: string): Promise<ChildProcess> {
  const script = `
    const { openStore } = require('./store');
    openStore({ dataDir: ${JSON.stringify(dataDir)}, url: undefined }).then(() => console.log('ready'), (e) => { console.error(e.message); process.exit(1); });
    setInterval(() => undefined, 1000);`;
  const env = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

test('a second process is told the embedded store is in use, by which pid; once the holder is gone the store opens', async () => {
  const base = mkdtempSync(join(tmpdir(), 'scopetrail-lock-'));
  const dataDir = join(base, 'pglite');
  const child = await holder(dataDir);
  try {
    await assert.rejects(openStore({ dataDir, url: undefined }), (err: Error) => {
      assert.equal(err.name, 'StoreInUseError');
      assert.equal(
        err.message,
        `the embedded store at ${dataDir} is in use by another scopetrail process (pid ${child.pid}); ` +
          'stop it or use DATABASE_URL (a Postgres server serves several processes at once)',
      );
      return true;
    });

    // The CLI says the same in one line, with the failure exit code.
    const saved = { xdg: process.env.XDG_DATA_HOME, url: process.env.DATABASE_URL };
    process.env.XDG_DATA_HOME = base.replace(/\/?$/, '');
    delete process.env.DATABASE_URL;
    const lines: string[] = [];
    try {
      const sessionsDir = join(base, 'scopetrail', 'pglite');
      const cliHolder = await holder(sessionsDir);
      try {
        const code = await runCli(['sessions', '--address', '127.0.0.1:1'], { log: (t) => lines.push(t), err: (t) => lines.push(t) });
        assert.equal(code, 1, lines.join('\n'));
        assert.match(lines.join('\n'), new RegExp(`scopetrail sessions: the embedded store at ${sessionsDir} is in use by another scopetrail process \\(pid ${cliHolder.pid}\\)`));
        assert.doesNotMatch(lines.join('\n'), /Aborted/);
      } finally {
        await killed(cliHolder);
      }
    } finally {
      if (saved.xdg === undefined) delete process.env.XDG_DATA_HOME;
      else process.env.XDG_DATA_HOME = saved.xdg;
      if (saved.url !== undefined) process.env.DATABASE_URL = saved.url;
    }

    // A holder killed without closing leaves a stale lock: the next process takes it over.
    await killed(child);
    assert.ok(existsSync(lockPathOf(dataDir)), 'SIGKILL left the lock file behind');
    const store = await openStore({ dataDir, url: undefined });
    await store.close();
    assert.equal(existsSync(lockPathOf(dataDir)), false, 'closing the store releases its lock');
  } finally {
    if (child.exitCode === null && child.signalCode === null) await killed(child);
    rmSync(base, { recursive: true, force: true });
  }
});
