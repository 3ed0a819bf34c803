/**
 * The `spool` option is checked when the worker is configured: a bound, a folder or a key
 * it cannot use is refused naming the field, not found out at the first outage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScopetrailPlugin } from '../../worker/plugin';
import { createWorker } from '../../worker/create-worker';
import type { Store } from '../../store/types';

const store = { upsertManifests: async () => undefined } as unknown as Store;

function refused(spool: unknown, field: string, message: RegExp): void {
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, spool: spool as never }),
    (err: Error & { field?: string }) => {
      assert.equal(err.field, field);
      assert.match(err.message, message);
      return true;
    },
  );
}

test('a spool bound that is not a positive whole number of bytes is refused naming spool.maxBytes', () => {
  refused({ maxBytes: -1 }, 'spool.maxBytes', /ScopetrailPlugin: invalid field "spool\.maxBytes": give the most the spool may hold as a positive number of bytes/);
  refused({ maxBytes: '100MB' }, 'spool.maxBytes', /invalid field "spool\.maxBytes": give the most the spool may hold as a number of bytes .*not a string/);
  refused({ maxBytes: 1.5 }, 'spool.maxBytes', /invalid field "spool\.maxBytes"/);
  refused({ segmentBytes: 0 }, 'spool.segmentBytes', /invalid field "spool\.segmentBytes"/);
  refused({ leaseMs: 'soon' }, 'spool.leaseMs', /invalid field "spool\.leaseMs"/);
  refused('yes', 'spool', /give \{ dir, maxBytes \} or false/);
});

test('a misspelt spool option is named with the one likely meant', () => {
  refused({ maxbytes: 10 }, 'spool.maxbytes', /invalid field "spool\.maxbytes": not a field it takes \(did you mean "maxBytes"\?\); it takes dir, maxBytes/);
  refused({ directory: '/tmp/x' }, 'spool.directory', /invalid field "spool\.directory": not a field it takes/);
});

test('a misspelt deployment option is named with the one likely meant', () => {
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, deployment: { name: 'agents', buildID: 'v2' } as never }),
    (err: Error & { field?: string }) => err.field === 'deployment.buildID' && /did you mean "buildId"\?/.test(err.message),
  );
});

test('a spool folder that is empty, or cannot be made or written, is refused naming spool.dir', () => {
  refused({ dir: '' }, 'spool.dir', /invalid field "spool\.dir": give the folder records wait in/);
  const file = join(mkdtempSync(join(tmpdir(), 'spool-option-')), 'a-file');
  writeFileSync(file, 'not a folder');
  refused({ dir: file }, 'spool.dir', /invalid field "spool\.dir": cannot use .*a-file as the spool's folder \(a file is in the way\)/);
  refused({ dir: join(file, 'below') }, 'spool.dir', /invalid field "spool\.dir": cannot use .*below as the spool's folder \(a file is in the way\)/);
});

test('a spool that can be used, or none, is taken', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'spool-option-')), 'made');
  assert.doesNotThrow(() => new ScopetrailPlugin({ store, fingerprintKey: false, spool: { dir, maxBytes: 1024 * 1024, segmentBytes: 64 * 1024, leaseMs: 5_000 } }));
  assert.doesNotThrow(() => new ScopetrailPlugin({ store, fingerprintKey: false, spool: false }));
});

test('createWorker refuses a bad spool option in its own name, before it connects', async () => {
  await assert.rejects(
    createWorker({ agents: 'agents.ts', taskQueue: 'q', address: '127.0.0.1:1', store, tools: [], fingerprintKey: false, spool: { maxBytes: -1 } }),
    (err: Error & { field?: string }) => err.field === 'spool.maxBytes' && /^createWorker: invalid field "spool\.maxBytes"/.test(err.message),
  );
  await assert.rejects(
    createWorker({ agents: 'agents.ts', taskQueue: 'q', address: '127.0.0.1:1', store, tools: [], fingerprintKey: false, spool: { dir: '/etc/passwd' } }),
    (err: Error & { field?: string }) => err.field === 'spool.dir' && /^createWorker: invalid field "spool\.dir": cannot use \/etc\/passwd/.test(err.message),
  );
});
