/**
 * Where a session's rows are filed. Every row of a session carries the session's start
 * (`session_started_at`): it is the tables' partition key, and the reads by scope (actions
 * under a scope, footprint, touched) are confined to it. No seal covers it, since it says
 * where a row is kept rather than what happened; so a row filed under another start is still
 * intact to its seal, yet invisible to those reads. This holds every row to the one start its
 * session has, as Temporal gives it, and names those filed elsewhere.
 */
import type { ChainProblem } from './chain';
import type { Difference } from '../cim/reconcile';

export const FILED_TABLES = ['scopes', 'actions', 'action_chain', 'scope_chains', 'output_fingerprints'] as const;
export type FiledTable = (typeof FILED_TABLES)[number];

/** A table's rows of one session that carry one session start. */
export interface FiledRows {
  table: FiledTable;
  /** Microseconds since the epoch: the column's own precision, so a shift of one microsecond shows. */
  startedAtMicros: bigint;
  rows: number;
  /** A few of the rows (ordered by id), and the scope each belongs to. */
  sample: Array<{ id: string; scopeId: string }>;
}

/** What the session's start can be held to. */
export interface SessionStartEvidence {
  /** When the session's first run started, as its history says (milliseconds, ISO); undefined without history. */
  temporal?: string | null;
  /**
   * The root scope's start as its row holds it (covered by its seal). Stores written before rows
   * carried the session's start filed a session under this instead (store/migrations/009).
   */
  rootScope?: string | null;
}

export function isoMicros(iso: string): bigint | undefined {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? BigInt(ms) * 1000n : undefined;
}

function isoOf(micros: bigint): string {
  const ms = Number(micros / 1000n);
  const rest = micros % 1000n;
  const iso = new Date(ms).toISOString();
  return rest === 0n ? iso : `${iso.slice(0, -1)}${rest.toString().padStart(3, '0')}Z`;
}

/**
 * The start the session's rows must carry: Temporal's when some rows carry it, else the root
 * scope's when some carry that (a session filed before rows carried the start), else
 * Temporal's, or without it the start most rows carry. The root row's own start is no such
 * evidence where no row carries it: rows carry the first run's start, a little earlier than the
 * root scope's, so a session whose history is gone (retention) had every row named misplaced.
 */
export function sessionStart(filed: readonly FiledRows[], evidence: SessionStartEvidence): bigint | undefined {
  const carried = new Set(filed.map((f) => f.startedAtMicros));
  const temporal = evidence.temporal ? isoMicros(evidence.temporal) : undefined;
  const root = evidence.rootScope ? isoMicros(evidence.rootScope) : undefined;
  if (temporal !== undefined && carried.has(temporal)) return temporal;
  if (root !== undefined && carried.has(root)) return root;
  if (temporal !== undefined) return temporal;
  const counts = new Map<bigint, number>();
  for (const f of filed) counts.set(f.startedAtMicros, (counts.get(f.startedAtMicros) ?? 0) + f.rows);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
}

/** The session's start, what says so, and its rows filed under another start (one entry per table and start). */
function misfiled(filed: readonly FiledRows[], evidence: SessionStartEvidence): { start: bigint; by: string; elsewhere: FiledRows[] } | undefined {
  const start = sessionStart(filed, evidence);
  if (start === undefined) return undefined;
  const by =
    evidence.temporal && isoMicros(evidence.temporal) === start ? "the session's first run in Temporal"
    : evidence.rootScope && isoMicros(evidence.rootScope) === start ? "the session's root scope"
    : "most of the session's rows";
  return { start, by, elsewhere: filed.filter((f) => f.startedAtMicros !== start && f.sample.length > 0) };
}

function misfiledText(sessionId: string, f: FiledRows, start: bigint, by: string): string {
  const ids = f.sample.map((s) => s.id).join(', ');
  return (
    `${f.rows} ${f.table} row(s) of session ${sessionId} (${ids}${f.rows > f.sample.length ? ', …' : ''}) are filed under session start ${isoOf(f.startedAtMicros)}, ` +
    `not ${isoOf(start)} (as ${by} ${by.startsWith('most') ? 'say' : 'says'})`
  );
}

/** One problem per table and wrong start: the rows of the session filed under a start that is not its own. */
export function placementProblems(sessionId: string, filed: readonly FiledRows[], evidence: SessionStartEvidence): ChainProblem[] {
  const found = misfiled(filed, evidence);
  if (!found) return [];
  return found.elsewhere.map((f) => {
    const first = f.sample[0]!;
    return {
      scopeId: first.scopeId,
      recordId: first.id,
      problem: 'misplaced' as const,
      detail: `${misfiledText(sessionId, f, found.start, found.by)}: reads by scope do not see them`,
    };
  });
}

/**
 * The same rows as reconcile's differences: rows of the session's ids under another start are
 * no run of this history (another Temporal cluster's run of the same id writing this store
 * under the same namespace, or rows moved), so the store holds more than history explains and
 * is not complete for the session. One `extra` per table (scopes, actions) and wrong start.
 */
export function placementDifferences(sessionId: string, filed: readonly FiledRows[], evidence: SessionStartEvidence): Difference[] {
  const found = misfiled(filed, evidence);
  if (!found) return [];
  return found.elsewhere
    .filter((f) => f.table === 'scopes' || f.table === 'actions')
    .map((f) => {
      const first = f.sample[0]!;
      return {
        kind: 'extra' as const,
        record: f.table === 'scopes' ? ('scope' as const) : ('action' as const),
        id: first.id,
        scopeId: first.scopeId,
        detail:
          `${misfiledText(sessionId, f, found.start, found.by).replace(` ${f.table} row(s)`, ` ${f.table === 'scopes' ? 'scope' : 'action'} row(s)`)}: ` +
          `no run in this session's history explains them (another Temporal cluster's session of the same id writing this store under the same namespace, or rows moved; scopetrail verify names them misplaced)`,
      };
    });
}
