/** The order in which a transaction's statements reach the driver (store/postgres.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serially } from '../../store/postgres';

test('tasks run one at a time in the order given, and a failed one does not stop those after it', async () => {
  const inTurn = serially();
  const log: string[] = [];
  let running = 0;
  const task = (name: string, ms: number, fail = false) =>
    inTurn(async () => {
      running += 1;
      assert.equal(running, 1, `${name} started while another ran`);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      running -= 1;
      if (fail) throw new Error(`${name} failed`);
      return name;
    });
  const a = task('a', 20);
  const b = task('b', 1, true);
  const c = task('c', 5);
  assert.equal(await a, 'a');
  await assert.rejects(b, /b failed/);
  assert.equal(await c, 'c');
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});
