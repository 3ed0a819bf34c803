/**
 * The embedded store's folder is PGlite's alone: a query never makes one, and no command
 * writes a database among a user's files. A folder that is new or empty becomes a store.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { openStore } from '../../store';
import { lockPathOf } from '../../store/embedded-lock';
import { runCli } from '../../client/cli';
import { mountTmpfs } from '../helpers/tmpfs';

let base: string;
let notes: string;
let file: string;
const saved = process.env.DATABASE_URL;

before(() => {
  // The embedded store, whatever the test run uses.
  delete process.env.DATABASE_URL;
  base = mkdtempSync(join(tmpdir(), 'scopetrail-folder-'));
  notes = join(base, 'notes');
  mkdirSync(notes);
  writeFileSync(join(notes, 'notes.txt'), 'my notes\n');
  file = join(base, 'a-file');
  writeFileSync(file, 'not a folder\n');
});
after(() => {
  if (saved !== undefined) process.env.DATABASE_URL = saved;
  rmSync(base, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runCli(args, { log: (t) => lines.push(t), err: (t) => lines.push(t) });
  return { code, out: lines.join('\n') };
}

function untouched(): void {
  assert.deepEqual(readdirSync(notes), ['notes.txt'], 'nothing is written among the files');
  assert.equal(existsSync(lockPathOf(notes)), false, 'no lock is left beside the folder');
}

test('a query given a folder of other files, an empty folder or a file says there is no store there and creates nothing', async () => {
  const empty = join(base, 'empty');
  mkdirSync(empty);
  const cases: Array<[string, string]> = [
    [notes, 'the folder holds other files and no PG_VERSION'],
    [empty, 'the folder is empty'],
    [file, 'it is a file, not a folder'],
  ];
  for (const [dir, why] of cases) {
    const run = await cli(['sessions', '--data-dir', dir, '--address', '127.0.0.1:1']);
    assert.equal(run.code, 1, run.out);
    assert.equal(run.out.split('\n')[0], `scopetrail sessions: no embedded store at ${dir} (${why}): give --data-dir of the one your workers use, or --database-url (DATABASE_URL) of their Postgres`);
  }
  untouched();
  assert.deepEqual(readdirSync(empty), []);
});

test('openStore refuses a folder of other files and a file, naming them; a new or empty folder becomes a store', async () => {
  await assert.rejects(openStore({ dataDir: notes }), (err: Error & { field?: string }) => {
    assert.equal(err.name, 'EmbeddedFolderError');
    assert.equal(err.field, 'dataDir');
    assert.match(err.message, new RegExp(`folder ${notes} holds other files and no store \\(no PG_VERSION\\)`));
    return true;
  });
  untouched();
  await assert.rejects(openStore({ dataDir: file }), /folder .*a-file is a file, not a folder/);

  const empty = join(base, 'for-a-store');
  mkdirSync(empty);
  writeFileSync(join(empty, '.DS_Store'), '');
  const store = await openStore({ dataDir: empty });
  await store.close();
  assert.ok(existsSync(join(empty, 'PG_VERSION')), 'an empty folder (but for a desktop\'s .DS_Store) becomes a store');
  const again = await openStore({ dataDir: empty });
  await again.close();
});

test('worker --data-dir of a folder of other files or of a file is a usage error naming the flag', async () => {
  for (const [dir, why] of [[notes, 'holds other files and no store'], [file, 'is a file, not a folder']] as const) {
    const run = await cli(['worker', '--data-dir', dir]);
    assert.equal(run.code, 2, run.out);
    assert.match(run.out, new RegExp(`^scopetrail worker: invalid --data-dir: the embedded store's folder ${dir} ${why}`));
  }
  untouched();
});

test('a process stopped while it creates a store leaves no part of one: the next open makes the store whole', async () => {
  const dir = join(base, 'cut-short');
  const making = join(base, '.cut-short.creating');
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', `require('./store').openStore({ dataDir: ${JSON.stringify(dir)} }).then((s) => s.close())`], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, DATABASE_URL: '' },
    stdio: 'ignore',
  });
  try {
    // Stopped once PGlite has written part of the store (seconds into its creation).
    const deadline = Date.now() + 120_000;
    const begun = (d: string) => existsSync(join(d, 'base')) && existsSync(join(d, 'global'));
    while (!begun(making) && !begun(dir)) {
      assert.ok(Date.now() < deadline, 'the store is being created');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((r) => child.once('exit', r));
  assert.equal(existsSync(join(dir, 'base')) && !existsSync(join(dir, 'PG_VERSION')), false, 'no store without PG_VERSION in the folder');
  const store = await openStore({ dataDir: dir });
  await store.upsertScopes([]);
  await store.close();
  assert.ok(existsSync(join(dir, 'PG_VERSION')));
  assert.equal(existsSync(making), false, 'what the stopped process made is gone');
  assert.equal(existsSync(lockPathOf(dir)), false);
});

test('a folder with part of a database and no PG_VERSION is named as a store cut short, for openStore and for a query', async () => {
  const dir = join(base, 'half-made');
  for (const d of ['base', 'global', 'pg_wal', 'pg_xact']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'postgresql.conf'), '');
  await assert.rejects(openStore({ dataDir: dir }), (err: Error & { field?: string }) => {
    assert.equal(err.name, 'EmbeddedFolderError');
    assert.equal(err.field, 'dataDir');
    assert.match(err.message, /holds part of a database and no PG_VERSION: a store whose creation was stopped before it finished\. Nothing was recorded in it: delete the folder and start again/);
    return true;
  });
  const run = await cli(['sessions', '--data-dir', dir, '--address', '127.0.0.1:1']);
  assert.equal(run.code, 1, run.out);
  assert.match(run.out, /no embedded store at .*half-made \(the folder holds part of a database and no PG_VERSION: a store whose creation was stopped; delete it and start a worker again\)/);
  assert.deepEqual(readdirSync(dir).sort(), ['base', 'global', 'pg_wal', 'pg_xact', 'postgresql.conf'], 'left as it was');
});

test('a new store is made in a folder that is a mount point of another file system', async (t) => {
  const dir = join(base, 'mounted');
  const mounted = mountTmpfs(dir);
  if (typeof mounted === 'string') return t.skip(mounted);
  try {
    const store = await openStore({ dataDir: dir });
    await store.upsertScopes([]);
    await store.close();
    assert.ok(existsSync(join(dir, 'PG_VERSION')));
    assert.equal(existsSync(join(base, '.mounted.creating')), false);
    const again = await openStore({ dataDir: dir });
    await again.close();
  } finally {
    mounted.unmount();
  }
});
