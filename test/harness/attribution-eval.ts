/**
 * Accuracy of `attribute` on generated sessions: seeded agent-like reports per scope
 * (an orchestrator that quotes some of its sub-agents verbatim), final texts built by
 * concatenation, redaction (spans replaced by a marker or deleted), reordering, and all of
 * these mixed with unrelated text; every character's true scope is known.
 *
 *   npx tsx test/harness/attribution-eval.ts [--cases N] [--seed S] [--write docs/attribution.md]
 *
 * Prints per transform and per segment length: character accuracy, segment accuracy
 * (the scope holding most of a segment's characters is the right one) and the false
 * attribution rate (share of all characters given to a scope that did not write them).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { attributeText, type AttributionSource, type StoredFingerprint } from '../../cim/attribution';
import { fingerprintText, tokenize } from '../../cim/fingerprint';
import { keyedShingleHash, parseKey } from '../../worker/fingerprint-key';
import { agentReport } from '../helpers/agent-text';
import { prng } from '../helpers/prng';

const TRANSFORMS = ['concatenation', 'redaction', 'reordering', 'mixed'] as const;
type Transform = (typeof TRANSFORMS)[number];
const BUCKETS = [[1, 7], [8, 15], [16, 31], [32, 63], [64, 127], [128, Infinity]] as const;

interface Output {
  scopeId: string;
  agent: string;
  depth: number;
  text: string;
  /** Word ranges of text this output quotes, with the scope that wrote them. */
  quotes: Array<{ from: number; to: number; scopeId: string }>;
}

/** One piece of a final text: its characters and who wrote each word (null: nobody recorded). */
interface Piece {
  words: string[];
  truth: (string | null)[];
  /** Redaction markers or deletions inside the piece. */
  redacted: number;
}

function session(rnd: () => number, seed: number): Output[] {
  const subs = 2 + Math.floor(rnd() * 4);
  const outputs: Output[] = [];
  for (let i = 1; i <= subs; i++) {
    const deep = i > 1 && rnd() < 0.3;
    outputs.push({
      scopeId: deep ? `ses.1.${i}` : `ses.${i}`,
      agent: ['researcher', 'analyst', 'verifier', 'writer', 'critic'][i - 1]!,
      depth: deep ? 2 : 1,
      text: agentReport(seed * 31 + i, 2 + Math.floor(rnd() * 4)),
      quotes: [],
    });
  }
  // The orchestrator writes its own paragraphs around verbatim copies of some sub-agent outputs.
  const parts: string[] = [agentReport(seed * 31 + 17, 1)];
  const quotes: Output['quotes'] = [];
  let words = parts[0]!.split(/\s+/).length;
  for (const sub of outputs) {
    if (rnd() < 0.5) continue;
    const n = sub.text.split(/\s+/).length;
    parts.push(sub.text);
    quotes.push({ from: words, to: words + n, scopeId: sub.scopeId });
    words += n;
    const own = agentReport(seed * 31 + 40 + quotes.length, 1);
    parts.push(own);
    words += own.split(/\s+/).length;
  }
  outputs.push({ scopeId: 'ses', agent: 'orchestrator', depth: 0, text: parts.join('\n\n'), quotes });
  return outputs;
}

/** A span of an output as words with their true scope (a quote belongs to the scope that wrote it). */
function span(o: Output, from: number, to: number): Piece {
  const words = o.text.split(/\s+/).slice(from, to);
  const truth = words.map((_, i) => o.quotes.find((q) => from + i >= q.from && from + i < q.to)?.scopeId ?? o.scopeId);
  return { words, truth, redacted: 0 };
}

function pickLength(rnd: () => number): number {
  const [lo, hi] = BUCKETS[Math.floor(rnd() * BUCKETS.length)]!;
  return lo + Math.floor(rnd() * (Math.min(hi, 160) - lo + 1));
}

function randomSpan(rnd: () => number, o: Output): Piece {
  const n = o.text.split(/\s+/).length;
  const len = Math.min(n, pickLength(rnd));
  const from = Math.floor(rnd() * (n - len + 1));
  return span(o, from, from + len);
}

