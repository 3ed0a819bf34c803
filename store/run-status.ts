/**
 * Which workflow runs are still open in Temporal. A scope's end is recorded before the
 * workflow task that ends it is completed, and the server may refuse that completion (a
 * signal, a child's or a call's end arrived while the task ran: UnhandledCommand). The
 * run then goes on in a new task that records its end again, with what arrived. Its
 * scope is sealed only once history has closed the run, so a seal never holds an end
 * that Temporal did not keep.
 */
import { WorkflowNotFoundError, isGrpcServiceError, type ConnectionLike } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NamespaceClients } from './namespace-clients';
import { limiter } from './limiter';

export interface RunRef {
  namespace: string;
  workflowId: string;
  runId: string;
}

export interface RunStatus {
  /** The runs among `runs` that Temporal still shows running, keyed by runKey. */
  openRuns(runs: readonly RunRef[]): Promise<Set<string>>;
  /** A run known closed without asking (worker/ended-runs.ts): Temporal is not asked about it. */
  knownClosed?(run: RunRef): boolean;
}

export function runKey(run: RunRef): string {
  return `${run.namespace}\u0000${run.workflowId}\u0000${run.runId}`;
}

const GRPC_INVALID_ARGUMENT = 3;
const GRPC_NOT_FOUND = 5;
const RUNNING = temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;

export class TemporalRunStatus implements RunStatus {
  private readonly clients: NamespaceClients;
  private readonly limit = limiter(8);

  constructor(connection: ConnectionLike) {
    this.clients = new NamespaceClients(connection);
  }

  async openRuns(runs: readonly RunRef[]): Promise<Set<string>> {
    const unique = new Map(runs.map((r) => [runKey(r), r]));
    const open = new Set<string>();
    await Promise.all(
      [...unique].map(([key, run]) =>
        this.limit(async () => {
          if (await this.isOpen(run)) open.add(key);
        }),
      ),
    );
    return open;
  }

  private async isOpen(run: RunRef): Promise<boolean> {
    try {
      const res = await this.clients.get(run.namespace).workflowService.describeWorkflowExecution({
        namespace: run.namespace,
        execution: { workflowId: run.workflowId, runId: run.runId },
      });
      return res.workflowExecutionInfo?.status === RUNNING;
    } catch (err) {
      // Gone from Temporal (retention, a deleted namespace's run): nothing more can be written by it.
      if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND)) return false;
      // A run Temporal cannot even name (a row written in the database, not by a worker) never
      // ran there; asking again would only keep every scope sealed with it waiting.
      if (isGrpcServiceError(err) && err.code === GRPC_INVALID_ARGUMENT) return false;
      throw err;
    }
  }
}
