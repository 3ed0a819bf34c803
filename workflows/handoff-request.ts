/**
 * A handoff asked for by signal waits for the agent's next checkpoint(). Its row is
 * written `running` when the request is accepted, and its end when the run ends: a run
 * that ends without handing off to the agent the request names has dropped it, and the
 * row says so (`error`, with why) instead of leaving it a success nobody honoured.
 * The rule is cim/handoff-request.ts, which reconcile and the client apply to history.
 */
import { patched } from '@temporalio/workflow';
import { unhonouredHandoffReason, type RunEnd } from '../cim/handoff-request';
import { emitAction, now, type ScopeState } from './scope-state';

/** The patch that marks the histories in which a run records its pending request's fate. */
export const SETTLED_HANDOFF_PATCH = 'scopetrail-handoff-request-fate';

/**
 * Records the fate of the request pending as the run ends `end`. Called before the scope's
 * own end is emitted: the row reaches the store in the same batch, ahead of the end that
 * lets the scope be sealed.
 */
export function settleHandoffRequest(st: ScopeState, end: RunEnd): void {
  const row = st.requestedHandoffRow;
  const req = st.requestedHandoff;
  if (!row || !req) return;
  st.requestedHandoffRow = undefined;
  // A history an earlier build recorded (which wrote no such end) must not change, on a
  // replay, the row its sealed scope holds; one this build recorded says so with its patch
  // marker, so a replay writes the end again, as it does every record (a worker that died
  // before its sink wrote it).
  if (!patched(SETTLED_HANDOFF_PATCH)) return;
  const reason = unhonouredHandoffReason(req.to, end);
  emitAction({ ...row, status: reason === null ? 'success' : 'error', error: reason, endedAt: now() });
}