function redact(rnd: () => number, p: Piece): Piece {
  if (p.words.length < 12) return p;
  const len = 2 + Math.floor(rnd() * Math.min(15, p.words.length / 3));
  const at = 2 + Math.floor(rnd() * (p.words.length - len - 4));
  const replace = rnd() < 0.5;
  return {
    words: [...p.words.slice(0, at), ...(replace ? ['[REDACTED]'] : []), ...p.words.slice(at + len)],
    truth: [...p.truth.slice(0, at), ...(replace ? [null] : []), ...p.truth.slice(at + len)],
    redacted: p.redacted + 1,
  };
}

function makeCase(rnd: () => number, outputs: Output[], transform: Transform, seed: number): Piece[] {
  const pick = () => outputs[Math.floor(rnd() * outputs.length)]!;
  const count = 2 + Math.floor(rnd() * 4);
  let pieces: Piece[];
  if (transform === 'reordering') {
    // Whole outputs cut into chunks, then shuffled.
    const chosen = [...new Set(Array.from({ length: 3 }, pick))];
    pieces = chosen.flatMap((o) => {
      const n = o.text.split(/\s+/).length;
      const cuts: Piece[] = [];
      for (let at = 0; at < n; ) {
        const len = pickLength(rnd);
        cuts.push(span(o, at, Math.min(n, at + len)));
        at += len;
      }
      return cuts;
    });
    shuffle(rnd, pieces);
  } else {
    pieces = Array.from({ length: count }, () => randomSpan(rnd, pick()));
  }
  if (transform === 'redaction' || transform === 'mixed') pieces = pieces.map((p) => (rnd() < 0.7 ? redact(rnd, p) : p));
  if (transform === 'mixed') {
    shuffle(rnd, pieces);
    const human = agentReport(seed * 7 + 99_991, 1).split(/\s+/).slice(0, pickLength(rnd));
    pieces.splice(Math.floor(rnd() * (pieces.length + 1)), 0, { words: human, truth: human.map(() => null), redacted: 0 });
  }
  return pieces;
}

