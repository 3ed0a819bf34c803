import { sha256Hex } from './sha256';
import { canonicalJson } from '../cim/canonical-json';

/** sha-256 of the canonical JSON of a value: equal values, equal digests, no raw payload kept. */
export function digest(value: unknown): string {
  return digestOfJson(canonicalJson(value ?? null));
}

/** The digest of a value already in canonical JSON, for callers that need the text too. */
export function digestOfJson(json: string): string {
  return `sha256:${sha256Hex(json)}`;
}

/**
 * The digest a model agent's handoff puts in history for the conversation it keeps in the
 * store (bare hex, as workflows/model-agent.ts computes it in the sandbox with the pure
 * SHA-256): what the next agent's step and verify hold the stored body to.
 */
export function conversationDigest(body: unknown): string {
  return sha256Hex(canonicalJson(body));
}
