/**
 * `attribute`: which agent and scope produced each part of a text assembled from a
 * session's outputs, from the keyed fingerprints recorded for every output. The query
 * text is hashed here with the same key and only its hashes reach the store.
 */
import { ScopetrailError } from '../cim/errors';
import { z } from 'zod';
import { attributeText, type AttributedSegment, type AttributionSource } from '../cim/attribution';
import { DEFAULT_FINGERPRINT_PARAMS, shingleHashes, tokenize } from '../cim/fingerprint';
import type { Store } from '../store/types';
import { keyedShingleHash, type FingerprintKey } from '../store/fingerprint-key';
import { UnknownIdError } from './arguments';

/** Texts up to 20 MB; beyond that the table would be unreadable anyway. */
export const AttributeText = z.string().max(20_000_000, 'is longer than 20 MB');

export interface AttributionSegmentReport extends AttributedSegment {
  /** The first words of the segment, from the caller's own text. */
  preview: string;
}

export interface AttributionReport {
  sessionId: string;
  keyId: string;
  words: number;
  attributedShare: number;
  /** Fingerprinted outputs of the session the text was compared with. */
  outputs: number;
  segments: AttributionSegmentReport[];
  warnings: string[];
}

export class FingerprintKeyMismatchError extends ScopetrailError {
  override name = 'FingerprintKeyMismatchError';
}

export class NoFingerprintsError extends ScopetrailError {
  override name = 'NoFingerprintsError';
}

/** `getKey` is called once the session is known to exist, so an unknown id is reported as such. */
export async function attributeSession(store: Store, sessionId: string, text: string, getKey: () => FingerprintKey): Promise<AttributionReport> {
  const scopes = await store.scopesOfSession(sessionId);
  if (scopes.length === 0) throw new UnknownIdError('session', sessionId);
  const key = getKey();
  const fingerprints = store.fingerprints();
  const all = await fingerprints.sources(sessionId);
  if (all.length === 0) {
    throw new NoFingerprintsError(
      `session ${sessionId} has no output fingerprints: it was recorded by a worker without fingerprinting (older than it, or with fingerprintKey: false)`,
    );
  }
  const mine = all.filter((s) => s.keyId === key.id);
  const otherKeys = [...new Set(all.filter((s) => s.keyId !== key.id).map((s) => s.keyId))];
  if (mine.length === 0) {
    throw new FingerprintKeyMismatchError(
      `session ${sessionId} was fingerprinted with key id ${otherKeys.join(', ')}, but the key from ${key.origin} has id ${key.id}: ` +
        `nothing can match. Give this command the workers' key (SCOPETRAIL_FINGERPRINT_KEY or the same key file).`,
    );
  }
  const warnings = otherKeys.length
    ? [`${all.length - mine.length} of ${all.length} outputs were fingerprinted with another key (id ${otherKeys.join(', ')}) and are ignored`]
    : [];
  const depth = new Map(scopes.map((s) => [s.scopeId, s.depth]));
  // The fingerprint rows are outside every seal; the scope rows are sealed and verified. So
  // each output is credited to the agent its scope's row names, and a row that disagrees is said.
  const ranBy = new Map(scopes.map((s) => [s.scopeId, s.agent]));
  for (const s of mine) {
    const agent = ranBy.get(s.scopeId);
    if (agent === undefined) warnings.push(`output ${s.sourceId} names scope ${s.scopeId}, which is not a scope of this session: its fingerprint row was changed or added outside scopetrail`);
    else if (agent !== s.agent) warnings.push(`output ${s.sourceId} names agent ${s.agent}, but its scope ${s.scopeId} was run by ${agent}: credited to ${agent} (its fingerprint row was changed outside scopetrail)`);
  }
  const sources: AttributionSource[] = mine.map((s) => ({
    sourceId: s.sourceId,
    scopeId: s.scopeId,
    agent: ranBy.get(s.scopeId) ?? s.agent,
    kind: s.kind,
    producedAt: s.producedAt,
    depth: depth.get(s.scopeId) ?? 0,
    words: s.words,
  }));
  const hash = keyedShingleHash(key);
  // The query is hashed twice (once for the lookup, once in attributeText); caching keeps HMACs to one per shingle.
  const cache = new Map<string, string>();
  const cached = (shingle: string) => {
    let h = cache.get(shingle);
    if (h === undefined) cache.set(shingle, (h = hash(shingle)));
    return h;
  };
  const hashes = shingleHashes(tokenize(text), cached, DEFAULT_FINGERPRINT_PARAMS.k);
  const stored = await fingerprints.match(sessionId, key.id, hashes);
  const result = attributeText(text, cached, sources, stored, DEFAULT_FINGERPRINT_PARAMS);
  return {
    sessionId,
    keyId: key.id,
    words: result.words,
    attributedShare: result.attributedShare,
    outputs: sources.length,
    segments: result.segments.map((s) => ({ ...s, preview: preview(text.slice(s.start, s.end)) })),
    warnings,
  };
}

function preview(text: string, words = 8, chars = 60): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
  const head = flat.split(' ').slice(0, words).join(' ');
  const cut = head.length > chars ? `${head.slice(0, chars - 1)}…` : head;
  return cut.length < flat.length && !cut.endsWith('…') ? `${cut} …` : cut;
}
