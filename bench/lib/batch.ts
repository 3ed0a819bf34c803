/** Sessions run in batches by the benchmarks that time them. */

export interface Batch {
  latencies: number[];
  seconds: number;
}

/** Runs `count` sessions with at most `concurrency` in flight; returns each one's latency. */
export async function batch(count: number, concurrency: number, runOne: (i: number) => Promise<unknown>): Promise<Batch> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await runOne(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}
