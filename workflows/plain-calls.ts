/**
 * An agent's own calls of activities, made with the SDK's `proxyActivities` rather than
 * `useTools`: their worker records each attempt and wraps its result as it wraps a tool's
 * (cim/envelope.ts), so the agent is handed the value, and what the envelope or the
 * failure relays goes to the store as a tool call's does.
 */
import { unwrapToolResult } from '../cim/envelope';
import { emitRelay, noteLocalEnd, type ScopeState } from './scope-state';
import { takeFailureRelay } from './failure-relay';

/** Whether the call being scheduled is the agent's own: neither useTools nor a model step reads its envelope. */
export function isPlainCall(st: ScopeState): boolean {
  return st.callerFollows !== 'asked' && !st.callerUnwraps;
}

/** `scheduled` settling with the call's value, or its failure without the relay; `localTool`: a local activity's type. */
export function plainCall(st: ScopeState, scheduled: Promise<unknown>, localTool?: string): Promise<unknown> {
  return scheduled.then(
    (result) => {
      const { value, relay } = unwrapToolResult(result);
      noteLocalEnd(st, relay?.local?.endedAt);
      emitRelay(relay);
      return value;
    },
    (err: unknown) => {
      const relay = takeFailureRelay(st, err, localTool);
      noteLocalEnd(st, relay?.local?.endedAt);
      emitRelay(relay);
      throw err;
    },
  );
}
