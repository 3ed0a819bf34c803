/**
 * The calls a run has in flight: scheduled and not yet settled, or cancelled without
 * waiting for their tools, which may still run. A run may end without awaiting some (a
 * `Promise.all` one of whose calls failed, a call started and left): its end record then
 * names them (ScopeRecord.openCalls). Their tools go on running and record their ends after
 * the scope's, so the scope is sealed only once those are in, or once the attempts in
 * flight are past their deadlines (store/open-calls.ts).
 */
import { ActivityCancellationType, ActivityFailure, TimeoutFailure, isCancellation, type ActivityInput, type LocalActivityInput } from '@temporalio/workflow';
import { encodeActivityCancellationType } from '@temporalio/common/lib/activity-options';
import { scopedActivityId } from '../cim/ids';
import type { ScopeState } from './scope-state';

export { OPEN_CALL_GRACE_MS, openCallsAt, type CallInFlight } from '../cim/open-calls';

/** Tells a followed call's end: with nothing on success, with what it failed with otherwise. */
export type CallSettled = (failure?: { error: unknown }) => void;

/**
 * `scheduled` (the SDK's promise for the call), settling once the call is no longer in flight.
 * A caller that asked to (useTools, via `st.callerFollows`) is handed the call's CallSettled
 * and gets the SDK's promise as it is: it settles the call first thing in its own handlers,
 * one promise per call instead of two, each a captured, source-mapped stack in the sandbox.
 */
export function trackCall(st: ScopeState, input: ActivityInput, scheduled: Promise<unknown>): Promise<unknown> {
  const { seq, options } = input;
  st.callsInFlight.set(seq, {
    // The SDK's own default, which the activity's worker sees as its id.
    activityId: scopedActivityId(options.activityId ?? `${seq}`, st.ctx.continuation?.run),
    scheduledAtMs: Date.now(),
    startToClose: options.startToCloseTimeout,
    scheduleToClose: options.scheduleToCloseTimeout,
  });
  return settledBy(st, scheduled, (failure) => {
    // Cancelled without waiting for the tool (TRY_CANCEL, the SDK's default, or ABANDON):
    // the call settles at once, and a tool that does not heartbeat runs on.
    if (!failure || !isCancellation(failure.error) || waitsForTool(options.cancellationType)) st.callsInFlight.delete(seq);
  });
}

/**
 * A local call cannot outlive its run while it is in flight (the workflow task waits for
 * it), except after a timeout: the SDK's core settles the call at the attempt's deadline
 * without waiting for the tool, whose worker records the attempt timed out a moment later,
 * as the run may be ending. Such a call stays followed, its deadline already passed.
 */
export function trackLocalCall(st: ScopeState, input: LocalActivityInput, scheduled: Promise<unknown>): Promise<unknown> {
  const { seq } = input;
  st.callsInFlight.set(seq, {
    // The SDK names a local activity by its sequence number.
    activityId: scopedActivityId(`${seq}`, st.ctx.continuation?.run),
    scheduledAtMs: Date.now(),
    startToClose: 0,
    scheduleToClose: undefined,
  });
  return settledBy(st, scheduled, (failure) => {
    const call = st.callsInFlight.get(seq);
    if (call && failure && failure.error instanceof ActivityFailure && failure.error.cause instanceof TimeoutFailure) call.timedOutAtMs = Date.now();
    else st.callsInFlight.delete(seq);
  });
}

/** Hands `settled` to the caller that asked for it, or chains it on `scheduled`. */
function settledBy(st: ScopeState, scheduled: Promise<unknown>, settled: CallSettled): Promise<unknown> {
  if (st.callerFollows === 'asked') {
    st.callerFollows = settled;
    return scheduled;
  }
  return scheduled.then(
    (value) => {
      settled();
      return value;
    },
    (err: unknown) => {
      settled({ error: err });
      throw err;
    },
  );
}

function waitsForTool(type: ActivityInput['options']['cancellationType']): boolean {
  return encodeActivityCancellationType(type) === encodeActivityCancellationType(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED);
}
