/**
 * The per-deployment fingerprint key and the keyed shingle hash. Fingerprints are
 * HMAC-SHA256 of normalised shingles under this key, truncated to 64 bits: without the
 * key nobody can test a guessed phrase against the store, and a store written under
 * another key matches nothing (the key id, a hash of the key, tells the two apart).
 *
 * The key comes from SCOPETRAIL_FINGERPRINT_KEY (hex or base64, at least 16 bytes) or
 * from a key file created once (mode 0600) at
 * $XDG_STATE_HOME/scopetrail/fingerprint.key (default ~/.local/state/scopetrail/).
 * Workers and the CLI must see the same key.
 */
import { ScopetrailError } from '../cim/errors';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fingerprintText, outputText, DEFAULT_FINGERPRINT_PARAMS, type ShingleHash } from '../cim/fingerprint';
import type { SourceKind } from '../cim/attribution';
import type { FingerprintRecord } from './fingerprint-store';

export const KEY_ENV = 'SCOPETRAIL_FINGERPRINT_KEY';
export const MIN_KEY_BYTES = 16;

export interface FingerprintKey {
  readonly bytes: Buffer;
  /** Names the key in the store without revealing it. */
  readonly id: string;
  /** Where the key came from, for messages. */
  readonly origin: string;
}

export class FingerprintKeyError extends ScopetrailError {
  override name = 'FingerprintKeyError';
}

/** No key anywhere a reader looks: unlike a key that is there but unusable, not a misconfiguration. */
export class MissingFingerprintKeyError extends FingerprintKeyError {
  override name = 'MissingFingerprintKeyError';
}

export function defaultKeyPath(): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'scopetrail', 'fingerprint.key');
}

/** Parses a key written as hex or base64; anything else, or fewer than 16 bytes, is refused naming its origin. */
export function parseKey(text: string, origin: string): FingerprintKey {
  const raw = text.trim();
  let bytes: Buffer | undefined;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(raw)) bytes = Buffer.from(raw, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(raw) && raw.length % 4 !== 1) bytes = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!bytes) {
    throw new FingerprintKeyError(`invalid fingerprint key in ${origin}: write it as hex or base64 (for example: openssl rand -hex 32)`);
  }
  if (bytes.length < MIN_KEY_BYTES) {
    throw new FingerprintKeyError(
      `invalid fingerprint key in ${origin}: ${bytes.length} bytes, at least ${MIN_KEY_BYTES} are needed (for example: openssl rand -hex 32)`,
    );
  }
  return { bytes, id: keyId(bytes), origin };
}

export function keyId(bytes: Buffer): string {
  return createHash('sha256').update('scopetrail fingerprint key id\n').update(bytes).digest('hex').slice(0, 16);
}

/**
 * The environment's key, else the key file. Workers create the file with a fresh random
 * key on first use; readers (`create: false`) never do: a new key could match nothing.
 */
export function loadFingerprintKey(
  env: NodeJS.ProcessEnv = process.env,
  path = defaultKeyPath(),
  options: { create?: boolean } = {},
): FingerprintKey {
  const fromEnv = env[KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return parseKey(fromEnv, `$${KEY_ENV}`);
  try {
    return readKeyFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (options.create === false) {
    throw new MissingFingerprintKeyError(
      `no fingerprint key: $${KEY_ENV} is not set and ${path} does not exist; give the key the workers use (see docs/attribution.md)`,
    );
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Written whole under a private name, then linked into place: a concurrent first start
  // either wins the link or reads the winner's complete file, never a half-written one.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return readKeyFile(path);
}

function readKeyFile(path: string): FingerprintKey {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    throw new FingerprintKeyError(`fingerprint key file ${path} is readable by others (mode ${mode.toString(8)}): run chmod 600 ${path}`);
  }
  return parseKey(readFileSync(path, 'utf8'), path);
}

/** HMAC-SHA256 of the shingle under the key, first 64 bits as 16 hex digits. */
export function keyedShingleHash(key: FingerprintKey): ShingleHash {
  return (shingle) => createHmac('sha256', key.bytes).update(shingle).digest('hex').slice(0, 16);
}

export interface OutputSource {
  namespace: string;
  sessionId: string;
  scopeId: string;
  /** The scope id for an agent's result, the action id for a tool or LLM output. */
  sourceId: string;
  kind: SourceKind;
  agent: string;
  producedAt: string;
  /** The session's start, where its rows are kept (store/partitions.ts); looked up when absent. */
  sessionStartedAt?: string;
}

/** Turns outputs into fingerprint rows; the raw text never leaves this object. */
export class Fingerprinter {
  private readonly hash: ShingleHash;

  constructor(readonly key: FingerprintKey) {
    this.hash = keyedShingleHash(key);
  }

  records(source: OutputSource, output: unknown): FingerprintRecord[] {
    const { fingerprints, words } = fingerprintText(outputText(output), this.hash, DEFAULT_FINGERPRINT_PARAMS);
    return fingerprints.map((f) => ({ ...source, fingerprint: f.hash, position: f.position, words, keyId: this.key.id }));
  }
}
