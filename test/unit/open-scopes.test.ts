import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenScopes } from '../../worker/open-scopes';
import { Recorder } from '../../worker/recorder';
import type { ScopeKey, Store } from '../../store/types';
import { action, scope } from './fixtures';

test('a scope is open from its running record until any other status, and the oldest is dropped past the bound', () => {
  const open = new OpenScopes(2);
  open.apply([{ namespace: 'ns', scopeId: 'a', status: 'running' }, { namespace: 'ns', scopeId: 'b', status: 'running' }]);
  assert.equal(open.has('ns', 'a'), true);
  assert.equal(open.has('other', 'a'), false, 'namespaces are apart');
  open.apply([{ namespace: 'ns', scopeId: 'a', status: 'running' }, { namespace: 'ns', scopeId: 'b', status: 'degraded' }]);
  assert.equal(open.has('ns', 'b'), false);
  open.apply([{ namespace: 'ns', scopeId: 'c', status: 'running' }, { namespace: 'ns', scopeId: 'd', status: 'running' }]);
  assert.equal(open.size, 2);
  assert.equal(open.has('ns', 'a'), false, 'the oldest open scope made room');
  assert.deepEqual([open.has('ns', 'c'), open.has('ns', 'd')], [true, true]);
});

/** A store that records which scopes each sealer pass was asked to seal. */
function sealingStore() {
  const passes: string[][] = [];
  const store = {
    writeBatch: async () => ({ xid: null }),
    sealScopes: async (keys: readonly ScopeKey[]) => {
      passes.push(keys.map((k) => k.scopeId).sort());
    },
  } as unknown as Store;
  return { store, passes };
}

test('finished actions of a scope the recorder saw start queue no sealing pass; its end does, and so do actions of scopes it never saw start', async () => {
  const { store, passes } = sealingStore();
  const recorder = new Recorder(store, { lingerMs: 1, sealer: { lingerMs: 1 } });
  await recorder.write({ scopes: [scope('live', { status: 'running', endedAt: null })] });
  await recorder.write({ actions: [action('a1', 'live'), action('a2', 'live', { status: 'error', error: 'boom' })] });
  await recorder.drain();
  assert.deepEqual(passes, [], 'a running scope is not handed to the sealer for its actions');

  await recorder.write({ actions: [action('b1', 'elsewhere')] });
  await recorder.drain();
  assert.deepEqual(passes, [['elsewhere']], 'a scope this recorder never saw start is queued, as its end may be stored already');

  await recorder.write({ scopes: [scope('live')], actions: [action('a3', 'live')] });
  await recorder.drain();
  assert.deepEqual(passes.at(-1), ['live'], 'its end queues it');

  await recorder.write({ actions: [action('a4', 'live')] });
  await recorder.drain();
  assert.deepEqual(passes.at(-1), ['live'], 'a late action after the end queues it again (a no-op once sealed)');
  recorder.stop();
});
