/**
 * What failed a scope, named from the error its agent let out. Agent code may catch a
 * failure and go on, or fail later for reasons of its own; the failure that ended the
 * scope is the one thrown out of it, or wrapped as the cause of what was. Bound here,
 * when the scope fails, so that forensics need not guess it from the records afterwards
 * (cim/forensics/root-cause.ts).
 */
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';
import { scopedActivityId } from '../cim/ids';

/** How many causes deep to look: a cause chain is short; a cycle must not hang the workflow. */
const MAX_DEPTH = 20;

/**
 * A delegation's scope id when its failure (a DelegationError, or a child's failure as
 * it is) passed up; a call's activity id (scoped to the run, as its actions are) when a
 * tool or model call's did; else the scope's own id: its own code failed.
 */
export function failureSource(err: unknown, scopeId: string, run: number | undefined): string {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < MAX_DEPTH; depth++) {
    // delegate() gives up with a DelegationError naming the scope of its last attempt.
    if (e instanceof ApplicationFailure && e.type === 'DelegationError') {
      const failed = (e.details?.[0] as { scopeId?: unknown } | undefined)?.scopeId;
      if (typeof failed === 'string' && failed !== '') return failed;
    }
    if (e instanceof ChildWorkflowFailure && e.execution?.workflowId) return e.execution.workflowId;
    if (e instanceof ActivityFailure && e.activityId) return scopedActivityId(e.activityId, run);
    e = (e as { cause?: unknown }).cause;
  }
  return scopeId;
}
