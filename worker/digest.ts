import { createHash } from 'node:crypto';
import { canonicalJson } from '../cim/canonical-json';

/** sha-256 of the canonical JSON of a value: equal values, equal digests, no raw payload kept. */
export function digest(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value ?? null)).digest('hex')}`;
}
