/**
 * Text fingerprints for output provenance: normalisation, word k-gram shingles and
 * winnowing (Schleimer, Wilkerson, Aiken, SIGMOD 2003). Pure: the keyed hash is a
 * parameter, so this module needs no node:crypto and stays out of the workflow bundle
 * (the worker supplies HMAC-SHA256 under the deployment key, see worker/fingerprint-key.ts).
 *
 * Guarantee (winnowing): with k-word shingles and windows of w shingles, any run of at
 * least w + k - 1 words shared by two texts yields at least one fingerprint in common.
 */
export interface FingerprintParams {
  /** Words per shingle. */
  k: number;
  /** Shingles per winnowing window. */
  w: number;
}

/** 8-word guarantee threshold; ~2/(w+1) = 40% of shingles are kept. */
export const DEFAULT_FINGERPRINT_PARAMS: FingerprintParams = { k: 5, w: 4 };

/** A hash of one shingle: fixed-width lowercase hex, so string order is numeric order. */
export type ShingleHash = (shingle: string) => string;

export interface Token {
  /** The normalised word. */
  word: string;
  /** Character range in the original text (UTF-16 units, end exclusive). */
  start: number;
  end: number;
}

export interface Fingerprint {
  hash: string;
  /** Index of the shingle's first word in the text's normalised word sequence. */
  position: number;
}

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const ASCII = /^[\x00-\x7f]*$/;

/**
 * Markers that stand for removed text. Their own words ("redacted") are not part of
 * anyone's output, so they are left out of the word sequence.
 */
export const REDACTION_MARKER =
  /\[\s*(?:redacted|removed|omitted|withheld|censored|deleted|snip|\.\.\.|…)[^\]\n]{0,60}\]|<\s*redacted[^>\n]{0,60}>|\{\{\s*redacted[^}\n]{0,60}\}\}|[█▇■]+|\*{3,}|X{5,}/giu;

export function redactionMarkers(text: string): Array<{ start: number; end: number }> {
  return [...text.matchAll(REDACTION_MARKER)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
}

/**
 * Words of `text` after Unicode NFKC folding and lower-casing; punctuation and
 * whitespace only separate words. Each word keeps the range it came from.
 */
export function tokenize(text: string): Token[] {
  const markers = redactionMarkers(text);
  const tokens: Token[] = [];
  let m = 0;
  for (const match of text.matchAll(WORD)) {
    const start = match.index;
    const end = start + match[0].length;
    while (m < markers.length && markers[m]!.end <= start) m++;
    if (m < markers.length && markers[m]!.start < end) continue;
    // An ASCII word is its own NFKC form and one word after lower-casing; most output is
    // ASCII, and the general path costs a normalisation and a regex pass per word.
    if (ASCII.test(match[0])) {
      tokens.push({ word: match[0].toLowerCase(), start, end });
      continue;
    }
    // Compatibility characters may fold into several words (e.g. "¼" → "1⁄4").
    for (const part of match[0].normalize('NFKC').toLowerCase().matchAll(WORD)) {
      tokens.push({ word: part[0], start, end });
    }
  }
  return tokens;
}

/** The normalised form the fingerprints see: words joined by single spaces. */
export function normalizeText(text: string): string {
  return tokenize(text)
    .map((t) => t.word)
    .join(' ');
}

/** Hash of every k-word shingle, by position; none when the text has fewer than k words. */
export function shingleHashes(tokens: readonly Token[], hash: ShingleHash, k: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + k <= tokens.length; i++) {
    let shingle = tokens[i]!.word;
    for (let j = 1; j < k; j++) shingle += ` ${tokens[i + j]!.word}`;
    out.push(hash(shingle));
  }
  return out;
}

/**
 * Robust winnowing: in every window of w consecutive hashes keep the smallest (the
 * rightmost on ties), each selected position once. A text shorter than one window
 * keeps its smallest hash.
 */
export function winnow(hashes: readonly string[], w: number): Fingerprint[] {
  const picked: Fingerprint[] = [];
  if (hashes.length === 0) return picked;
  const windows = Math.max(1, hashes.length - w + 1);
  const width = Math.min(w, hashes.length);
  let last = -1;
  for (let start = 0; start < windows; start++) {
    let min = start;
    for (let i = start + 1; i < start + width; i++) if (hashes[i]! <= hashes[min]!) min = i;
    if (min !== last) {
      picked.push({ hash: hashes[min]!, position: min });
      last = min;
    }
  }
  return picked;
}

export function fingerprintText(
  text: string,
  hash: ShingleHash,
  params: FingerprintParams = DEFAULT_FINGERPRINT_PARAMS,
): { fingerprints: Fingerprint[]; words: number } {
  const tokens = tokenize(text);
  return { fingerprints: winnow(shingleHashes(tokens, hash, params.k), params.w), words: tokens.length };
}

export { outputText } from './output-text';
