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
  const ran: number[] = [];
  const started = performance.now();
  const timer = setInterval(() => ran.push(performance.now() - started), 1);
  try {
    for (let step = 0; step < 40; step++) {
      const turn = pause();
      if (turn) await turn;
      spin(1);
    }
  } finally {
    clearInterval(timer);
  }
  assert.ok(ran.length >= 3, `the interval ran ${ran.length} times during 40 ms of work`);
  const gaps = ran.slice(1).map((t, i) => t - ran[i]!);
  assert.ok(Math.max(...gaps) < 25, `longest gap between turns: ${Math.max(...gaps).toFixed(1)} ms`);
});

test('between turns it costs nothing: no promise while the interval has not passed', () => {
  const pause = yielder(1_000);
  assert.equal(pause(), undefined);
});
