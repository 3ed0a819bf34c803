/**
 * The manifest key: what workers sign the manifests they register with and what readers
 * check them with (cim/manifest-signature.ts). Derived from the deployment key under its
 * own label, so holding it reveals nothing about fingerprints or delegations; an MCP
 * server, which holds only the delegation key, cannot sign a manifest.
 */
import { createHmac } from 'node:crypto';
import { keyId, loadFingerprintKey, type FingerprintKey } from './fingerprint-key';
import { checkerFrom, type SignatureChecker, type Signer } from '../cim/keyed-signature';

export function manifestSigner(deployment: FingerprintKey): Signer {
  const bytes = createHmac('sha256', deployment.bytes).update('scopetrail manifest key v1').digest();
  return { keyId: keyId(bytes), sign: (text) => createHmac('sha256', bytes).update(text).digest('hex') };
}

/** The reader's checker: the deployment key given, else the environment's or the key file; never a new key. */
export function manifestChecker(deployment?: FingerprintKey, env: NodeJS.ProcessEnv = process.env, keyFile?: string): SignatureChecker {
  return checkerFrom(() => manifestSigner(deployment ?? loadFingerprintKey(env, keyFile, { create: false })));
}
