/**
 * What workers kept aside in their spool folders' `quarantine.log` (records the store
 * refused as data, records that arrived after their scope was sealed, spool lines that
 * could not be read), and a replay of what is sound now (`scopetrail quarantine`).
 *
 * A replay claims the file first (renamed to `quarantine.log.replaying-…`), so a worker
 * quarantining meanwhile starts a new file instead of appending to one being rewritten;
 * what is not written goes back to `quarantine.log` by append, and only then is the
 * claimed file deleted. A replay cut short leaves the claimed file, which the next replay
 * takes up: writes are upserts by id, so a record written twice is one row.
 */
import { existsSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseSpoolLine } from './spool-line';
import { QUARANTINE_FILE, appendQuarantineLines, isQuarantineFile, recordCount } from './spool';
import { isDataError, type RecordBatch } from './recorder';
import { LATE_REASON, lateBatch, splitLateDecoded, type LateSplit } from './late-records';
import type { SealedRows, Store } from '../store/types';
import type { TextCodec } from '../store/text-codec';
import { folderStoreKey, storeKey } from './spool-folder';

export interface QuarantineEntry {
  /** The file it is in, and its line there (from 1). */
  file: string;
  line: number;
  /** When it was first quarantined: a replay that keeps it keeps this time. */
  at: string | null;
  /** When a replay last tried it and kept it, if one has. */
  lastReplayAt: string | null;
  reason: string;
  /** `batch`: records a replay may write; `record`: one that failed its schema; `line`: a spool line that could not be read. */
  kind: 'batch' | 'record' | 'line';
  records: number;
  /** Scope ids of scope records, action ids of the rest (payloads, fingerprints: their action or source). */
  ids: string[];
}

export interface QuarantineReplay {
  files: string[];
  /** Entries whose records are now in the store, and how many records they held. */
  replayed: { entries: number; records: number };
  /** Entries still in quarantine after the replay, with the reason each is kept. */
  kept: QuarantineEntry[];
}

/** The quarantine files in a spool folder: its own, and those of the folders one level down (one per namespace and task queue). */
export function quarantineFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new Error(`no spool folder at ${dir}`);
  const own: string[] = [];
  const below: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (isQuarantineFile(name)) own.push(path);
    else if (statSync(path).isDirectory()) below.push(...readdirSync(path).sort().filter(isQuarantineFile).map((f) => join(path, f)));
  }
  return [...own, ...below];
}

interface RawEntry {
  entry: QuarantineEntry;
  text: string;
  batch?: RecordBatch;
}

function readEntries(file: string): RawEntry[] {
  const out: RawEntry[] = [];
  for (const [i, text] of readFileSync(file, 'utf8').split('\n').entries()) {
    if (text.trim() === '') continue;
    out.push({ text, ...describe(file, i + 1, text) });
  }
  return out;
}

/** One line of a quarantine file, read as any file on disk is: checked, never trusted. */
function describe(file: string, line: number, text: string): { entry: QuarantineEntry; batch?: RecordBatch } {
  const base = { file, line, at: null, lastReplayAt: null, reason: 'unreadable quarantine line', kind: 'line' as const, records: 0, ids: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { entry: base };
  }
  if (value === null || typeof value !== 'object') return { entry: base };
  const v = value as { at?: unknown; lastReplayAt?: unknown; reason?: unknown; batch?: unknown; record?: unknown };
  const at = typeof v.at === 'string' ? v.at : null;
  const lastReplayAt = typeof v.lastReplayAt === 'string' ? v.lastReplayAt : null;
  const reason = typeof v.reason === 'string' ? v.reason : 'no reason given';
  if (v.batch !== undefined) {
    const parsed = parseSpoolLine(JSON.stringify(v.batch));
    if (parsed.ok && parsed.rejected.length === 0) {
      return { entry: { file, line, at, lastReplayAt, reason, kind: 'batch', records: recordCount(parsed.batch), ids: idsOf(parsed.batch) }, batch: parsed.batch };
    }
    const why = parsed.ok ? parsed.rejected[0]!.reason : parsed.reason;
    return { entry: { file, line, at, lastReplayAt, reason: `${reason}; not replayable as it is: ${why}`, kind: 'record', records: 0, ids: [] } };
  }
  if (v.record !== undefined) return { entry: { file, line, at, lastReplayAt, reason, kind: 'record', records: 1, ids: [] } };
  return { entry: { ...base, at, lastReplayAt, reason } };
}

function idsOf(batch: RecordBatch): string[] {
  return [
    ...(batch.scopes ?? []).map((r) => r.scopeId),
    ...[...(batch.actions ?? []), ...(batch.gaps ?? [])].map((r) => r.actionId),
    ...(batch.payloads ?? []).map((r) => r.actionId),
    ...(batch.fingerprints ?? []).map((r) => r.sourceId),
  ].filter((id, i, all) => all.indexOf(id) === i);
}

