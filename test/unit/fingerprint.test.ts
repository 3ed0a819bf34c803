/** Output fingerprints: normalisation, winnowing's guarantee, segmentation, and the key. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DEFAULT_FINGERPRINT_PARAMS, fingerprintText, normalizeText, outputText, tokenize, winnow } from '../../cim/fingerprint';
import { attributeText, type AttributionSource, type StoredFingerprint } from '../../cim/attribution';
import { FingerprintKeyError, keyedShingleHash, loadFingerprintKey, parseKey } from '../../worker/fingerprint-key';
import { agentReport } from '../helpers/agent-text';

const KEY = parseKey('000102030405060708090a0b0c0d0e0f', 'test key');
const HASH = keyedShingleHash(KEY);
const { k, w } = DEFAULT_FINGERPRINT_PARAMS;

interface Output {
  scopeId: string;
  agent: string;
  text: string;
  depth?: number;
}

/** Fingerprints outputs as the worker does, in order of production. */
function record(outputs: Output[], hash = HASH): { sources: AttributionSource[]; stored: StoredFingerprint[] } {
  const sources: AttributionSource[] = [];
  const stored: StoredFingerprint[] = [];
  outputs.forEach((o, i) => {
    const { fingerprints, words } = fingerprintText(o.text, hash);
    const sourceId = `${o.scopeId}#${i}`;
    sources.push({ sourceId, scopeId: o.scopeId, agent: o.agent, kind: 'agent_output', producedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), depth: o.depth ?? 1, words });
    for (const f of fingerprints) stored.push({ sourceId, hash: f.hash, position: f.position });
  });
  return { sources, stored };
}

/** The scope each character of `part` was attributed to, by the segment covering its words. */
function scopeAt(result: ReturnType<typeof attributeText>, text: string, part: string): Set<string | null> {
  const start = text.indexOf(part);
  assert.ok(start >= 0, 'part is in the text');
  const end = start + part.length;
  const scopes = new Set<string | null>();
  for (const s of result.segments) if (s.start < end && s.end > start) scopes.add(s.scopeId);
  return scopes;
}

test('normalisation folds case, whitespace, punctuation and Unicode compatibility forms', () => {
  assert.equal(normalizeText('Hello,   WORLD!\n\tIt’s — fine.'), 'hello world it s fine');
  assert.equal(normalizeText('ＨＥＬＬＯ ｗｏｒｌｄ ﬁne'), normalizeText('hello world fine'));
  assert.equal(normalizeText('Déjà vu'), normalizeText('DÉJÀ VU'));
  // Words keep the character range they came from in the original text.
  const text = '  Quick, BROWN fox';
  assert.deepEqual(tokenize(text).map((t) => text.slice(t.start, t.end)), ['Quick', 'BROWN', 'fox']);
  // Redaction markers are not words of anyone's output.
  assert.equal(normalizeText('alpha [REDACTED] beta ███ gamma <redacted> delta'), 'alpha beta gamma delta');
});

test('ASCII words take a shortcut that gives exactly the tokens of the general path', () => {
  const WORD = /[\p{L}\p{N}\p{M}]+/gu;
  // The general path alone (markers aside): NFKC, lower case, then words again.
  const general = (text: string) =>
    [...text.matchAll(WORD)].flatMap((m) => [...m[0].normalize('NFKC').toLowerCase().matchAll(WORD)].map((p) => ({ word: p[0], start: m.index, end: m.index + m[0].length })));
  const alphabet = ['a', 'Z', 'q', '7', ' ', ',', '-', '_', '\n', 'É', 'ß', 'İ', '¼', 'ﬁ', 'Ｈ', '\u0301', '中', '٣', 'K', '\u212a'];
  let seed = 11;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % alphabet.length;
  for (let n = 0; n < 500; n++) {
    const text = Array.from({ length: 1 + (n % 40) }, () => alphabet[next()]).join('');
    assert.deepEqual(tokenize(text), general(text), JSON.stringify(text));
  }
});

