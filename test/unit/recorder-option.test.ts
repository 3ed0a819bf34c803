/**
 * The plugin's `recorder` option, and its `sealer`, are checked as `spool` is: a misspelt key
 * would leave its default in place unseen, and a bound that is not a number never applies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScopetrailPlugin } from '../../worker/plugin';
import { createWorker } from '../../worker/create-worker';
import type { Store } from '../../store/types';

const store = { upsertManifests: async () => undefined } as unknown as Store;

function refused(recorder: unknown, field: string, message: RegExp): void {
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, spool: false, recorder: recorder as never }),
    (err: Error & { field?: string }) => {
      assert.equal(err.field, field);
      assert.match(err.message, message);
      return true;
    },
  );
}

test('a misspelt recorder option is named with its full path and the one likely meant', () => {
  refused({ maxbatch: 50 }, 'recorder.maxbatch', /ScopetrailPlugin: invalid field "recorder\.maxbatch": not a field it takes \(did you mean "maxBatch"\?\); it takes lingerMs, maxBatch/);
  refused({ batchSize: 50 }, 'recorder.batchSize', /invalid field "recorder\.batchSize": not a field it takes; it takes lingerMs, maxBatch/);
  refused({ onCommited: () => undefined }, 'recorder.onCommited', /did you mean "onCommitted"\?/);
});

test('a misspelt sealer option is named as recorder.sealer.<key>', () => {
  refused({ sealer: { maxbatch: 4 } }, 'recorder.sealer.maxbatch', /invalid field "recorder\.sealer\.maxbatch": not a field it takes \(did you mean "maxBatch"\?\); it takes lingerMs/);
  refused({ lingerMs: 2, sealer: { sweepEvery: 1_000 } }, 'recorder.sealer.sweepEvery', /did you mean "sweepEveryMs"\?/);
  // The recorder sends a refused seal to its own onAlert: a sealer's onRefused would never be called.
  refused({ sealer: { onRefused: () => undefined } }, 'recorder.sealer.onRefused', /invalid field "recorder\.sealer\.onRefused": not a field it takes/);
});

test('a recorder or sealer value of the wrong type or sign is refused naming the field', () => {
  refused({ maxBatch: -1 }, 'recorder.maxBatch', /invalid field "recorder\.maxBatch": give the number of waiting records that flushes at once as a whole number, 1 or more/);
  refused({ maxBatch: '50' }, 'recorder.maxBatch', /invalid field "recorder\.maxBatch": .*not a string/);
  refused({ lingerMs: -5 }, 'recorder.lingerMs', /invalid field "recorder\.lingerMs": .*0 or more/);
  refused({ drainEveryMs: 0 }, 'recorder.drainEveryMs', /invalid field "recorder\.drainEveryMs"/);
  refused({ onError: 'log' }, 'recorder.onError', /invalid field "recorder\.onError": give what is told of a failed store write as a function/);
  refused({ sealer: { maxBatch: -1 } }, 'recorder.sealer.maxBatch', /invalid field "recorder\.sealer\.maxBatch": give the most scopes sealed in one transaction as a whole number, 1 or more/);
  refused({ sealer: { maxDelayMs: '5s' } }, 'recorder.sealer.maxDelayMs', /invalid field "recorder\.sealer\.maxDelayMs": .*not a string/);
  refused({ sealer: 'fast' }, 'recorder.sealer', /invalid field "recorder\.sealer": give the sealer options as an object/);
  refused(500, 'recorder', /invalid field "recorder": give the recorder options as an object/);
});

test('recorder options that can be used are taken', () => {
  assert.doesNotThrow(
    () =>
      new ScopetrailPlugin({
        store,
        fingerprintKey: false,
        spool: false,
        recorder: { lingerMs: 0, maxBatch: 100, retryForMs: 1_000, drainEveryMs: 250, onError: () => undefined, onAlert: () => undefined, onCommitted: () => undefined, sealer: { maxBatch: 4, lingerMs: 1, maxHeldRecords: 0 } },
      }),
  );
  assert.doesNotThrow(() => new ScopetrailPlugin({ store, fingerprintKey: false, spool: false, recorder: {} }));
});

test('createWorker refuses a bad recorder option in its own name, before it connects', async () => {
  await assert.rejects(
    createWorker({ agents: 'agents.ts', taskQueue: 'q', address: '127.0.0.1:1', store, tools: [], fingerprintKey: false, recorder: { sealer: { maxBatchSize: 4 } } as never }),
    (err: Error & { field?: string }) => err.field === 'recorder.sealer.maxBatchSize' && /^createWorker: invalid field "recorder\.sealer\.maxBatchSize"/.test(err.message),
  );
});
