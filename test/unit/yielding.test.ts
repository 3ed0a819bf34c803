/** store/yielding.ts: long CPU work in the main thread lets the event loop in every few milliseconds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { yielder } from '../../store/yielding';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

test('a loop that asks for a turn between steps lets waiting callbacks run while it works', async () => {
  const pause = yielder(5);
  // At which step each callback ran: counted in steps, not milliseconds, so a busy host that
  // preempts the process changes how often the loop yields, never whether it does.
  const ranAt: number[] = [];
  let step = 0;
  const timer = setInterval(() => ranAt.push(step), 1);
  try {
    for (; step < 40; step++) {
      const turn = pause();
      if (turn) await turn;
      spin(1);
    }
  } finally {
    clearInterval(timer);
  }
  const points = [...new Set(ranAt)];
  assert.ok(points.length >= 3, `callbacks ran at steps ${points.join(', ')} of 40: the loop let them in fewer than 3 times`);
  assert.ok(points[0]! < 20 && points.at(-1)! >= 20, `callbacks ran at steps ${points.join(', ')}: not in both halves of the work`);
});

test('between turns it costs nothing: no promise while the interval has not passed', () => {
  const pause = yielder(1_000);
  assert.equal(pause(), undefined);
});
