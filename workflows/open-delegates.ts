/**
 * A scope does not outlive its delegates unseen. A run that ends (returns, fails, hands
 * off) while delegates it started are still running would have them terminated by
 * Temporal's default parent close policy: no code of theirs runs again, so their scopes,
 * and the delegations under them, would stay `running` in the store. Instead the run
 * cancels them and waits, for a bounded time, until they have recorded their own end.
 * This module runs in the workflow sandbox: it imports no I/O.
 */
import { CancellationScope, getExternalWorkflowHandle, patched, sleep, workflowInfo, type ChildWorkflowOptions } from '@temporalio/workflow';

/** Histories recorded before this step closed runs with delegates open: they replay as they ran. */
export const CLOSE_OPEN_DELEGATES_PATCH = 'scopetrail-close-open-delegates';

/** How long a closing run waits for its cancelled delegates; past it, the parent close policy applies. */
export const OPEN_DELEGATE_GRACE_MS = 60_000;

export interface OpenDelegate {
  /** The child's workflow id: a cancel request there reaches whichever of its runs is current. */
  workflowId: string;
  /** The scope that was current when the child started: when it is cancelled, so is the child. */
  startedIn: CancellationScope;
  /** The history length of the workflow task that asked for the child (it names that task). */
  askedInTask: number;
  /** Settles when the child has started, or failed to. */
  started: Promise<unknown>;
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

/**
 * Cancels the delegates still open and waits until they have closed, or the grace has passed.
 *
 * A delegate gets no cancellation scope of its own to be cancelled by: running one is an
 * `AsyncLocalStorage.run`, which turns Node's promise hook on for the workflow thread, so
 * that every promise made there from then on pays it, on top of the stack the SDK already
 * captures for each (bench/optimizations.md). It is asked to cancel by workflow id
 * instead, and only once the grace timer has started: histories recorded when each
 * delegate had a scope hold the timer first (the scope's cancel reached the SDK a
 * microtask later), and they must replay.
 */
export async function closeOpenDelegates(open: ReadonlyMap<string, OpenDelegate>): Promise<void> {
  if (open.size === 0 || !patched(CLOSE_OPEN_DELEGATES_PATCH)) return;
  // The run may be closing because it was itself cancelled: the wait must still get its timer.
  await CancellationScope.nonCancellable(async () => {
    const delegates = [...open.values()];
    const grace = new CancellationScope();
    const expired = grace.run(() => sleep(OPEN_DELEGATE_GRACE_MS)).catch(() => undefined);
    const task = workflowInfo().historyLength;
    // A delegate whose own scope was cancelled has been asked already, by the SDK.
    for (const d of delegates) if (!d.startedIn.consideredCancelled) requestCancel(d, d.askedInTask === task);
    await Promise.race([Promise.allSettled(delegates.map((d) => d.settled)), expired]);
    grace.cancel();
  });
}

function requestCancel(d: OpenDelegate, askedInThisTask: boolean): void {
  const ask = () => getExternalWorkflowHandle(d.workflowId).cancel();
  // Temporal refuses a cancel in the workflow task that starts the child, and one that
  // reaches it before the child has started fails: either is asked (again) once the child
  // has started. One that failed to start, or has closed since, needs none.
  (askedInThisTask ? d.started.then(ask) : ask().catch(() => d.started.then(ask))).catch(() => undefined);
}
