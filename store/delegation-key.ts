/**
 * The delegation key: what a caller signs the `io.scopetrail/delegation` object with and
 * what an MCP server checks it with (HMAC-SHA256, see cim/mcp-meta.ts).
 *
 * SCOPETRAIL_DELEGATION_KEY (hex or base64, at least 16 bytes) when set. Otherwise it is
 * derived from the deployment's fingerprint key (worker/fingerprint-key.ts) under its own
 * label, so one deployment key serves both without one use revealing the other: an MCP
 * server given the derived key can check delegations and learns nothing about fingerprints.
 */
import { createHmac } from 'node:crypto';
import { sha256Hex as sha256OfText } from './sha256';
import { ScopetrailError } from '../cim/errors';
import { FingerprintKeyError, keyId, loadFingerprintKey, parseKey, type FingerprintKey } from './fingerprint-key';
import type { IdHash, Sign } from '../cim/mcp-meta';
import { checkerFrom, type SignatureChecker } from '../cim/keyed-signature';

export const DELEGATION_KEY_ENV = 'SCOPETRAIL_DELEGATION_KEY';

export interface DelegationKey {
  readonly bytes: Buffer;
  readonly id: string;
  readonly origin: string;
}

export class DelegationKeyError extends ScopetrailError {
  override name = 'DelegationKeyError';
}

export function parseDelegationKey(text: string, origin: string): DelegationKey {
  try {
    return parseKey(text, origin);
  } catch (err) {
    if (err instanceof FingerprintKeyError) throw new DelegationKeyError(err.message.replace('fingerprint key', 'delegation key'));
    throw err;
  }
}

export function deriveDelegationKey(deployment: FingerprintKey): DelegationKey {
  const bytes = createHmac('sha256', deployment.bytes).update('scopetrail delegation key v1').digest();
  return { bytes, id: keyId(bytes), origin: `derived from ${deployment.origin}` };
}

/**
 * The environment's delegation key, else one derived from the deployment key. Workers may
 * create the deployment key file on first use (as createWorker does); a server never does
 * (`create: false`): a key of its own would make every caller's signature fail.
 */
export function loadDelegationKey(env: NodeJS.ProcessEnv = process.env, options: { create?: boolean; path?: string } = {}): DelegationKey {
  const fromEnv = env[DELEGATION_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return parseDelegationKey(fromEnv, `$${DELEGATION_KEY_ENV}`);
  let deployment: FingerprintKey;
  try {
    deployment = loadFingerprintKey(env, options.path, { create: options.create ?? false });
  } catch (err) {
    if (!(err instanceof FingerprintKeyError)) throw err;
    // A server started before any worker of the deployment finds no key file yet: say both ways out.
    throw new DelegationKeyError(
      `no delegation key: $${DELEGATION_KEY_ENV} is not set, and it cannot be derived from the deployment key (${err.message.replace(/^no fingerprint key: /, '')}). ` +
        `Set ${DELEGATION_KEY_ENV} to the same key on the callers' workers and the MCP servers (for example: openssl rand -hex 32), or start a worker of the deployment first, which creates the deployment key`,
    );
  }
  return deriveDelegationKey(deployment);
}

export function delegationSigner(key: DelegationKey): Sign {
  return (text) => createHmac('sha256', key.bytes).update(text).digest('hex');
}

/** The hash the OTel export derives trace and span ids with, so traceparent ids match exported spans. */
export const sha256Hex: IdHash = sha256OfText;

/** What a reader checks MCP receipts' signatures with, or why it cannot (cim/mcp-receipt.ts). */
export type ReceiptChecker = SignatureChecker;

/**
 * The checker for receipts signed under `key`, else under the environment's delegation key
 * (as a server finds it). Never creates a key: one of its own would match no receipt.
 */
export function receiptChecker(key?: DelegationKey, env: NodeJS.ProcessEnv = process.env, keyFile?: string): ReceiptChecker {
  return checkerFrom(() => {
    const k = key ?? loadDelegationKey(env, { create: false, ...(keyFile ? { path: keyFile } : {}) });
    return { keyId: k.id, sign: delegationSigner(k) };
  });
}
