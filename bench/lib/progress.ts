/** A one-line progress report on stderr (redrawn on a terminal, a line every few seconds otherwise). */
export function progressLine(label: string): ((done: number, total: number) => void) & { done(): void } {
  const started = Date.now();
  let last = 0;
  const tty = process.stderr.isTTY;
  const render = (done: number, total: number) => {
    const s = (Date.now() - started) / 1000;
    const rate = done / Math.max(s, 0.001);
    const eta = rate > 0 ? (total - done) / rate : 0;
    return `${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${Math.min(100, (100 * done) / total).toFixed(0)}%) ${Math.round(rate).toLocaleString('en-US')}/s, ${s.toFixed(0)} s elapsed, ETA ${eta.toFixed(0)} s`;
  };
  const fn = ((done: number, total: number) => {
    const now = Date.now();
    if (tty) {
      if (now - last < 200) return;
      process.stderr.write(`\r${render(done, total)}\u001b[K`);
    } else {
      if (now - last < 5_000) return;
      process.stderr.write(`${render(done, total)}\n`);
    }
    last = now;
  }) as ((done: number, total: number) => void) & { done(): void };
  fn.done = () => {
    if (tty) process.stderr.write('\n');
  };
  return fn;
}
