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
import { VISIBILITY_MEMO, STORE_MEMO } from '../cim/names';

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
const STATUS = temporal.api.enums.v1.WorkflowExecutionStatus;
const RUNNING = STATUS.WORKFLOW_EXECUTION_STATUS_RUNNING;

/**
 * How a run stands: `open`; `closed` by its workflow's code (completed, failed, cancelled,
 * continued as new), which recorded its scope's end; `closed_without_agent` (terminated or
 * timed out: no code ran to record it); `gone` from Temporal (retention, never there).
 */
export type RunClose = 'open' | 'closed' | 'closed_without_agent' | 'gone';

export class TemporalRunStatus implements RunStatus {
  private readonly clients: NamespaceClients;
  private readonly limit = limiter(8);

  constructor(connection: ConnectionLike) {
    this.clients = new NamespaceClients(connection);
  }

  async openRuns(runs: readonly RunRef[]): Promise<Set<string>> {
    const closes = await this.closes(runs);
    return new Set([...closes].filter(([, close]) => close === 'open').map(([key]) => key));
  }

  /** How each of `runs` stands, keyed by runKey. */
  async closes(runs: readonly RunRef[]): Promise<Map<string, RunClose>> {
    const unique = new Map(runs.map((r) => [runKey(r), r]));
    const out = new Map<string, RunClose>();
    await Promise.all([...unique].map(([key, run]) => this.limit(async () => void out.set(key, await this.closeOf(run)))));
    return out;
  }

  private async closeOf(run: RunRef): Promise<RunClose> {
    try {
      const res = await this.clients.get(run.namespace).workflowService.describeWorkflowExecution({
        namespace: run.namespace,
        execution: { workflowId: run.workflowId, runId: run.runId },
      });
      const status = res.workflowExecutionInfo?.status;
      if (status === RUNNING) return 'open';
      return status === STATUS.WORKFLOW_EXECUTION_STATUS_TERMINATED || status === STATUS.WORKFLOW_EXECUTION_STATUS_TIMED_OUT ? 'closed_without_agent' : 'closed';
    } catch (err) {
      // Gone from Temporal (retention, a deleted namespace's run): nothing more can be written by it.
      if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND)) return 'gone';
      // A run Temporal cannot even name (a row written in the database, not by a worker) never
      // ran there; asking again would only keep every scope sealed with it waiting.
      if (isGrpcServiceError(err) && err.code === GRPC_INVALID_ARGUMENT) return 'gone';
      throw err;
    }
  }
}

/**
 * A run visibility lists as closed without agent code; `session`: its memo marks it a session's root,
 * started by scopetrail's client; `store`: the mark of the store that client read (store/store-mark.ts),
 * where its memo says so readably (not under a payload codec).
 */
/** `type`: the run's workflow type, where visibility gave it. */
export type ListedRun = RunRef & { session: boolean; store?: string; type?: string };

/**
 * Runs of `namespace` Temporal terminated or timed out since `sinceIso`, from its visibility
 * (the raw service call: memos are not decoded, so no payload codec is needed). The newest
 * 1 000 at most: whoever asks finds the rest another way (worker/unended-scopes.ts walks the store).
 */

export async function runsClosedWithoutAgent(connection: ConnectionLike, namespace: string, sinceIso: string): Promise<ListedRun[]> {
  // An ISO time of this process's own making: nothing of a caller's reaches the query.
  const since = new Date(sinceIso).toISOString();
  const res = await connection.workflowService.listWorkflowExecutions({
    namespace,
    pageSize: 1_000,
    query: `(ExecutionStatus = 'Terminated' OR ExecutionStatus = 'TimedOut') AND CloseTime > '${since}'`,
  });
  return (res.executions ?? []).flatMap((e) =>
    e.execution?.workflowId && e.execution.runId
      ? [{
          namespace,
          workflowId: e.execution.workflowId,
          runId: e.execution.runId,
          session: e.memo?.fields?.[VISIBILITY_MEMO] !== undefined,
          ...withStore(plainText(e.memo?.fields?.[STORE_MEMO])),
          ...(e.type?.name ? { type: e.type.name } : {}),
        }]
      : [],
  );
}

function withStore(mark: string | undefined): { store?: string } {
  return mark === undefined ? {} : { store: mark };
}

/** A memo value written as JSON text by Temporal's default converter; undefined under a codec or any other encoding. */
function plainText(payload: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null } | null | undefined): string | undefined {
  const encoding = payload?.metadata?.encoding;
  if (!payload?.data || !encoding || Buffer.from(encoding).toString('utf8') !== 'json/plain') return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(payload.data).toString('utf8'));
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
