/**
 * A query of a store no worker has prepared is `no_store` in its --json error document, not
 * `not_found`, which docs/cli-json.md keeps for unknown session and scope ids: a script told
 * `not_found` would look for a mistyped id when the mistyped thing is the store's option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, runCli } from '../../client/cli';

test('roles, sessions and tree of a --data-dir with no store: exit 1, kind no_store, the option to check named', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'cli-no-store-')), 'nothing-here');
  for (const args of [['roles'], ['sessions'], ['tree', 'ses-1']]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli([...args, '--data-dir', dir, '--json'], { log: (t) => out.push(t), err: (t) => err.push(t) });
    assert.equal(code, EXIT.failure, `${args[0]}: ${err.join('\n')}`);
    const { error } = JSON.parse(out.join('\n'));
    assert.deepEqual([error.command, error.exitCode, error.kind], [args[0], 1, 'no_store']);
    assert.match(error.message, /^no embedded store at .*nothing-here: give --data-dir of the one your workers use/);
  }
});

test('docs/cli-json.md lists no_store among the error kinds', async () => {
  const { readFileSync } = await import('node:fs');
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'cli-json.md'), 'utf8');
  assert.match(doc, /`no_store` \(exit 1: the store the options name is one no worker has prepared/);
});

test('with --json an error is the document on stdout and the same sentence, once, on stderr (docs/cli-json.md "Errors")', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'cli-no-store-')), 'nothing-here');
  for (const args of [['roles', '--data-dir', dir], ['sessions', '--address', 'notanaddress'], ['tree', 'S1', '--colour']]) {
    const out: string[] = [];
    const err: string[] = [];
    await runCli([...args, '--json'], { log: (t) => out.push(t), err: (t) => err.push(t) });
    const { error } = JSON.parse(out.join('\n'));
    assert.deepEqual(err, [`scopetrail ${error.command}: ${error.message}`], args.join(' '));
  }
});
