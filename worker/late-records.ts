/**
 * Records that arrive after their scope was sealed (a spool's drain, a quarantine's
 * replay): what of them may still be written, and what would change the sealed rows and
 * is kept aside. Decided from the rows the store found for them (Store.writeBatch's guard).
 */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { SealedRows } from '../store/types';
import { sameChained, sameSealedScope } from '../store/chain';
import { acceptedLateStands } from '../store/bulk-write';
import { decodeAction, decodeScope } from '../store/encoded-records';
import type { TextCodec } from '../store/text-codec';
import { isEncodedText } from '../cim/encoded-text';
import type { RecordBatch } from './recorder';

/** Why a late record is kept aside rather than written. */
export const LATE_REASON = 'arrived after its scope was sealed: written now it would change the sealed chain';

/** Why a tool call's record that came after its timeout is kept aside (worker/attempt-deadline.ts). */
export const LATE_TIMEOUT_REASON = 'the tool finished after its timeout, when its scope was already sealed: written now it would change the sealed chain';

/** The part of a split that is kept aside, as a batch. */
export function lateBatch({ lateScopes, late, lateGaps }: LateSplit): RecordBatch {
  return { ...(lateScopes.length ? { scopes: lateScopes } : {}), actions: late, gaps: lateGaps };
}

export interface LateSplit {
  kept: RecordBatch;
  lateScopes: ScopeRecord[];
  late: ActionRecord[];
  lateGaps: ActionRecord[];
}

/**
 * Whether a late action changes nothing in the sealed row it would replace: by default,
 * nothing the seal covers differs.
 */
export type SameAction = (stored: ActionRecord, late: ActionRecord) => boolean;

/** What of a spooled batch may still be written, and what arrived after its scope was sealed (see Recorder.writeSpooled). */
export function splitLate(batch: RecordBatch, { sealedScopes, stored, storedScopes }: SealedRows, same: SameAction = sameChained): LateSplit {
  const lateScopes: ScopeRecord[] = [];
  const late: ActionRecord[] = [];
  const lateGaps: ActionRecord[] = [];
  if (sealedScopes.size === 0) return { kept: batch, lateScopes, late, lateGaps };
  const keep = (r: ActionRecord, gap: boolean): boolean => {
    if (!sealedScopes.has(`${r.namespace}\u0000${r.scopeId}`)) return true;
    const row = stored.get(`${r.namespace}\u0000${r.actionId}`);
    const changesNothing = row !== undefined && row.status !== 'running' && (gap || r.status === 'running' || acceptedLateStands(row, r) || same(row, r));
    if (!changesNothing) (gap ? lateGaps : late).push(r);
    return false;
  };
  // A scope's own record: its start behind a stored end keeps every column but the start
  // time, which the upsert takes as the earlier of the two; its end must be the sealed one.
  const keepScope = (r: ScopeRecord): boolean => {
    const key = `${r.namespace}\u0000${r.scopeId}`;
    if (!sealedScopes.has(key)) return true;
    const row = storedScopes?.get(key);
    const changesNothing =
      row !== undefined &&
      row.status !== 'running' &&
      (r.status === 'running' ? Date.parse(r.startedAt) >= Date.parse(row.startedAt) : sameSealedScope(row, r));
    if (!changesNothing) lateScopes.push(r);
    return false;
  };
  const kept: RecordBatch = {
    ...batch,
    scopes: batch.scopes?.filter(keepScope),
    actions: batch.actions?.filter((r) => keep(r, false)),
    gaps: batch.gaps?.filter((r) => keep(r, true)),
  };
  return { kept, lateScopes, late, lateGaps };
}

/**
 * splitLate for a worker with a payload codec. A codec that encrypts gives the same text a
 * different encoding each time, so one record encoded by two workers (relayed by the
 * workflow's worker and spooled by the tool's, or a scope's end from a workflow task run
 * again elsewhere) is two stored forms of the same content. A late record that differs
 * from its stored row only there changes nothing a person reads, and is dropped like an
 * identical one; it is never written, since the seal covers the stored form. Text that
 * cannot be decoded counts as different: the record is kept aside, not guessed equal.
 */
export async function splitLateDecoded(batch: RecordBatch, found: SealedRows, codec: TextCodec | undefined, same: SameAction = sameChained): Promise<LateSplit> {
  const split = splitLate(batch, found, same);
  if (!codec || split.late.length + split.lateScopes.length === 0) return split;
  const late: ActionRecord[] = [];
  for (const r of split.late) {
    const row = found.stored.get(`${r.namespace}\u0000${r.actionId}`);
    const unchanged = row !== undefined && row.status !== 'running' && r.status !== 'running' && (await sameDecoded(row, r, codec, decodeAction, same));
    if (!unchanged) late.push(r);
  }
  const lateScopes: ScopeRecord[] = [];
  for (const r of split.lateScopes) {
    const row = found.storedScopes?.get(`${r.namespace}\u0000${r.scopeId}`);
    const unchanged = row !== undefined && row.status !== 'running' && r.status !== 'running' && (await sameDecoded(row, r, codec, decodeScope, sameSealedScope));
    if (!unchanged) lateScopes.push(r);
  }
  return { ...split, late, lateScopes };
}

async function sameDecoded<T extends { error: string | null }>(
  row: T,
  record: T,
  codec: TextCodec,
  decode: (codec: TextCodec, r: T) => Promise<T>,
  same: (a: T, b: T) => boolean,
): Promise<boolean> {
  // Only records with encoded text on either side can differ in encoding alone.
  if (!Object.values(row).some(isEncodedText) && !Object.values(record).some(isEncodedText)) return false;
  try {
    return same(await decode(codec, row), await decode(codec, record));
  } catch {
    return false;
  }
}
