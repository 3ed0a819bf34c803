import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Recorder } from '../../worker/recorder';
import type { Store } from '../../store/types';
import type { ActionRecord } from '../../cim/schemas';
import { action } from './fixtures';

function fakeStore(failures = 0) {
  const batches: ActionRecord[][] = [];
  let failing = failures;
  const store = {
    upsertScopes: async () => undefined,
    upsertPayloads: async () => undefined,
    upsertActions: async (rows: ActionRecord[]) => {
      if (failing-- > 0) throw new Error('connection refused');
      batches.push([...rows]);
    },
  } as unknown as Store;
  return { store, batches };
}

test('concurrent writes are committed together in one batch and each writer is released', async () => {
  const { store, batches } = fakeStore();
  const recorder = new Recorder(store, { lingerMs: 5 });
  await Promise.all(Array.from({ length: 20 }, (_, i) => recorder.write({ actions: [action(`a${i}`, 's')] })));
  assert.equal(batches.length, 1);
  assert.equal(batches[0]!.length, 20);
  assert.equal(recorder.written, 20);
});

test('a failing store is retried and the writer waits until its records are committed', async () => {
  const { store, batches } = fakeStore(2);
  const errors: number[] = [];
  const recorder = new Recorder(store, { lingerMs: 1, onError: (_e, attempt) => errors.push(attempt) });
  await recorder.write({ actions: [action('a', 's')] });
  assert.deepEqual(errors, [1, 2]);
  assert.equal(batches.length, 1);
});

test('when the store stays down past the retry budget the writer is told', async () => {
  const { store } = fakeStore(1000);
  const recorder = new Recorder(store, { lingerMs: 1, retryForMs: 50, onError: () => undefined });
  await assert.rejects(recorder.write({ actions: [action('a', 's')] }), /connection refused/);
});

test('drain waits for everything written so far', async () => {
  const { store, batches } = fakeStore();
  const recorder = new Recorder(store, { lingerMs: 20 });
  void recorder.write({ actions: [action('a', 's')] });
  void recorder.write({ actions: [action('b', 's')] });
  await recorder.drain();
  assert.equal(batches.flat().length, 2);
});
