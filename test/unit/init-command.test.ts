/** `scopetrail init`: what it writes and what it tells a newcomer to do next. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../client/cli';
import { ownPackage } from '../../client/own-package';

async function init(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['init', ...args], { log: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('without --scopetrail-spec the project depends on the registry version, and init says how to use a tarball instead', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'scopetrail-init-')), 'agents');
  const run = await init([dir]);
  assert.equal(run.code, 0, run.err);
  const version = ownPackage().version;
  assert.equal(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies.scopetrail, `^${version}`);
  assert.match(run.out, /npm install && npm start/);
  assert.match(run.out, new RegExp(`depends on scopetrail \\^${version.replace(/\./g, '\\.')} from the npm registry; .*--scopetrail-spec <path or URL>`));
});

test('with --scopetrail-spec the project depends on what was given, and no hint is printed', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'scopetrail-init-')), 'agents');
  const run = await init([dir, '--scopetrail-spec', 'file:../scopetrail-0.0.0.tgz']);
  assert.equal(run.code, 0, run.err);
  assert.equal(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies.scopetrail, 'file:../scopetrail-0.0.0.tgz');
  assert.doesNotMatch(run.out, /--scopetrail-spec/);
});

test('a <dir> that is a file is a usage error naming it, not a file-system error', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'init-file-')), 'a-file');
  writeFileSync(file, 'notes\n');
  const run = await init([file]);
  assert.equal(run.code, 2, run.err);
  assert.match(run.err, /invalid <dir> ".*a-file": it is a file; give a new or empty folder/);
  assert.doesNotMatch(run.err, /ENOTDIR/);
});
