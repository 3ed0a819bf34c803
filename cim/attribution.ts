/**
 * Attribution: which recorded output each part of a text came from, given only the
 * outputs' winnowed fingerprints. Pure; the caller hashes the query with the same key
 * and looks its shingle hashes up in the store.
 *
 * Every shingle of the query is looked up (not only the query's winnowed ones): a run of
 * w + k - 1 shared words then matches at least once in every w consecutive shingles,
 * so matched shingles tile a copied run except for at most w - 1 words at each edge.
 */
import { absorbSharedPhrases, isBreak, sourceOrder, wordsBeforeBreak, type Run } from './attribution-rules';
import { DEFAULT_FINGERPRINT_PARAMS, redactionMarkers, shingleHashes, tokenize, winnow, type FingerprintParams, type ShingleHash } from './fingerprint';

export type SourceKind = 'agent_output' | 'llm_output' | 'tool_output';

/** One recorded output (an agent's result or a tool's output) of the session. */
export interface AttributionSource {
  sourceId: string;
  scopeId: string;
  agent: string;
  kind: SourceKind;
  /** When the output was produced (ISO); the earliest producer of shared text is its origin. */
  producedAt: string;
  /** Scope depth: between equally early producers the deeper one originated the text. */
  depth: number;
  /** Words in the output, bounding how far a segment can extend past its last fingerprint. */
  words: number;
}

export interface StoredFingerprint {
  sourceId: string;
  hash: string;
  position: number;
}

export interface AttributedSegment {
  index: number;
  /** Character range in the query text, end exclusive. */
  start: number;
  end: number;
  words: number;
  /** null: no recorded output contains this text (or it is too short to tell). */
  scopeId: string | null;
  agent: string | null;
  /** Kinds of the outputs the segment matched, originating first. */
  kinds: SourceKind[];
  /** Share of the query's own winnowed fingerprints inside the segment found in the scope's outputs; null when it has none. */
  confidence: number | null;
  /** Other scopes whose outputs contain the same text verbatim (e.g. an orchestrator quoting its sub-agent). */
  alsoIn: Array<{ scopeId: string; agent: string }>;
  /** Redaction markers inside the segment's range. */
  redactions: number;
}

export interface AttributionResult {
  words: number;
  segments: AttributedSegment[];
  /** Share of the query's words attributed to some scope. */
  attributedShare: number;
}

