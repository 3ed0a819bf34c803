/**
 * Where a listing of sessions goes on from, as the text a page hands out (`next`) and a
 * caller gives back (`after`): the last listed session's start and id, opaque to the
 * caller so that the key can change without breaking scripts that pass it along.
 */
import { z } from 'zod';
import type { SessionKey } from '../store/types';

const PREFIX = 's1.';
const Key = z.tuple([z.string().min(1).max(64), z.string().min(1).max(200)]);

export function sessionCursor(key: SessionKey): string {
  return PREFIX + Buffer.from(JSON.stringify([key.startedAt, key.sessionId])).toString('base64url');
}

/** The key a cursor holds, or undefined when it is not one a listing gave. */
export function sessionKeyOf(cursor: string): SessionKey | undefined {
  if (!cursor.startsWith(PREFIX)) return undefined;
  try {
    const parsed = Key.safeParse(JSON.parse(Buffer.from(cursor.slice(PREFIX.length), 'base64url').toString('utf8')));
    if (!parsed.success || Number.isNaN(Date.parse(parsed.data[0]))) return undefined;
    return { startedAt: parsed.data[0], sessionId: parsed.data[1] };
  } catch {
    return undefined;
  }
}

/** A cursor argument: the `next` of an earlier page of the same listing. */
export const SessionCursorArg = z.string().transform((cursor, ctx) => {
  const key = sessionKeyOf(cursor);
  if (key) return key;
  ctx.addIssue({ code: 'custom', message: 'not a cursor a sessions listing gave (its "next")' });
  return z.NEVER;
});