test('the same text differently formatted has the same fingerprints', () => {
  const a = fingerprintText('The main risk is that PORT congestion spills over into freight rates, said the vendor.', HASH);
  const b = fingerprintText('the main risk is that port congestion\nspills over into  freight-rates said the vendor', HASH);
  assert.deepEqual(a, b);
  assert.ok(a.fingerprints.length > 0);
});

test('winnowing keeps at least one fingerprint in every window of w shingles', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 200 }), (values) => {
      const hashes = values.map((v) => v.toString(16).padStart(16, '0'));
      const picked = new Set(winnow(hashes, w).map((f) => f.position));
      for (let s = 0; s + w <= hashes.length; s++) {
        assert.ok([...Array(w).keys()].some((i) => picked.has(s + i)), `window at ${s} has a fingerprint`);
      }
    }),
  );
});

test('any shared run of at least w + k - 1 words is detected, wherever it sits', () => {
  const vocab = Array.from({ length: 30 }, (_, i) => `w${i}`);
  const words = fc.array(fc.constantFrom(...vocab), { maxLength: 60 });
  fc.assert(
    fc.property(words, words, words, words, fc.array(fc.constantFrom(...vocab), { minLength: w + k - 1, maxLength: w + k + 10 }), (a1, a2, b1, b2, shared) => {
      const a = fingerprintText([...a1, ...shared, ...a2].join(' '), HASH).fingerprints.map((f) => f.hash);
      const b = new Set(fingerprintText([...b1, ...shared, ...b2].join(' '), HASH).fingerprints.map((f) => f.hash));
      assert.ok(a.some((h) => b.has(h)), 'a fingerprint in common');
    }),
    { numRuns: 300 },
  );
});

test('reordered and redacted paragraphs are attributed to the scopes that wrote them, unrelated text to none', () => {
  const research = agentReport(11, 3);
  const risks = agentReport(12, 3);
  const { sources, stored } = record([
    { scopeId: 's.1', agent: 'researcher', text: research },
    { scopeId: 's.2', agent: 'analyst', text: risks },
  ]);
  const [r0, r1, r2] = research.split('\n\n') as [string, string, string];
  const [k0, , k2] = risks.split('\n\n') as [string, string, string];
  const r1Words = r1.split(' ');
  const r1Redacted = `${r1Words.slice(0, 12).join(' ')} [REDACTED] ${r1Words.slice(20).join(' ')}`;
  const human = 'Editorial note added by hand after the meeting, to explain why the board asked for another week.';
  const text = [k2, r2, human, r0, r1Redacted, k0].join('\n\n');
  const result = attributeText(text, HASH, sources, stored);
  assert.deepEqual([...scopeAt(result, text, k2)], ['s.2']);
  assert.deepEqual([...scopeAt(result, text, r2)], ['s.1']);
  assert.deepEqual([...scopeAt(result, text, human)], [null]);
  assert.deepEqual([...scopeAt(result, text, `${r0}\n\n${r1Redacted}`)], ['s.1'], 'the redaction does not split the researcher\'s text');
  assert.deepEqual([...scopeAt(result, text, k0)], ['s.2']);
  assert.deepEqual(result.segments.map((s) => s.scopeId), ['s.2', 's.1', null, 's.1', 's.2']);
  const redacted = result.segments[3]!;
  assert.equal(redacted.redactions, 1);
  assert.ok(redacted.confidence! > 0.8, `confidence ${redacted.confidence}`);
});

