/**
 * `export-ocsf --follow`: tails the store for a log shipper. The unit written is a
 * sealed scope: an OCSF event is never amended once shipped, and a scope's events are
 * final (and carry their hash-chain attestation) only once the scope has ended and its
 * chain is sealed.
 *
 * Exactly once across restarts: each poll appends its lines, flushes them to disk, and
 * only then commits the cursor (written to a temporary file, flushed, renamed over the
 * old one). The cursor records how long the output file was at that commit, so a
 * restart first cuts off whatever a crash left after it and writes those scopes again.
 * On standard output nothing can be taken back: a crash between a write and its commit
 * repeats that batch (with the same metadata.uid values) on restart.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { z } from 'zod';
import { invalidField } from '../cim/invalid-field';
import type { SessionChains, Store } from '../store/types';
import { eventsOfScopes, isSealed, ocsfMappingOptions, OcsfExportError, scopesInOrder, sessionReceipts, sessionsSince } from './ocsf-export';
import { receiptChecker, type ReceiptChecker } from '../store/delegation-key';

/**
 * How far behind the clock the tail keeps looking for sessions: a session's first row
 * can reach the store late (the recorder batches, and spools while the store is down),
 * so sessions that started this recently are listed again on every poll.
 */
export const LATE_ROW_WINDOW_MS = 15 * 60_000;

const IsoTime = z.iso.datetime({ offset: true });

export const OcsfCursor = z.object({
  version: z.literal(1),
  /** The one session followed, or null for every session started at or after `since`. */
  sessionId: z.string().min(1).nullable(),
  since: IsoTime,
  /** Length of the output file at the last commit; null when writing to standard output. */
  offset: z.number().int().min(0).nullable(),
  /** Scopes already written, by session, for sessions not finished yet. */
  exported: z.record(z.string(), z.array(z.string())),
  /** Sessions written completely, with their start, until `since` passes them. */
  finished: z.record(z.string(), IsoTime),
});
export type OcsfCursor = z.infer<typeof OcsfCursor>;

export function readCursor(path: string): OcsfCursor | null {
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new OcsfExportError(`the cursor file ${path} is not JSON (${(err as Error).message}); remove it to start over`, '--cursor');
  }
  const parsed = OcsfCursor.safeParse(raw);
  if (!parsed.success) throw new OcsfExportError(`${invalidField(`the cursor file ${path}`, parsed.error)}; remove it to start over`, '--cursor');
  return parsed.data;
}

export function commitCursor(path: string, cursor: OcsfCursor): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(cursor)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export interface LineSink {
  /** Writes the lines durably and answers the output's length afterwards (null when it has none). */
  write(lines: readonly string[]): Promise<number | null>;
  close(): Promise<void>;
}

/** An output file, cut back to `offset` (what the cursor committed) or started empty without one. */
export function fileSink(path: string, offset: number | null): LineSink {
  if (offset !== null) {
    const size = existsSync(path) ? statSync(path).size : -1;
    if (size < offset) {
      throw new OcsfExportError(
        `${path} is shorter (${Math.max(size, 0)} bytes) than the cursor's ${offset}: it was truncated or replaced; remove the cursor to start over`,
        '--out',
      );
    }
  }
  const fd = openSync(path, offset === null ? 'w' : 'r+');
  if (offset !== null) ftruncateSync(fd, offset);
  let length = offset ?? 0;
  return {
    async write(lines) {
      if (lines.length > 0) {
        length += writeSync(fd, lines.map((l) => `${l}\n`).join(''), length);
        fsyncSync(fd);
      }
      return length;
    },
    async close() {
      closeSync(fd);
    },
  };
}

export function streamSink(log: (line: string) => void): LineSink {
  return {
    async write(lines) {
      for (const l of lines) log(l);
      return null;
    },
    async close() {},
  };
}

export interface FollowOptions {
  cursorPath: string;
  pollMs: number;
  signal: AbortSignal;
  clock?: () => number;
  /** What MCP receipts are checked with (the servers' delegation key); by default the environment's. */
  receiptKey?: ReceiptChecker;
}

export interface FollowSummary {
  events: number;
  scopes: number;
  polls: number;
  /** Whether a followed session was written completely (always false when following every session). */
  finished: boolean;
}

