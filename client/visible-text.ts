/**
 * Text from the store shown to a person. Objectives, errors, tool names and resource
 * URIs come from agents, models and tools: an escape sequence in one of them would
 * otherwise clear the screen, rewrite earlier lines or set the terminal title. Every
 * C0 and C1 control character, DEL, the Unicode line separators and the bidi overrides
 * (which reorder what a reader sees) are shown as escapes instead. --json output keeps
 * the exact values; only renderings for people go through here.
 */
import { stringifyAnyDepth } from './deep-json';

const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function visible(text: string): string {
  return text.replace(INVISIBLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** What JSON.stringify leaves raw that a terminal may act on (C1 controls) or that reorders what a reader sees. */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON for stdout: the same document, with the characters JSON.stringify leaves raw and a
 * terminal could act on written as `\uXXXX` escapes. A parser reads back the exact values.
 */
export function terminalJson(value: unknown, indent?: number): string {
  return (stringifyAnyDepth(value, indent) ?? 'null').replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
