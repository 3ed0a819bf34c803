/**
 * The store's side of a user's payload codec. With a codec on the workers, the text a
 * user wrote (objectives, error messages, payloads kept by reference) is stored as the
 * codec's output, so the database holds what Temporal's history holds: ciphertext.
 * A stored value is `scopetrail-codec:v1:` + the encoded Payload in the JSON form of
 * Temporal's codec-server protocol ({ metadata: { key: base64 }, data: base64 }).
 */
import { defaultPayloadConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { decode, encode } from '@temporalio/common/lib/internal-non-workflow';
import { ENCODED_TEXT_PLACEHOLDER, ENCODED_TEXT_PREFIX, isEncodedText } from '../cim/encoded-text';
import { ScopetrailError } from '../cim/errors';

/** Stored text or history is encoded with a payload codec the reader does not have (or not the right one). */
export class CodecRequiredError extends ScopetrailError {
  override name = 'CodecRequiredError';

  constructor(message: string) {
    super(message, 'payloadCodecs');
  }
}

export interface TextCodec {
  encode(text: string): Promise<string>;
  /** Plain text passes through; encoded text is decoded (a CodecRequiredError when it cannot be). */
  decode(text: string): Promise<string>;
  /** Any JSON value, stored as one encoded string. */
  encodeJson(value: unknown): Promise<unknown>;
  decodeJson(value: unknown): Promise<unknown>;
}

export function textCodec(codecs: readonly PayloadCodec[]): TextCodec {
  const list = [...codecs];
  const self: TextCodec = {
    async encode(text) {
      const [payload] = await encode(list, [defaultPayloadConverter.toPayload(text) as Payload]);
      return ENCODED_TEXT_PREFIX + JSON.stringify(toJson(payload!));
    },
    async decode(text) {
      if (!isEncodedText(text)) return text;
      let payload: Payload;
      try {
        payload = fromJson(JSON.parse(text.slice(ENCODED_TEXT_PREFIX.length)));
      } catch (err) {
        throw new CodecRequiredError(`stored encoded text is malformed (${(err as Error).message}); it was not written by scopetrail`);
      }
      let decoded: Payload | undefined;
      try {
        [decoded] = await decode(list, [payload]);
      } catch (err) {
        throw new CodecRequiredError(`the payload codec could not decode stored text (${(err as Error).message}): is it the codec the workers use?`);
      }
      const value = readPayload(decoded);
      if (typeof value !== 'string') {
        throw new CodecRequiredError(
          list.length === 0
            ? 'stored text is encoded with a payload codec: give the client the workers\' codec (ScopeClient dataConverter.payloadCodecs, or the CLI\'s --codec / --codec-endpoint)'
            : 'the payload codec did not decode stored text to text: is it the codec the workers use?',
        );
      }
      return value;
    },
    async encodeJson(value) {
      return self.encode(JSON.stringify(value ?? null));
    },
    async decodeJson(value) {
      return isEncodedText(value) ? JSON.parse(await self.decode(value)) : value;
    },
  };
  return self;
}

/**
 * For a reader without the codec: encoded text reads as a placeholder, so answers stay
 * readable (and say what is missing) instead of showing ciphertext; what it writes (a
 * reconcile repair) is stored as it is, as workers without a codec store it.
 */
export function opaqueTextCodec(): TextCodec {
  return {
    // Without a codec nothing is encoded, on either side: text is stored as it is.
    encode: async (text) => text,
    encodeJson: async (value) => value,
    decode: async (text) => (isEncodedText(text) ? ENCODED_TEXT_PLACEHOLDER : text),
    decodeJson: async (value) => (isEncodedText(value) ? ENCODED_TEXT_PLACEHOLDER : value),
  };
}

function readPayload(payload: Payload | undefined): unknown {
  try {
    return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
  } catch {
    // An encoding the default converter does not know: the codec that made it is missing.
    return undefined;
  }
}

interface PayloadJson {
  metadata: Record<string, string>;
  data: string;
}

export function toJson(payload: Payload): PayloadJson {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload.metadata ?? {})) if (v) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') };
}

export function fromJson(json: unknown): Payload {
  const p = json as Partial<PayloadJson> | null;
  if (!p || typeof p !== 'object' || typeof p.data !== 'string' || !p.metadata || typeof p.metadata !== 'object') {
    throw new Error('expected { metadata, data }');
  }
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata)) metadata[k] = new Uint8Array(Buffer.from(String(v), 'base64'));
  return { metadata, data: new Uint8Array(Buffer.from(p.data, 'base64')) };
}
