/**
 * Text the store keeps encoded with the user's payload codec (an objective, an error
 * message, a payload kept by reference) is marked by this prefix, so a reader knows to
 * decode it and everything else can tell it from plain text without the codec.
 */
export const ENCODED_TEXT_PREFIX = 'scopetrail-codec:v1:';

export function isEncodedText(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(ENCODED_TEXT_PREFIX);
}

/** What people see in place of text the reader has no codec for. */
export const ENCODED_TEXT_PLACEHOLDER = '[encoded: read with the payload codec]';
