/** The model step's view of the tool specs other workers registered (worker/served-tool-specs.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServedToolSpecs } from '../../worker/served-tool-specs';
import type { ServedToolSpec } from '../../store/types';

function fixture(initial: ServedToolSpec[]) {
  const state = { now: 0, reads: 0, specs: initial, fail: false, errors: 0 };
  const specs = new ServedToolSpecs(
    async () => {
      state.reads++;
      if (state.fail) throw new Error('store down');
      return state.specs;
    },
    { now: () => state.now, onError: () => void state.errors++ },
  );
  return { state, specs };
}
const spec = (taskQueue: string, tool: string, description?: string): ServedToolSpec => ({ taskQueue, tool, ...(description ? { description } : {}), inputSchema: { type: 'object', title: `${tool}@${taskQueue}` } });

test('a miss reads the store again at most every 30 s; a hit does not wait for a read', async () => {
  const { state, specs } = fixture([]);
  assert.equal(await specs.find('forecast', {}), undefined);
  assert.equal(state.reads, 1);
  state.specs = [spec('q1', 'forecast', 'the weather')];
  state.now = 29_999;
  assert.equal(await specs.find('forecast', {}), undefined, 'not read again within 30 s');
  assert.equal(state.reads, 1);
  state.now = 30_000;
  assert.deepEqual(await specs.find('forecast', {}), { description: 'the weather', inputSchema: { type: 'object', title: 'forecast@q1' } });
  assert.equal(state.reads, 2);
  assert.ok(await specs.find('forecast', {}));
  assert.equal(state.reads, 2, 'a fresh hit reads nothing');
  // A stale hit answers from the snapshot and reads behind it: a changed spec is seen next.
  state.specs = [spec('q1', 'forecast', 'the weather, by day')];
  state.now = 60_000;
  assert.equal((await specs.find('forecast', {}))?.description, 'the weather');
  await new Promise((r) => setImmediate(r));
  assert.equal(state.reads, 3);
  assert.equal((await specs.find('forecast', {}))?.description, 'the weather, by day');
});

test('a named queue takes its own spec only; without one, the preferred queue\'s, else the latest', async () => {
  const { specs } = fixture([spec('q2', 'forecast'), spec('q1', 'forecast')]);
  assert.equal((await specs.find('forecast', { taskQueue: 'q1' }))?.inputSchema.title, 'forecast@q1');
  assert.equal(await specs.find('forecast', { taskQueue: 'q3' }), undefined);
  assert.equal((await specs.find('forecast', { preferQueue: 'q1' }))?.inputSchema.title, 'forecast@q1');
  assert.equal((await specs.find('forecast', { preferQueue: 'q3' }))?.inputSchema.title, 'forecast@q2');
});

test('a failed read is said and waits its turn like any other', async () => {
  const { state, specs } = fixture([spec('q1', 'forecast')]);
  state.fail = true;
  assert.equal(await specs.find('forecast', {}), undefined);
  assert.equal(await specs.find('forecast', {}), undefined);
  assert.equal(state.reads, 1);
  assert.equal(state.errors, 1);
  state.fail = false;
  state.now = 30_000;
  assert.ok(await specs.find('forecast', {}));
});
