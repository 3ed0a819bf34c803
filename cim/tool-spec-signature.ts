/**
 * Tool specs as the registering worker signed them. A model step on a worker that does
 * not define a tool tells its model what the store says the tool is (worker/served-tool-
 * specs.ts), and no hash chain covers the tool_specs table: a description rewritten there
 * would speak to the model with the tool's authority. The worker signs each spec it
 * registers under the manifest key (store/manifest-key.ts); the model step checks it.
 */
import { canonicalJson } from './canonical-json';
import { signatureState, type KeyedSignature, type SignatureChecker, type SignatureState } from './keyed-signature';

/** What a spec says, as signed: the tool, the queue it is served on, its description and input schema. */
export interface ToolSpecText {
  taskQueue: string;
  tool: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** A spec as stored, with the signature stored beside it. */
export interface StoredToolSpec extends ToolSpecText {
  signature?: KeyedSignature | null;
  /** The signature columns hold something that is not a signature. */
  signatureInvalid?: boolean;
}

/**
 * The exact text signed: a domain tag (the key also signs manifests), then the spec as
 * canonical JSON. The queue and the tool are in it: a signed spec moved to another tool
 * or queue no longer matches.
 */
export function toolSpecSigningText(s: ToolSpecText): string {
  return `scopetrail tool spec v1\n${canonicalJson({ taskQueue: s.taskQueue, tool: s.tool, description: s.description ?? null, inputSchema: s.inputSchema })}`;
}

export function toolSpecSignatureState(stored: StoredToolSpec, checker: SignatureChecker): SignatureState {
  if (stored.signatureInvalid) return 'forged';
  return signatureState(toolSpecSigningText(stored), stored.signature, checker);
}

/**
 * Whether a model may be told what the spec says: a valid signature, or a reader with no
 * key to check any (its workers register unsigned). A reader that holds the key trusts no
 * spec it cannot check: an unsigned row is what anyone who can write the table can add.
 */
export function toolSpecTrusted(state: SignatureState, checker: SignatureChecker): boolean {
  return 'missing' in checker || state === 'valid';
}

/** The states of a spec that toolSpecTrusted refuses (with a key to check: `unchecked` is a reader without one). */
export type RefusedSpecState = Exclude<SignatureState, 'valid' | 'unchecked'>;

export function isRefusedSpecState(state: SignatureState): state is RefusedSpecState {
  return state !== 'valid' && state !== 'unchecked';
}

/** Why a spec is not told to the model, in one sentence. */
export function toolSpecRefusal(stored: StoredToolSpec, state: RefusedSpecState, checker: SignatureChecker): string {
  const what = `the spec of tool ${stored.tool} registered for task queue ${stored.taskQueue}`;
  switch (state) {
    case 'forged':
      return `${what} does not match the signature of the worker that registered it: it was changed in the table since, and is not told to the model`;
    case 'unsigned':
      return `${what} carries no signature (its worker runs without a deployment key, fingerprintKey: false, or the row was added outside scopetrail), and this worker checks signatures: it is not told to the model`;
    case 'other_key':
      return (
        `${what} is signed under key ${stored.signature!.keyId}, this worker holds key ${'keyId' in checker ? checker.keyId : '?'}: ` +
        `give both workers the same deployment key (SCOPETRAIL_FINGERPRINT_KEY); until then it is not told to the model`
      );
  }
}
