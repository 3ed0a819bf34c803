/** SHA-256 of a text, as hex. */
import crypto, { createHash } from 'node:crypto';

/** One-shot hashing (node 20.12 and later) costs half of a Hash object for short texts. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export function sha256Hex(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
}
