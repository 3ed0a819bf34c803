/**
 * A keyed signature over a stored row that no hash chain covers (an MCP server's receipt,
 * a worker's agent manifest): HMAC-SHA256 under a key the database does not hold, and the
 * id of that key. Whoever can write the table but lacks the key cannot make the row say
 * something else. Pure: the HMAC comes from the caller (store/), as in cim/mcp-meta.ts.
 */
import { z } from 'zod';
import { sameHex, type Sign } from './mcp-meta';

export const KeyedSignature = z.object({
  keyId: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex digits'),
  mac: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
});
export type KeyedSignature = z.infer<typeof KeyedSignature>;

/** What signs, or checks, rows: the key's HMAC and its id. */
export interface Signer {
  keyId: string;
  sign: Sign;
}

/** A reader's checker, or why it has none (no key, one it may not read, …). */
export type SignatureChecker = Signer | { missing: string };

/** The checker `load` gives; whatever keeps the key from this reader is said, not thrown: the rows are then unchecked. */
export function checkerFrom(load: () => Signer): SignatureChecker {
  try {
    return load();
  } catch (err) {
    return { missing: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * How a row's signature stands under the reader's key: `valid`; `forged` (it does not
 * match the row); `unsigned`; `other_key` (signed under a key this reader lacks);
 * `unchecked` (this reader holds no key at all).
 */
export type SignatureState = 'valid' | 'forged' | 'unsigned' | 'other_key' | 'unchecked';

export function signatureState(text: string, signature: KeyedSignature | null | undefined, checker: SignatureChecker): SignatureState {
  if (!signature) return 'unsigned';
  if ('missing' in checker) return 'unchecked';
  const matches = sameHex(signature.mac, checker.sign(text));
  // Signed under this reader's key with the key id changed since: a rewrite that would pass for a key mismatch.
  if (signature.keyId !== checker.keyId) return matches ? 'forged' : 'other_key';
  return matches ? 'valid' : 'forged';
}
