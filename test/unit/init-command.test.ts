/** `scopetrail init`: what it writes and what it tells a newcomer to do next. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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

/** Runs init from `cwd`, as a user in that folder would. */
async function initIn(cwd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const before = process.cwd();
  process.chdir(cwd);
  try {
    return await init(args);
  } finally {
    process.chdir(before);
  }
}

function dependency(dir: string): string {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies.scopetrail as string;
}

/** Where npm looks for a `file:` dependency of the project in `dir`. */
function whereNpmLooks(dir: string): string {
  const spec = dependency(dir);
  assert.match(spec, /^file:/);
  return resolve(dir, spec.slice('file:'.length));
}

/** A folder with a tarball `scopetrail.tgz`, a checkout `scopetrail/`, and `work/`, the folder init runs in. */
function layout(): { root: string; work: string; tarball: string; checkout: string } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'scopetrail-init-spec-')));
  const tarball = join(root, 'scopetrail.tgz');
  writeFileSync(tarball, 'not really gzip; init only checks that it is there');
  const checkout = join(root, 'scopetrail');
  mkdirSync(checkout);
  writeFileSync(join(checkout, 'package.json'), '{"name":"scopetrail"}');
  const work = join(root, 'work');
  mkdirSync(work);
  return { root, work, tarball, checkout };
}

test('a relative --scopetrail-spec is resolved from where init runs and written so npm finds it from the new project', async () => {
  const { work, tarball, checkout } = layout();
  for (const [spec, target] of [
    ['../scopetrail.tgz', tarball],
    ['file:../scopetrail.tgz', tarball],
    ['../scopetrail', checkout],
    ['file:../scopetrail', checkout],
  ] as const) {
    const dir = join(work, spec.replace(/\W/g, '_'), 'agents');
    const run = await initIn(work, [relative(work, dir), '--scopetrail-spec', spec]);
    assert.equal(run.code, 0, `${spec}: ${run.err}`);
    assert.equal(whereNpmLooks(dir), target, spec);
    assert.match(dependency(dir), /^file:\.\.\//, `${spec}: relative to the new project`);
  }
});

test('an absolute --scopetrail-spec (a path or a file: URL) is written as an absolute file: spec', async () => {
  const { work, tarball } = layout();
  for (const [i, spec] of [tarball, `file:${tarball}`, pathToFileURL(tarball).href].entries()) {
    const dir = join(work, `agents-${i}`);
    const run = await initIn(work, [dir, '--scopetrail-spec', spec]);
    assert.equal(run.code, 0, `${spec}: ${run.err}`);
    assert.equal(dependency(dir), `file:${tarball}`, spec);
    assert.doesNotMatch(run.out, /--scopetrail-spec/);
  }
});

test('a --scopetrail-spec naming a tarball or folder that does not exist is a usage error, and nothing is written', async () => {
  const { work, root } = layout();
  mkdirSync(join(root, 'empty'));
  for (const [spec, why] of [
    ['../missing.tgz', /does not exist/],
    ['file:../missing.tgz', /does not exist/],
    [join(root, 'missing'), /does not exist/],
    ['missing-0.1.0.tgz', /does not exist/],
    ['../empty', /has no package\.json/],
  ] as const) {
    const dir = join(work, 'agents');
    const run = await initIn(work, [dir, '--scopetrail-spec', spec]);
    assert.equal(run.code, 2, `${spec}: ${run.out}`);
    assert.match(run.err, /invalid --scopetrail-spec "/, spec);
    assert.match(run.err, why, spec);
    assert.equal(existsSync(dir), false, `${spec}: no project is written`);
  }
});

test('a registry range or a URL in --scopetrail-spec is written as given', async () => {
  const { work } = layout();
  for (const [i, spec] of [
    '0.1.0',
    '^0.1.0',
    'scopetrail@0.1.0',
    'npm:scopetrail@^0.1.0',
    'github:owner/scopetrail',
    'git+https://github.com/owner/scopetrail.git',
    'git@github.com:owner/scopetrail.git',
    'https://example.com/scopetrail-0.1.0.tgz',
  ].entries()) {
    const dir = join(work, `agents-${i}`);
    const run = await initIn(work, [dir, '--scopetrail-spec', spec]);
    assert.equal(run.code, 0, `${spec}: ${run.err}`);
    assert.equal(dependency(dir), spec);
  }
});

test('a <dir> that is a file is a usage error naming it, not a file-system error', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'init-file-')), 'a-file');
  writeFileSync(file, 'notes\n');
  const run = await init([file]);
  assert.equal(run.code, 2, run.err);
  assert.match(run.err, /invalid <dir> ".*a-file": it is a file; give a new or empty folder/);
  assert.doesNotMatch(run.err, /ENOTDIR/);
});
