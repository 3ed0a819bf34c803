/**
 * Status roll-up: how a scope's own outcome combines with the outcomes of the
 * delegations it made and the tool calls it ran. Pure, so the workflow computes it
 * deterministically when the scope ends and the client can recompute it from rows.
 */
import type { ScopeStatus } from './schemas';

/**
 * How the agent's own code ended. A handoff is a normal end of the scope's own work:
 * it rolls up like `success`, so a degraded scope that hands off stays `degraded`.
 */
export type OwnOutcome = 'success' | 'error' | 'cancelled' | 'handed_off';

/** One attempt of a delegation. Attempts of the same `slot` are retries of one delegation. */
export interface DelegationAttempt {
  slot: string;
  attempt: number;
  status: ScopeStatus;
  recovered: boolean;
}

/** The final attempt of a tool or LLM call as the workflow saw it. */
export interface CallOutcome {
  attempt: number;
  status: 'success' | 'error' | 'cancelled' | 'denied';
}

export interface RollUpInput {
  own: OwnOutcome;
  delegations: readonly DelegationAttempt[];
  calls: readonly CallOutcome[];
  /** An earlier run of the same scope (before a continue-as-new) already had a recovered call. */
  recoveredEarlier?: boolean;
}

export interface RolledUpStatus {
  status: ScopeStatus;
  recovered: boolean;
}

const FAILED: ReadonlySet<ScopeStatus> = new Set(['error']);
const SUCCEEDED: ReadonlySet<ScopeStatus> = new Set(['success', 'degraded']);

/**
 * Rules, in order:
 * - the agent's own failure is `error`; its own cancellation is `cancelled`; a handoff rolls up like success;
 * - each delegation slot counts by its last attempt; a slot whose earlier attempt failed
 *   and whose last succeeded is a recovery, not a failure;
 * - some slots failed and some succeeded: `degraded`; every slot failed: `error`;
 * - no slot failed but one came back `degraded`: `degraded` (partial failure propagates up);
 * - cancelled delegations were stopped on purpose and count neither way;
 * - `recovered` is true when a tool call succeeded after a failed attempt, a
 *   delegation succeeded after a failed attempt, or a child that came back `success` or
 *   `degraded` was itself recovered; a child's `recovered` is its handoff chain's (any scope of
 *   the chain that recovered, since the delegation's work is the whole chain's), and a run
 *   before a continue-as-new carries its recovery on (`recoveredEarlier`);
 * - a scope in `error` or `cancelled` is never `recovered`: what recovered inside it did not
 *   make its work good.
 */
export function rollUpStatus(input: RollUpInput): RolledUpStatus {
  const slots = finalAttemptPerSlot(input.delegations);
  const recovered =
    input.recoveredEarlier === true ||
    input.calls.some((c) => c.status === 'success' && c.attempt > 1) ||
    slots.some((s) => SUCCEEDED.has(s.final.status) && (s.hadFailure || s.final.recovered));

  if (input.own === 'error') return { status: 'error', recovered: false };
  if (input.own === 'cancelled') return { status: 'cancelled', recovered: false };

  const failed = slots.filter((s) => FAILED.has(s.final.status)).length;
  const succeeded = slots.filter((s) => SUCCEEDED.has(s.final.status)).length;
  if (failed > 0 && succeeded === 0) return { status: 'error', recovered: false };
  if (failed > 0) return { status: 'degraded', recovered };
  if (slots.some((s) => s.final.status === 'degraded')) return { status: 'degraded', recovered };
  return { status: 'success', recovered };
}

interface SlotSummary {
  final: DelegationAttempt;
  hadFailure: boolean;
}

function finalAttemptPerSlot(attempts: readonly DelegationAttempt[]): SlotSummary[] {
  const bySlot = new Map<string, SlotSummary>();
  for (const a of attempts) {
    const seen = bySlot.get(a.slot);
    if (!seen) {
      bySlot.set(a.slot, { final: a, hadFailure: false });
      continue;
    }
    const [earlier, later] = seen.final.attempt <= a.attempt ? [seen.final, a] : [a, seen.final];
    bySlot.set(a.slot, { final: later, hadFailure: seen.hadFailure || FAILED.has(earlier.status) });
  }
  // A slot whose only attempt is still running is not an outcome yet.
  return [...bySlot.values()].filter((s) => s.final.status !== 'running');
}
