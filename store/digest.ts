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