export function newCursor(sessionId: string | null, since: string): OcsfCursor {
  return { version: 1, sessionId, since, offset: null, exported: {}, finished: {} };
}

/** Polls until `signal` aborts, or until the followed session is written completely. */
export async function followOcsf(store: Store, sink: LineSink, start: OcsfCursor, options: FollowOptions): Promise<FollowSummary> {
  const clock = options.clock ?? Date.now;
  const receiptKey = options.receiptKey ?? receiptChecker();
  let cursor = start;
  const summary: FollowSummary = { events: 0, scopes: 0, polls: 0, finished: false };
  while (!options.signal.aborted) {
    const poll = await pollOnce(store, cursor, clock(), receiptKey);
    const offset = await sink.write(poll.lines);
    cursor = { ...poll.cursor, offset };
    commitCursor(options.cursorPath, cursor);
    summary.events += poll.lines.length;
    summary.scopes += poll.scopes;
    summary.polls += 1;
    if (cursor.sessionId !== null && cursor.finished[cursor.sessionId]) {
      summary.finished = true;
      break;
    }
    await sleep(options.pollMs, options.signal);
  }
  return summary;
}

async function pollOnce(store: Store, cursor: OcsfCursor, now: number, receiptKey: ReceiptChecker): Promise<{ lines: string[]; scopes: number; cursor: OcsfCursor }> {
  const ids = cursor.sessionId !== null ? [cursor.sessionId] : sessionsSince(store, cursor.since);
  const options = ocsfMappingOptions(new Date(now).toISOString());
  const exported = { ...cursor.exported };
  const finished = { ...cursor.finished };
  const lines: string[] = [];
  let scopes = 0;
  const pending: string[] = [];
  for await (const id of ids) {
    if (finished[id]) continue;
    const chains = await store.chainsOfSession(id);
    if (chains.chains.length === 0) continue;
    const done = new Set(exported[id] ?? []);
    const fresh = scopesInOrder(chains).filter((c) => isSealed(c) && !done.has(c.scope.scopeId));
    // A call's receipt is written before the server answers it: a sealed scope's calls have theirs.
    const receipts = fresh.length ? (await sessionReceipts(store, id, receiptKey)).receipts : undefined;
    for (const event of eventsOfScopes(fresh, options, receipts)) lines.push(JSON.stringify(event));
    for (const c of fresh) done.add(c.scope.scopeId);
    scopes += fresh.length;
    const start = scopesInOrder(chains)[0]!.scope.startedAt;
    if (sessionComplete(chains, done, now)) {
      finished[id] = start;
      delete exported[id];
    } else {
      exported[id] = [...done];
      pending.push(start);
    }
  }
  // Never past a session with work left, nor into the window where late first rows may still arrive.
  const floor = new Date(now - LATE_ROW_WINDOW_MS).toISOString();
  const candidates = [floor, ...pending].sort();
  const since = candidates[0]! > cursor.since ? candidates[0]! : cursor.since;
  for (const [id, start] of Object.entries(finished)) if (start < since && id !== cursor.sessionId) delete finished[id];
  return { lines, scopes, cursor: { ...cursor, since, exported, finished } };
}

/**
 * A session is complete when every scope is written and every scope a delegation or
 * handoff created is among them: a delegator can be sealed before its child's first
 * row arrives. A target that never started (its start failed) stops holding the session
 * open once the session has been quiet for the late-row window.
 */
function sessionComplete(chains: SessionChains, done: ReadonlySet<string>, now: number): boolean {
  const present = new Set(chains.chains.map((c) => c.scope.scopeId));
  if ([...present].some((id) => !done.has(id))) return false;
  const targets = chains.chains.flatMap((c) =>
    c.actions.filter((a) => (a.record.kind === 'delegate' || a.record.kind === 'handoff') && a.record.targetScopeId).map((a) => a.record.targetScopeId!),
  );
  if (targets.every((t) => present.has(t))) return true;
  const lastEnd = chains.chains.reduce((last, c) => Math.max(last, Date.parse(c.scope.endedAt ?? c.scope.startedAt)), -Infinity);
  return now - lastEnd > LATE_ROW_WINDOW_MS;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
