/**
 * A scope does not outlive its delegates unseen. A run that ends (returns, fails, hands
 * off) while delegates it started are still running would have them terminated by
 * Temporal's default parent close policy: no code of theirs runs again, so their scopes,
 * and the delegations under them, would stay `running` in the store. Instead the run
 * cancels them and waits, for a bounded time, until they have recorded their own end.
 * This module runs in the workflow sandbox: it imports no I/O.
 */
import { CancellationScope, patched, sleep, type ChildWorkflowOptions } from '@temporalio/workflow';

/** Histories recorded before this step closed runs with delegates open: they replay as they ran. */
export const CLOSE_OPEN_DELEGATES_PATCH = 'scopetrail-close-open-delegates';

/** How long a closing run waits for its cancelled delegates; past it, the parent close policy applies. */
export const OPEN_DELEGATE_GRACE_MS = 60_000;

export interface OpenDelegate {
  /** The scope the child was started in: cancelling it asks the child to cancel. */
  scope: CancellationScope;
  /** Settles when the child has closed (with the default cancellation type). */
  settled: Promise<unknown>;
}

/**
 * Only a child the server would terminate with its parent needs closing first; one with
 * another parent close policy (abandon, request cancel) records its own end anyway.
 */
export function terminatedWithParent(options: Pick<ChildWorkflowOptions, 'parentClosePolicy'>): boolean {
  const policy = options.parentClosePolicy as string | undefined;
  return policy === undefined || policy === 'TERMINATE' || policy === 'PARENT_CLOSE_POLICY_TERMINATE';
}

/** Cancels the delegates still open and waits until they have closed, or the grace has passed. */
export async function closeOpenDelegates(open: ReadonlyMap<string, OpenDelegate>): Promise<void> {
  if (open.size === 0 || !patched(CLOSE_OPEN_DELEGATES_PATCH)) return;
  // The run may be closing because it was itself cancelled: the wait must still get its timer.
  await CancellationScope.nonCancellable(async () => {
    const delegates = [...open.values()];
    for (const d of delegates) d.scope.cancel();
    const grace = new CancellationScope();
    const expired = grace.run(() => sleep(OPEN_DELEGATE_GRACE_MS)).catch(() => undefined);
    await Promise.race([Promise.allSettled(delegates.map((d) => d.settled)), expired]);
    grace.cancel();
  });
}