test('text an orchestrator quotes verbatim goes to the sub-agent that wrote it, and says so', () => {
  const sub = agentReport(21, 2);
  const own = agentReport(22, 2);
  const orchestrator = `Findings from the research team:\n\n${sub}\n\n${own}`;
  const { sources, stored } = record([
    { scopeId: 's.1', agent: 'researcher', text: sub, depth: 1 },
    { scopeId: 's', agent: 'orchestrator', text: orchestrator, depth: 0 },
  ]);
  const result = attributeText(orchestrator, HASH, sources, stored);
  assert.deepEqual([...scopeAt(result, orchestrator, sub)], ['s.1']);
  assert.deepEqual([...scopeAt(result, orchestrator, own)], ['s']);
  const quoted = result.segments.find((s) => s.scopeId === 's.1')!;
  assert.deepEqual(quoted.alsoIn, [{ scopeId: 's', agent: 'orchestrator' }]);
  // Segments are word ranges: the quote's first and last words are exact (its final full stop is not a word).
  assert.equal(normalizeText(orchestrator.slice(quoted.start, quoted.end)), normalizeText(sub));
});

test('a different key matches nothing', () => {
  const text = agentReport(31, 3);
  const other = parseKey('ffeeddccbbaa99887766554433221100', 'other key');
  assert.notEqual(other.id, KEY.id);
  const { sources, stored } = record([{ scopeId: 's.1', agent: 'writer', text }], keyedShingleHash(other));
  const result = attributeText(text, HASH, sources, stored);
  assert.deepEqual(result.segments.map((s) => s.scopeId), [null]);
  assert.equal(result.attributedShare, 0);
  // With the right key the same text is all attributed.
  const same = record([{ scopeId: 's.1', agent: 'writer', text }]);
  assert.equal(attributeText(text, HASH, same.sources, same.stored).attributedShare, 1);
});

test('text shorter than one shingle cannot be attributed', () => {
  const text = agentReport(41, 1);
  const { sources, stored } = record([{ scopeId: 's.1', agent: 'writer', text }]);
  const short = text.split(' ').slice(0, k - 1).join(' ');
  assert.deepEqual(attributeText(short, HASH, sources, stored).segments.map((s) => s.scopeId), [null]);
});

test('keys are hex or base64 of at least 16 bytes; a bad one is refused naming where it came from', () => {
  assert.equal(parseKey('AAECAwQFBgcICQoLDA0ODw==', 'b64').id, KEY.id, 'base64 and hex of the same bytes are the same key');
  assert.throws(() => parseKey('abcd', '$SCOPETRAIL_FINGERPRINT_KEY'), (e: Error) => e instanceof FingerprintKeyError && /\$SCOPETRAIL_FINGERPRINT_KEY: 2 bytes, at least 16/.test(e.message));
  assert.throws(() => parseKey('not a key!', 'the file'), /invalid fingerprint key in the file: write it as hex or base64/);
});

test('the key file is created once with mode 0600 and the environment overrides it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scopetrail-key-'));
  const path = join(dir, 'sub', 'fingerprint.key');
  assert.throws(() => loadFingerprintKey({}, path, { create: false }), /no fingerprint key: \$SCOPETRAIL_FINGERPRINT_KEY is not set and .* does not exist/);
  const first = loadFingerprintKey({}, path);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(loadFingerprintKey({}, path).id, first.id, 'the same key on the next start');
  assert.equal(loadFingerprintKey({ SCOPETRAIL_FINGERPRINT_KEY: KEY.bytes.toString('hex') }, path).id, KEY.id);
  chmodSync(path, 0o644);
  assert.throws(() => loadFingerprintKey({}, path), /readable by others .* chmod 600/);
  const bad = join(dir, 'bad.key');
  writeFileSync(bad, 'zz', { mode: 0o600 });
  assert.throws(() => loadFingerprintKey({}, bad), /invalid fingerprint key in .*bad\.key/);
});

test('structured outputs are fingerprinted by their string values, not their field names', () => {
  assert.equal(outputText({ topic: 'ports', findings: ['a b', 'c d'], count: 3, nested: { note: 'e' } }), 'ports\n\na b\n\nc d\n\ne');
  assert.equal(outputText('plain'), 'plain');
  assert.equal(outputText(null), '');
});
