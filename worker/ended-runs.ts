/**
 * Runs this worker saw Temporal close: the SDK evicts a run with the reason
 * WORKFLOW_EXECUTION_ENDING only after the server accepted the workflow task completion
 * that carried its terminal command (return, failure, continue-as-new). A refused
 * completion (UnhandledCommand) evicts with another reason, and the run goes on. So a
 * run named here needs no `DescribeWorkflowExecution` before its scopes are sealed
 * (store/run-status.ts): the sealer asks Temporal only about runs another worker
 * finished, or that finished before this worker started.
 */
import type { EventEmitter } from 'node:events';
import type { Worker } from '@temporalio/worker';
import { coresdk } from '@temporalio/proto';
import type { RunRef, RunStatus } from '../store/run-status';

const ENDING = coresdk.workflow_activation.RemoveFromCache.EvictionReason.WORKFLOW_EXECUTION_ENDING;

/** Enough for every run a busy worker closes while its scopes wait to be sealed; the oldest go first. */
const KEEP = 100_000;

export class EndedRuns {
  private readonly ended = new Set<string>();

  constructor(private readonly keep = KEEP) {}

  add(namespace: string, runId: string): void {
    const key = `${namespace}\u0000${runId}`;
    if (this.ended.has(key)) return;
    this.ended.add(key);
    if (this.ended.size > this.keep) this.ended.delete(this.ended.values().next().value!);
  }

  has(run: Pick<RunRef, 'namespace' | 'runId'>): boolean {
    return this.ended.has(`${run.namespace}\u0000${run.runId}`);
  }

  get size(): number {
    return this.ended.size;
  }
}

interface Eviction {
  runId?: unknown;
  evictJob?: { reason?: unknown } | null;
}

/**
 * Notes in `ended` every run `worker` closes. The SDK keeps its evictions on a protected
 * emitter; where a release lacks it, nothing is noted, and every run is asked about as
 * before. Returns the function that stops watching.
 */
export function watchEndedRuns(worker: Worker, ended: EndedRuns): () => void {
  const emitter = (worker as unknown as { evictionsEmitter?: EventEmitter }).evictionsEmitter;
  if (typeof emitter?.on !== 'function') return () => undefined;
  const namespace = worker.options.namespace;
  const listener = (e: Eviction) => {
    if (e.evictJob?.reason === ENDING && typeof e.runId === 'string') ended.add(namespace, e.runId);
  };
  emitter.on('eviction', listener);
  return () => emitter.off('eviction', listener);
}

/** Runs this worker saw closed are closed; Temporal is asked about the others. */
export class EndedRunsFirst implements RunStatus {
  constructor(
    private readonly ended: EndedRuns,
    private readonly temporal: RunStatus,
  ) {}

  knownClosed(run: RunRef): boolean {
    return this.ended.has(run);
  }

  async openRuns(runs: readonly RunRef[]): Promise<Set<string>> {
    const ask = runs.filter((r) => !this.ended.has(r));
    return ask.length === 0 ? new Set() : this.temporal.openRuns(ask);
  }
}