export function attributeText(
  text: string,
  hash: ShingleHash,
  sources: readonly AttributionSource[],
  stored: readonly StoredFingerprint[],
  params: FingerprintParams = DEFAULT_FINGERPRINT_PARAMS,
): AttributionResult {
  const { k, w } = params;
  const tokens = tokenize(text);
  const hashes = shingleHashes(tokens, hash, k);
  const byId = new Map(sources.map((s) => [s.sourceId, s]));
  const rank = sourceOrder(sources);
  const byHash = new Map<string, Map<string, number>>();
  for (const f of stored) {
    if (!byId.has(f.sourceId)) continue;
    const at = byHash.get(f.hash) ?? new Map<string, number>();
    at.set(f.sourceId, Math.min(at.get(f.sourceId) ?? Infinity, f.position));
    byHash.set(f.hash, at);
  }
  const candidates = hashes.map((h) => byHash.get(h));

  // 1. Each matched shingle goes to its originating source; consecutive ones form runs.
  const runs: Run[] = [];
  for (let i = 0; i < hashes.length; i++) {
    const c = candidates[i];
    if (!c) continue;
    const label = [...c.keys()].reduce((a, b) => (rank(a) <= rank(b) ? a : b));
    const run = runs.at(-1);
    if (run && run.label === label && i - run.last <= w) {
      run.last = i;
      run.count += 1;
      run.lastPos = c.get(label)!;
    } else {
      runs.push({ label, first: i, last: i, count: 1, firstPos: c.get(label)!, lastPos: c.get(label)! });
    }
  }
  // 2. Shared phrases (see absorbSharedPhrases). `source` holds the text of `run` when it
  // matches at least half of the run's positions.
  const holds = (source: string, run: Run) => {
    let all = 0;
    let held = 0;
    for (let i = run.first; i <= run.last; i++) {
      if (!candidates[i]) continue;
      all += 1;
      if (candidates[i]!.has(source)) held += 1;
    }
    return held * 2 >= all;
  };
  // A short run is not a shared phrase but a quote's edge when one output quotes the
  // other: either the run's source wrote the seam around a quote of the host (it holds the
  // host's text), or the host quotes the run's source, which produced it earlier, and the
  // run is longer than boilerplate usually is (2w + k words).
  const isQuote = (run: Run, host: Run) =>
    holds(run.label, host) ||
    (run.last + k - run.first >= 2 * w + k && rank(run.label) < rank(host.label) && holds(host.label, run));
  const kept = absorbSharedPhrases(runs, k, w, isQuote);

  // 3. Words covered by a run; where runs overlap, the originating source wins.
  const label: (string | null)[] = new Array(tokens.length).fill(null);
  for (const r of kept) {
    for (let j = r.first; j <= r.last + k - 1; j++) {
      const cur = label[j];
      if (cur === null || cur === undefined || rank(r.label) < rank(cur)) label[j] = r.label;
    }
  }

  // 3b. A quote's first and last few words are covered only by the quoting output's
  // shingles across the seam; the quoted output's own positions say how many are its.
  for (const r of kept) {
    const src = byId.get(r.label)!;
    const tail = Math.min(w - 1, Math.max(0, src.words - r.lastPos - k));
    const end = r.last + k - 1;
    for (let x = 1; x <= Math.min(tail, wordsBeforeBreak(text, tokens, end + 1, tokens.length - 1, 1)); x++) {
      const cur = label[end + x];
      if (cur !== null && cur !== undefined && rank(r.label) < rank(cur)) label[end + x] = r.label;
    }
    const head = Math.min(w - 1, r.firstPos);
    for (let x = 1; x <= Math.min(head, wordsBeforeBreak(text, tokens, r.first - 1, 0, -1)); x++) {
      const cur = label[r.first - x];
      if (cur !== null && cur !== undefined && rank(r.label) < rank(cur)) label[r.first - x] = r.label;
    }
  }

  // 4. Uncovered words: short gaps inside one scope's text are redactions or deletions;
  // at a run's edge up to w - 1 words may belong to it (fewer if its output ends there).
  const scopeOf = (id: string | null) => (id === null ? null : byId.get(id)!.scopeId);
  const runAtWordEnd = new Map(kept.map((r) => [r.last + k - 1, r]));
  const runAtWordStart = new Map(kept.map((r) => [r.first, r]));
  for (let j = 0; j < tokens.length; ) {
    if (label[j] !== null) {
      j++;
      continue;
    }
    let e = j;
    while (e + 1 < tokens.length && label[e + 1] === null) e++;
    const left = j > 0 ? label[j - 1]! : null;
    const right = e + 1 < tokens.length ? label[e + 1]! : null;
    const len = e - j + 1;
    if (left !== null && right !== null && scopeOf(left) === scopeOf(right) && len <= 2 * (w - 1)) {
      for (let x = j; x <= e; x++) label[x] = left;
    } else {
      const leftRun = runAtWordEnd.get(j - 1);
      const rightRun = runAtWordStart.get(e + 1);
      // Beyond its last fingerprint a run may own w - 1 more words; up to a paragraph break,
      // also a fragment cut off by a deletion that was too short (under w + k - 1 words)
      // to carry a fingerprint of its own.
      // (The text's start and end count as breaks.)
      const reach = (toBreak: number, breakAtFarEnd: boolean, bound: number) =>
        Math.min(bound, (toBreak < len || breakAtFarEnd) && toBreak <= 2 * w + k - 3 ? toBreak : Math.min(w - 1, toBreak));
      const breakBefore = j === 0 || isBreak(text.slice(tokens[j - 1]!.end, tokens[j]!.start));
      const breakAfter = e === tokens.length - 1 || isBreak(text.slice(tokens[e]!.end, tokens[e + 1]!.start));
      const leftBound = leftRun ? Math.max(0, byId.get(left!)!.words - leftRun.lastPos - k) : w - 1;
      let extL = left === null ? 0 : reach(wordsBeforeBreak(text, tokens, j, e, 1), breakAfter, leftBound);
      let extR = right === null ? 0 : reach(wordsBeforeBreak(text, tokens, e, j, -1), breakBefore, rightRun ? rightRun.firstPos : w - 1);
      if (extL + extR > len) {
        // Both sides reach into the middle: split it, each side keeping at least its half.
        const half = Math.ceil(len / 2);
        if (extL < half) extR = len - extL;
        else if (extR < len - half) extL = len - extR;
        else [extL, extR] = [half, len - half];
      }
      for (let x = 0; x < extL; x++) label[j + x] = left;
      for (let x = 0; x < extR; x++) label[e - x] = right;
    }
    j = e + 1;
  }

  // 5. Segments: maximal runs of words attributed to one scope.
  const queryFps = new Set(winnow(hashes, w).map((f) => f.position));
  const markers = redactionMarkers(text);
  const segments: AttributedSegment[] = [];
  for (let j = 0; j < tokens.length; ) {
    const scope = scopeOf(label[j]!);
    let e = j;
    while (e + 1 < tokens.length && scopeOf(label[e + 1]!) === scope) e++;
    const start = tokens[j]!.start;
    const end = tokens[e]!.end;
    const own = new Set(sources.filter((s) => s.scopeId === scope).map((s) => s.sourceId));
    let inside = 0;
    let matched = 0;
    const kinds = new Map<SourceKind, number>();
    const others = new Map<string, number>();
    let positions = 0;
    for (let i = j; i + k - 1 <= e; i++) {
      const c = candidates[i];
      const mine = c ? [...c.keys()].filter((id) => own.has(id)) : [];
      if (queryFps.has(i)) {
        inside += 1;
        if (mine.length) matched += 1;
      }
      if (!mine.length) continue;
      positions += 1;
      const origin = mine.reduce((a, b) => (rank(a) <= rank(b) ? a : b));
      kinds.set(byId.get(origin)!.kind, (kinds.get(byId.get(origin)!.kind) ?? 0) + 1);
      for (const id of new Set([...c!.keys()].map((x) => byId.get(x)!.scopeId))) {
        if (id !== scope) others.set(id, (others.get(id) ?? 0) + 1);
      }
    }
    const src = scope === null ? undefined : sources.find((s) => s.scopeId === scope);
    segments.push({
      index: segments.length + 1,
      start,
      end,
      words: e - j + 1,
      scopeId: scope,
      agent: src?.agent ?? null,
      kinds: [...kinds.entries()].sort((a, b) => b[1] - a[1]).map(([kind]) => kind),
      confidence: scope === null || inside === 0 ? null : matched / inside,
      alsoIn: [...others.entries()]
        .filter(([, n]) => n * 2 >= positions)
        .map(([id]) => ({ scopeId: id, agent: sources.find((s) => s.scopeId === id)!.agent }))
        .sort((a, b) => a.scopeId.localeCompare(b.scopeId)),
      redactions: markers.filter((m) => m.start >= start && m.end <= end).length,
    });
    j = e + 1;
  }
  const attributed = label.filter((l) => l !== null).length;
  return { words: tokens.length, segments, attributedShare: tokens.length ? attributed / tokens.length : 0 };
}
