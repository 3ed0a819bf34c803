/**
 * The rules attribution applies between matching and segmenting: which output a shared
 * text originates from, when a short matching run is a shared phrase, where a piece's
 * edges can extend. Pure.
 */
import { REDACTION_MARKER } from './fingerprint';
import type { AttributionSource, SourceKind } from './attribution';

const MIN_STANDALONE_MATCHES = 2;

/**
 * Copied text matches without a break: every w consecutive shingles of a copy hold a
 * stored fingerprint, so its runs are at most w apart, while two pieces put side by side
 * are at least k apart (the shingles across the seam match nothing). Runs that close form
 * one stretch; inside it, a run shorter than 2(w + k - 1) words that belongs to another
 * output is a phrase both outputs share and takes the label of the nearest long run,
 * unless `isQuote` says one output quotes the other.
 */
export function absorbSharedPhrases(runs: Run[], k: number, w: number, isQuote: (run: Run, host: Run) => boolean): Run[] {
  const minQuoteWords = 2 * (w + k - 1);
  const isLong = (r: Run) => r.last + k - r.first >= minQuoteWords;
  for (let i = 0; i < runs.length; ) {
    // A chain: runs each at most w shingles from the next, i.e. one stretch of copied text.
    let j = i;
    while (j + 1 < runs.length && runs[j + 1]!.first - runs[j]!.last <= w) j++;
    const chain = runs.slice(i, j + 1);
    const anchors = chain.filter(isLong);
    // One lone matching shingle is as likely a common phrase as a quote: not evidence enough.
    if (!anchors.length && chain.reduce((n, r) => n + r.count, 0) < MIN_STANDALONE_MATCHES) {
      for (const r of chain) r.count = 0;
      i = j + 1;
      continue;
    }
    for (const r of chain) {
      if (isLong(r)) continue;
      let host: Run | undefined;
      if (anchors.length) {
        const gap = (a: Run) => (a.first > r.last ? a.first - r.last : r.first - a.last);
        host = anchors.reduce((a, b) => (gap(a) <= gap(b) ? a : b));
      } else {
        const weight = new Map<string, number>();
        for (const c of chain) weight.set(c.label, (weight.get(c.label) ?? 0) + c.count);
        host = chain.reduce((a, b) => ((weight.get(a.label) ?? 0) >= (weight.get(b.label) ?? 0) ? a : b));
      }
      if (host.label !== r.label && !isQuote(r, host)) {
        r.label = host.label;
        // The phrase's positions are another output's; the host's bound the edges.
        r.firstPos = host.firstPos;
        r.lastPos = host.lastPos;
      }
    }
    i = j + 1;
  }
  const merged: Run[] = [];
  for (const r of runs.filter((x) => x.count > 0)) {
    const last = merged.at(-1);
    if (last && last.label === r.label && r.first - last.last <= w) {
      last.last = r.last;
      last.count += r.count;
      last.lastPos = r.lastPos;
    } else merged.push({ ...r });
  }
  return merged;
}

export interface Run {
  label: string;
  /** First and last matched shingle (query positions). */
  first: number;
  last: number;
  count: number;
  /** Source positions of the first and last matched shingle. */
  firstPos: number;
  lastPos: number;
}

/** Earliest producer first; then the deeper scope; then tool and LLM outputs before the agent result built from them. */
export function sourceOrder(sources: readonly AttributionSource[]): (id: string) => number {
  const kindRank: Record<SourceKind, number> = { tool_output: 0, llm_output: 1, agent_output: 2 };
  const sorted = [...sources].sort(
    (a, b) =>
      a.producedAt.localeCompare(b.producedAt) ||
      b.depth - a.depth ||
      kindRank[a.kind] - kindRank[b.kind] ||
      a.sourceId.localeCompare(b.sourceId),
  );
  const order = new Map(sorted.map((s, i) => [s.sourceId, i]));
  return (id) => order.get(id) ?? Infinity;
}

/**
 * How many words from `from` towards `to` (inclusive) come before a paragraph break:
 * texts are put together at paragraph boundaries, so an edge never extends across one.
 */
export function wordsBeforeBreak(text: string, tokens: readonly { start: number; end: number }[], from: number, to: number, step: 1 | -1): number {
  let n = 0;
  for (let x = from; step === 1 ? x <= to : x >= to; x += step) {
    const neighbour = tokens[x - step];
    if (neighbour) {
      const between = step === 1 ? text.slice(neighbour.end, tokens[x]!.start) : text.slice(tokens[x]!.end, neighbour.start);
      if (isBreak(between)) break;
    }
    n++;
  }
  return n;
}

/** A paragraph break or a redaction marker between two words. */
export function isBreak(between: string): boolean {
  return between.includes('\n') || REDACTION_BETWEEN.test(between);
}

/** The marker pattern without the global flag: test() must not carry state between calls. */
const REDACTION_BETWEEN = new RegExp(REDACTION_MARKER.source, 'iu');
