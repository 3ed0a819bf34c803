/**
 * Agent manifests as the registering worker signed them. Drift, roles and health judge
 * every recorded run of an agent version by its manifest, and no hash chain covers the
 * manifests table: a manifest rewritten to declare the tool an agent should not have
 * called would hide that drift. The worker signs each manifest it registers under a key
 * derived from the deployment key (store/manifest-key.ts); readers check it.
 */
import { canonicalJson } from './canonical-json';
import { Manifest } from './schemas';
import { signatureState, type KeyedSignature, type SignatureChecker, type SignatureState } from './keyed-signature';

/** A manifest as stored, with the signature stored beside it. */
export interface StoredManifest {
  manifest: Manifest;
  signature: KeyedSignature | null;
  /** The signature columns hold something that is not a signature. */
  signatureInvalid?: boolean;
}

/** A manifests row that does not read as the manifest of the agent version it is filed under. */
export interface InvalidManifestRow {
  agent: string;
  version: string;
  field: string;
  message: string;
}

export interface StoredManifests {
  manifests: StoredManifest[];
  invalid: InvalidManifestRow[];
}

export function invalidManifestText(row: InvalidManifestRow): string {
  return (
    `store: the manifest of ${row.agent}@${row.version} has an invalid field "${row.field}": ${row.message} ` +
    `(the row was changed outside scopetrail; a worker registering that agent version writes it again)`
  );
}

/**
 * The exact text signed: a domain tag, then the manifest as the store reads it back
 * (parsed, so defaults filled in and unknown keys dropped, the same on both sides) as
 * canonical JSON.
 */
export function manifestSigningText(m: Manifest): string {
  return `scopetrail manifest v1\n${canonicalJson(Manifest.parse(m))}`;
}

export function manifestSignatureState(stored: StoredManifest, checker: SignatureChecker): SignatureState {
  if (stored.signatureInvalid) return 'forged';
  return signatureState(manifestSigningText(stored.manifest), stored.signature, checker);
}

/** Why a manifest's word is not vouched for, in one sentence; undefined for a valid one. */
export function manifestSignatureProblem(stored: StoredManifest, state: SignatureState, checker: SignatureChecker): string | undefined {
  const what = `the manifest of ${stored.manifest.name}@${stored.manifest.version}`;
  switch (state) {
    case 'valid':
      return undefined;
    case 'forged':
      return `${what} does not match the signature of the worker that registered it: changed in the table since`;
    case 'unsigned':
      return `${what} carries no signature (registered before manifests were signed, or by a worker without a deployment key): it vouches for nothing`;
    case 'other_key':
      return `${what} is signed under key ${stored.signature!.keyId} (as its row says), this reader holds key ${'keyId' in checker ? checker.keyId : '?'}: give it the workers' deployment key (SCOPETRAIL_FINGERPRINT_KEY); if no worker signs under ${stored.signature!.keyId}, the row was rewritten`;
    case 'unchecked':
      return `${what} cannot be checked against its signature: ${'missing' in checker ? checker.missing : ''}`;
  }
}
