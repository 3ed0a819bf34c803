/**
 * Gap rows of attempts that never reported their outcome, moved to start no earlier than
 * the attempt before them (cim/rebuilt-attempt.ts). Their writers know only the call's
 * window; the store knows the earlier attempt's row, or it is in the same batch.
 */
import type { ActionRecord } from '../cim/schemas';
import { earlierAttemptId, rebuiltAttemptTimes, type EarlierAttempt } from '../cim/rebuilt-attempt';
import { isoTime } from './row-times';

interface Query {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** `table`: the qualified actions table. Records of first attempts alone cost no query. */
export async function afterEarlierAttempts(db: Query, table: string, records: readonly ActionRecord[]): Promise<readonly ActionRecord[]> {
  if (!records.some((r) => earlierAttemptId(r.actionId, r.attempt) !== undefined)) return records;
  const key = (namespace: string, actionId: string) => `${namespace}\u0000${actionId}`;
  const ids = new Set<string>();
  for (const r of records) {
    ids.add(r.actionId);
    const earlier = earlierAttemptId(r.actionId, r.attempt);
    if (earlier) ids.add(earlier);
  }
  const { rows } = await db.query<{ namespace: string; action_id: string; status: string; started_at: unknown; ended_at: unknown; reconstructed: boolean | null }>(
    `SELECT namespace, action_id, status, started_at, ended_at, (attributes->>'reconstructed') = 'true' AS reconstructed
       FROM ${table} WHERE namespace = ANY($1) AND action_id = ANY($2)`,
    [[...new Set(records.map((r) => r.namespace))], [...ids]],
  );
  /** What is known of each attempt: its stored row, then as this batch leaves it. */
  const known = new Map<string, EarlierAttempt & { stored: boolean; running: boolean }>();
  for (const r of rows) {
    const startedAt = isoTime(r.started_at);
    if (!startedAt) continue;
    known.set(key(r.namespace, r.action_id), { startedAt, endedAt: isoTime(r.ended_at), reconstructed: r.reconstructed === true, stored: true, running: r.status === 'running' });
  }
  // Earlier attempts first, so a batch rebuilding attempts 1 and 2 puts 2 after 1.
  const order = [...records.keys()].sort((a, b) => records[a]!.attempt - records[b]!.attempt);
  const out = [...records];
  for (const i of order) {
    const r = records[i]!;
    const own = known.get(key(r.namespace, r.actionId));
    if (own?.stored) {
      // A stored row keeps its own start; the fill only closes one still running.
      if (own.running) known.set(key(r.namespace, r.actionId), { ...own, endedAt: r.endedAt, reconstructed: true, running: false });
      continue;
    }
    const earlier = earlierAttemptId(r.actionId, r.attempt);
    const times = rebuiltAttemptTimes(r, earlier === undefined ? undefined : known.get(key(r.namespace, earlier)));
    if (times.startedAt !== r.startedAt || times.endedAt !== r.endedAt) out[i] = { ...r, ...times };
    known.set(key(r.namespace, r.actionId), { ...times, reconstructed: true, stored: false, running: false });
  }
  return out;
}
