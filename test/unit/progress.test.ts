/** The progress report: redrawn on a terminal, a line every few seconds elsewhere, never on stdout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progress, renderProgress, renderSummary, working } from '../../client/progress';

function fakeStream(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (t: string) => writes.push(t) } };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('on a terminal the bar is redrawn in place, at most once per redraw interval, with count, rate and ETA', () => {
  const { writes, stream } = fakeStream(true);
  const c = clock();
  const p = progress({ label: 'loading', total: 1000, stream, now: c.now, redrawEveryMs: 100 });
  p.tick(10);
  assert.equal(writes.length, 0, 'nothing before the first interval');
  c.advance(1000);
  p.tick(240);
  assert.equal(writes.length, 1);
  assert.equal(writes[0], '\r\u001b[2Kloading [██████░░░░░░░░░░░░░░░░░░] 250/1,000 25% · 250/s · ETA 3.0 s');
  c.advance(50);
  p.tick(10);
  assert.equal(writes.length, 1, 'no redraw within 100 ms');
  c.advance(50);
  p.tick(0);
  assert.equal(writes.length, 2);
  assert.ok(writes.every((w) => w.startsWith('\r') && !w.includes('\n')), 'redraws never add lines');
  c.advance(900);
  p.set(1000);
  p.done();
  assert.equal(writes.at(-1), '\r\u001b[2Kloading: 1,000 in 2.0 s (500/s)\n');
  p.tick(5);
  assert.equal(writes.length, 4, 'nothing after done()');
});

test('on a terminal the line is cut to the width, and done({ clear }) erases it', () => {
  const { writes, stream } = fakeStream(true, 20);
  const c = clock();
  const p = progress({ label: 'reading Temporal histories', total: 10, stream, now: c.now });
  c.advance(200);
  p.set(3);
  assert.equal(writes[0], `\r\u001b[2K${'reading Temporal histories'.slice(0, 19)}`);
  p.done({ clear: true });
  assert.deepEqual(writes.slice(1), ['\r\u001b[2K']);
});

test('elsewhere a plain line every few seconds, a summary at the end, and no control characters', () => {
  const { writes, stream } = fakeStream(false);
  const c = clock();
  const p = progress({ label: 'inserting', total: 20_000, stream, now: c.now, lineEveryMs: 5_000 });
  for (let i = 0; i < 40; i++) {
    c.advance(250);
    p.tick(250);
  }
  // 10 s at 1,000/s: lines at 5 s and 10 s only.
  assert.deepEqual(writes, [
    'inserting 5,000/20,000 25% · 1,000/s · ETA 15 s\n',
    'inserting 10,000/20,000 50% · 1,000/s · ETA 10 s\n',
  ]);
  p.done();
  assert.equal(writes.at(-1), 'inserting: 10,000 of 20,000 in 10 s (1,000/s)\n');
  assert.ok(writes.every((w) => !/[\r\u001b]/.test(w)));
});

test('a short operation off a terminal that clears its report writes nothing at all', () => {
  const { writes, stream } = fakeStream(false);
  const c = clock();
  const p = progress({ label: 'reading', stream, now: c.now });
  c.advance(300);
  p.set(7);
  p.done({ clear: true });
  assert.deepEqual(writes, []);
});

test('without a total the report has a count, a rate and the elapsed time', () => {
  assert.equal(renderProgress({ label: 'histories', done: 42, elapsedMs: 2_000 }, { bar: true }), 'histories 42 · 21/s · 2.0 s');
  assert.equal(renderProgress({ label: 'x', done: 0, total: 5, elapsedMs: 0 }, { bar: false }), 'x 0/5 0% · 0/s · ETA ?');
  assert.equal(renderProgress({ label: 'x', done: 7, total: 5, elapsedMs: 1000 }, { bar: false }), 'x 7/5 100% · 7/s · 1.0 s', 'over the estimate');
  assert.equal(renderSummary({ label: 'gen', done: 3_600_000, elapsedMs: 3_600_000 * 2 }), 'gen: 3,600,000 in 2 h 0 min (500/s)');
});

test('working: one step without a count shows how long it has taken, and nothing if it ends at once', async () => {
  const writes: string[] = [];
  const quick = working({ label: 'recounting', stream: { isTTY: true, write: (t: string) => writes.push(t) }, redrawEveryMs: 50 });
  quick.done();
  assert.equal(writes.length, 0, 'a step that ends within the first interval writes nothing');

  const tty = working({ label: 'recounting', stream: { isTTY: true, write: (t: string) => writes.push(t) }, redrawEveryMs: 20 });
  await new Promise((r) => setTimeout(r, 70));
  tty.done();
  assert.ok(writes.length >= 2, writes.join('|'));
  assert.match(writes[0]!, /^\r\u001b\[2Krecounting… \d/);
  assert.equal(writes.at(-1), '\r\u001b[2K', 'the line is erased when done');

  const lines: string[] = [];
  const plain = working({ label: 'recounting', stream: { write: (t: string) => lines.push(t) }, lineEveryMs: 20 });
  await new Promise((r) => setTimeout(r, 50));
  plain.done();
  const count = lines.length;
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(count >= 1 && lines.every((l) => /^recounting… .*\n$/.test(l)), lines.join('|'));
  assert.equal(lines.length, count, 'nothing is written after done');
});