export function listQuarantine(dir: string): { files: string[]; entries: QuarantineEntry[] } {
  const files = quarantineFiles(dir);
  return { files, entries: files.flatMap((f) => readEntries(f).map((e) => e.entry)) };
}

/**
 * Writes every sound entry's records to the store, through the same check a spool's
 * drain makes: records of scopes sealed meanwhile that would change them stay out. What
 * the store refuses as data stays, with the store's reason; a store that cannot be
 * reached stops the replay with nothing lost. With the workers' payload codec, a late
 * record that differs from its sealed row only in how its text was encoded is dropped as
 * the drain drops it (see splitLateDecoded).
 */
export async function replayQuarantine(
  store: Store,
  dir: string,
  onProgress?: (entriesDone: number) => void,
  codec?: TextCodec,
): Promise<QuarantineReplay> {
  if (!store.writeBatch) throw new Error(`the store (${store.description}) cannot check late records while it writes them`);
  const report: QuarantineReplay = { files: [], replayed: { entries: 0, records: 0 }, kept: [] };
  let done = 0;
  const key = storeKey(store);
  for (const file of quarantineFiles(dir)) {
    const folder = join(file, '..');
    // A folder filed under another store (worker/spool-folder.ts) holds that store's records: left untouched.
    const filedUnder = folderStoreKey(basename(folder));
    if (filedUnder !== undefined && filedUnder !== key) {
      const reason = `spooled for another store (key ${filedUnder}; this one's is ${key}): replay it with that store's --database-url and --schema`;
      for (const raw of readEntries(file)) {
        onProgress?.(done++);
        report.kept.push({ ...raw.entry, reason });
      }
      continue;
    }
    // Claim it: a worker quarantining from now on starts a new quarantine.log.
    const claimed = basename(file) !== QUARANTINE_FILE ? file : join(folder, `${QUARANTINE_FILE}.replaying-${randomBytes(6).toString('hex')}`);
    if (claimed !== file) renameSync(file, claimed);
    report.files.push(file);
    const entries = readEntries(claimed);
    // What stays, in order, with the entry to report once restore has said where it landed.
    const stays: Array<{ text: string; entry?: QuarantineEntry }> = [];
    const now = new Date().toISOString();
    // Written again with the time it was first quarantined: a replay only adds when it last tried.
    const keep = (raw: RawEntry, reason: string, batch: RecordBatch, counted: Pick<QuarantineEntry, 'records' | 'ids'> = raw.entry) =>
      stays.push({
        text: JSON.stringify({ ...(raw.entry.at ? { at: raw.entry.at } : {}), lastReplayAt: now, reason, batch }),
        entry: { ...raw.entry, ...counted, lastReplayAt: now, reason },
      });
    for (const [i, raw] of entries.entries()) {
      onProgress?.(done++);
      if (!raw.batch) {
        stays.push({ text: raw.text, entry: raw.entry });
        continue;
      }
      let split: LateSplit | undefined;
      const guard = async (found: SealedRows) => (split = await splitLateDecoded(raw.batch!, found, codec)).kept;
      try {
        await store.writeBatch(raw.batch, guard);
      } catch (err) {
        if (!isDataError(err)) {
          // The store is down or refuses us: what is left goes back untouched.
          stays.push(...entries.slice(i).map((e) => ({ text: e.text })));
          restore(folder, claimed, stays.map((k) => k.text));
          throw new Error(`replay stopped at ${claimed} line ${raw.entry.line}: ${(err as Error).message}; nothing was lost, run it again`, { cause: err });
        }
        keep(raw, `refused by the store again: ${(err as Error).message}`, raw.batch);
        continue;
      }
      const late = split ? lateBatch(split) : undefined;
      const lateCount = late ? recordCount(late) : 0;
      if (late && lateCount > 0) keep(raw, LATE_REASON, late, { records: lateCount, ids: idsOf(late) });
      if (lateCount < raw.entry.records) {
        report.replayed.entries += 1;
        report.replayed.records += raw.entry.records - lateCount;
      }
    }
    // Reported where they are now: the claimed file is gone once the replay ends.
    const first = restore(folder, claimed, stays.map((k) => k.text));
    for (const [n, k] of stays.entries()) if (k.entry) report.kept.push({ ...k.entry, file: join(folder, QUARANTINE_FILE), line: first + n });
  }
  return report;
}

/**
 * What stays goes back to the folder's quarantine.log (fsynced) before the claimed file is
 * deleted. Returns the line of quarantine.log the first of them is on.
 */
function restore(folder: string, claimed: string, lines: readonly string[]): number {
  const file = join(folder, QUARANTINE_FILE);
  const first = existsSync(file) ? readFileSync(file, 'utf8').split('\n').length : 1;
  if (lines.length) appendQuarantineLines(file, lines);
  unlinkSync(claimed);
  return first;
}