function shuffle<T>(rnd: () => number, xs: T[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}

interface Tally {
  chars: number;
  correct: number;
  attributed: number;
  falselyAttributed: number;
  segments: number;
  segmentsRight: number;
}

const tally = (): Tally => ({ chars: 0, correct: 0, attributed: 0, falselyAttributed: 0, segments: 0, segmentsRight: 0 });

function main(): void {
  const { values } = parseArgs({ options: { cases: { type: 'string' }, seed: { type: 'string' }, write: { type: 'string' } } });
  const cases = Number(values.cases ?? 400);
  const seed = Number(values.seed ?? 1);
  if (!Number.isInteger(cases) || cases < 1) throw new Error(`invalid --cases "${values.cases}": give a positive whole number`);
  if (!Number.isInteger(seed)) throw new Error(`invalid --seed "${values.seed}": give a whole number`);
  const hash = keyedShingleHash(parseKey('5c0e7a11f1e9e7a5c0e7a11f1e9e7a55', 'evaluation key'));
  const byTransform = new Map(TRANSFORMS.map((t) => [t, tally()]));
  const byBucket = new Map(BUCKETS.map((b) => [b, tally()]));
  const unrecordedShort = tally();
  const unrecordedLong = tally();
  const unrecorded = (p: Piece) => (p.words.length < 8 ? unrecordedShort : unrecordedLong);
  const started = Date.now();
  for (let c = 0; c < cases; c++) {
    const rnd = prng(seed * 1_000_003 + c);
    const outputs = session(rnd, seed * 100_000 + c);
    const sources: AttributionSource[] = [];
    const stored: StoredFingerprint[] = [];
    // Deeper scopes finish first; the orchestrator's result comes last.
    [...outputs].sort((a, b) => b.depth - a.depth).forEach((o, i) => {
      const { fingerprints, words } = fingerprintText(o.text, hash);
      sources.push({ sourceId: o.scopeId, scopeId: o.scopeId, agent: o.agent, kind: 'agent_output', producedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), depth: o.depth, words });
      for (const f of fingerprints) stored.push({ sourceId: o.scopeId, hash: f.hash, position: f.position });
    });
    const transform = TRANSFORMS[c % TRANSFORMS.length]!;
    const pieces = makeCase(rnd, outputs, transform, seed * 100_000 + c);
    // Build the text; remember each word's true scope by its character offset.
    let text = '';
    const truthAt: Array<{ start: number; truth: string | null; piece: number }> = [];
    pieces.forEach((p, pi) => {
      if (pi > 0) text += '\n\n';
      p.words.forEach((word, wi) => {
        if (wi > 0) text += ' ';
        truthAt.push({ start: text.length, truth: p.truth[wi]!, piece: pi });
        text += word;
      });
    });
    const result = attributeText(text, hash, sources, stored);
    const truthOf = new Map(truthAt.map((t) => [t.start, t]));
    const perPiece = pieces.map(() => new Map<string | null, number>());
    const pieceTruth = pieces.map((p) => p.truth.find((t) => t !== null) ?? null);
    let seg = 0;
    for (const token of tokenize(text)) {
      const t = truthOf.get(token.start);
      if (!t) continue;
      while (seg < result.segments.length && result.segments[seg]!.end <= token.start) seg++;
      const s = result.segments[seg];
      const predicted = s && s.start <= token.start ? s.scopeId : null;
      const chars = token.end - token.start;
      const piece = pieces[t.piece]!;
      const bucket = BUCKETS.find(([lo, hi]) => piece.words.length >= lo && piece.words.length <= hi)!;
      for (const tl of [byTransform.get(transform)!, byBucket.get(bucket)!, ...(pieceTruth[t.piece] === null ? [unrecorded(piece)] : [])]) {
        tl.chars += chars;
        if (predicted === t.truth) tl.correct += chars;
        if (predicted !== null) tl.attributed += chars;
        if (predicted !== null && predicted !== t.truth) tl.falselyAttributed += chars;
      }
      perPiece[t.piece]!.set(predicted, (perPiece[t.piece]!.get(predicted) ?? 0) + chars);
    }
    pieces.forEach((p, pi) => {
      const majority = [...perPiece[pi]!.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
      // A piece's truth is its majority true scope (a piece may straddle a quote's edge).
      const truths = new Map<string | null, number>();
      for (const t of p.truth) truths.set(t, (truths.get(t) ?? 0) + 1);
      const truth = [...truths.entries()].sort((a, b) => b[1] - a[1])[0]![0];
      const bucket = BUCKETS.find(([lo, hi]) => p.words.length >= lo && p.words.length <= hi)!;
      for (const tl of [byTransform.get(transform)!, byBucket.get(bucket)!, ...(truth === null ? [unrecorded(p)] : [])]) {
        tl.segments += 1;
        if (majority === truth) tl.segmentsRight += 1;
      }
    });
  }
  const seconds = (Date.now() - started) / 1000;
  const pct = (n: number, d: number) => (d === 0 ? '—' : `${((100 * n) / d).toFixed(1)}%`);
  const row = (name: string, t: Tally) =>
    `| ${name} | ${t.segments} | ${t.chars} | ${pct(t.correct, t.chars)} | ${pct(t.segmentsRight, t.segments)} | ${pct(t.falselyAttributed, t.chars)} |`;
  const header = '| | segments | characters | character accuracy | segment accuracy | false attribution |\n| --- | ---: | ---: | ---: | ---: | ---: |';
  const total = [...byTransform.values()].reduce((a, t) => {
    for (const key of Object.keys(a) as Array<keyof Tally>) a[key] += t[key];
    return a;
  }, tally());
  const table = [
    `Command: \`npx tsx test/harness/attribution-eval.ts --cases ${cases} --seed ${seed}\` (${seconds.toFixed(1)} s, k = 5, w = 4)`,
    '',
    '**By transform**',
    '',
    header,
    ...TRANSFORMS.map((t) => row(t, byTransform.get(t)!)),
    row('**all**', total),
    '',
    '**By segment length (words, as put into the final text)**',
    '',
    header,
    ...BUCKETS.map((b) => row(b[1] === Infinity ? `${b[0]}+` : `${b[0]}–${b[1]}`, byBucket.get(b)!)),
    '',
    '**Unrecorded text** (inserted in the mixed cases; right answer: unattributed)',
    '',
    header,
    row('unrelated text, 1–7 words', unrecordedShort),
    row('unrelated text, 8+ words', unrecordedLong),
  ].join('\n');
  console.log(table);
  if (values.write) {
    const doc = readFileSync(values.write, 'utf8');
    const start = doc.indexOf('<!-- eval:start -->');
    const end = doc.indexOf('<!-- eval:end -->');
    if (start < 0 || end < start) throw new Error(`${values.write} has no <!-- eval:start --> … <!-- eval:end --> section`);
    writeFileSync(values.write, `${doc.slice(0, start)}<!-- eval:start -->\n${table}\n${doc.slice(end)}`);
    console.error(`wrote ${values.write}`);
  }
}

main();
