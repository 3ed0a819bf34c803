/**
 * A failed call's relayed records (worker/failure-relay.ts): taken off the failure
 * before user code sees it, so the failure's details are the tool's own again, and
 * passed on like a successful call's relay. Only the failed call's own attempt rows
 * are kept; the sink checks them again against this run (worker/sinks.ts).
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { splitRelayDetails, type ToolRelay } from '../cim/envelope';
import { scopedActivityId } from '../cim/ids';
import type { ActionRecord } from '../cim/schemas';
import type { ScopeState } from './scope-state';

export function takeFailureRelay(st: ScopeState, err: unknown, localTool?: string): ToolRelay | undefined {
  let failure: ApplicationFailure;
  let ours: (a: Partial<ActionRecord>) => boolean;
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.activityId) {
    failure = err.cause;
    const activityId = scopedActivityId(err.activityId, st.ctx.continuation?.run);
    ours = (a) => a.activityId === activityId;
  } else if (localTool !== undefined && err instanceof ApplicationFailure) {
    // A local activity's failure reaches the workflow as the tool's own, with no activity id.
    failure = err;
    ours = (a) => a.name === localTool && typeof a.activityId === 'string';
  } else return undefined;
  const details = failure.details;
  if (!details?.length) return undefined;
  const { relay, rest } = splitRelayDetails(details);
  if (!relay) return undefined;
  (failure as { details: unknown[] }).details = rest;
  const own = (records: unknown): ActionRecord[] =>
    Array.isArray(records)
      ? records.filter((r): r is ActionRecord => {
          const a = r as Partial<ActionRecord> | null;
          return a !== null && typeof a === 'object' && a.scopeId === st.ctx.scopeId && ours(a);
        })
      : [];
  const local = relay.local;
  const valid = local !== null && typeof local === 'object' && typeof local.endedAt === 'string' && typeof local.activityId === 'string';
  return { actions: own(relay.actions), gaps: own(relay.gaps), ...(valid ? { local: { endedAt: local.endedAt, activityId: local.activityId } } : {}) };
}
