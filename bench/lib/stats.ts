/** Summaries of repeated measurements: medians and spreads, never a single run. */

export interface Summary {
  n: number;
  median: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
  /** (max - min) / median: how far apart the repeats were. */
  spread: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // Nearest-rank: the smallest value with at least p% of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const median = percentile(sorted, 50);
  const min = sorted[0] ?? Number.NaN;
  const max = sorted.at(-1) ?? Number.NaN;
  return {
    n: sorted.length,
    median,
    p50: median,
    p95: percentile(sorted, 95),
    min,
    max,
    spread: median === 0 ? 0 : (max - min) / median,
  };
}

export function median(values: readonly number[]): number {
  return summarize(values).median;
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Alternates the order of variants each round so drift in the machine hits them evenly. */
export function roundOrder<T>(variants: readonly T[], round: number): T[] {
  const shift = round % variants.length;
  const rotated = [...variants.slice(shift), ...variants.slice(0, shift)];
  return round % 2 === 1 ? rotated.reverse() : rotated;
}
