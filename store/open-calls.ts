/**
 * When a scope whose run left calls running (ScopeRecord.openCalls) may be sealed. Their
 * tools record their ends after the scope's: sealed before, the scope's chain would be
 * changed by those ends (a false alarm of tampering in verify), so sealing waits until each
 * open call has a row ended no earlier than the scope (or ended as cancelled: only the
 * attempt in flight when the call was cancelled can), and none of its rows is still
 * `running`; or until the scope's `until`, the latest its attempts in flight can end, plus a
 * grace (workflows/open-calls.ts). The column is read defensively, since no seal covers it
 * before the scope is sealed: a value that cannot be read there never holds the scope back
 * nor fails the sealer's statement (the row is then left to verify, which names it).
 */

/** A scope never waits longer than this after its end, whatever `until` says. */
const LONGEST_WAIT_MS = 24 * 60 * 60 * 1000;

/**
 * A condition on the scope row `s` (a table alias): true when it may be sealed at `nowIso`
 * (an ISO-8601 UTC text parameter, compared as text as `until` is written: the column is
 * never cast, so no value in it can fail the statement). `startsBetween`: the parameters
 * bounding the sessions' starts of the scopes looked at, where the statement has them.
 */
export function mayBeSealed(s: string, actions: string, nowIso: string, startsBetween?: readonly [from: string, to: string]): string {
  const ids = `CASE WHEN jsonb_typeof(${s}.open_calls -> 'activityIds') = 'array' THEN ${s}.open_calls -> 'activityIds' ELSE '[]'::jsonb END`;
  // Bounds given as parameters let Postgres leave other months' partitions out (see seal.ts, startRange).
  const months = startsBetween ? ` AND a.session_started_at BETWEEN ${startsBetween[0]} AND ${startsBetween[1]}` : '';
  const row = `a.namespace = ${s}.namespace AND a.scope_id = ${s}.scope_id AND a.session_started_at = ${s}.session_started_at${months} AND a.activity_id = c.activity_id`;
  return `(${s}.open_calls IS NULL
    OR COALESCE(${s}.open_calls ->> 'until' <= ${nowIso}, true)
    OR ${s}.ended_at IS NULL OR ${s}.ended_at + interval '${LONGEST_WAIT_MS} milliseconds' <= now()
    OR NOT EXISTS (
      SELECT 1 FROM jsonb_array_elements(${ids}) AS j(v)
       CROSS JOIN LATERAL (SELECT j.v #>> '{}' AS activity_id) c
       WHERE EXISTS (SELECT 1 FROM ${actions} a WHERE ${row} AND a.status = 'running')
          OR NOT EXISTS (SELECT 1 FROM ${actions} a WHERE ${row} AND (a.status = 'cancelled' OR a.status <> 'running' AND a.ended_at >= ${s}.ended_at))))`;
}

/** Whether a scope read back waits for its open calls at `nowMs` (verify does not call it unsealed meanwhile). */
export function awaitsOpenCalls(scope: { endedAt: string | null; openCalls?: { until: string } }, nowMs: number): boolean {
  if (!scope.openCalls || scope.endedAt === null) return false;
  const until = Date.parse(scope.openCalls.until);
  const cap = Date.parse(scope.endedAt) + LONGEST_WAIT_MS;
  return Number.isFinite(until) && nowMs < Math.min(until, cap);
}
