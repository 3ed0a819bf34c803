/**
 * The worker end of the workflow sink. Called with `callDuringReplay: true`: the SDK
 * awaits sink calls before it completes the workflow task, so a worker that dies
 * before a record is committed leaves the task uncompleted, the task is replayed,
 * and the replay re-emits the record under the same deterministic id.
 *
 * Each record is stamped with the Worker Deployment Version of the workflow task that
 * emitted it. The SDK reads that from history when it replays (WorkflowTaskCompleted
 * carries it), so a replay re-emits the build that first ran the task, never its own.
 */
import type { InjectedSinks } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import type { ActionRecord, ScopeRecord, ResourceRef } from '../cim/schemas';
import { parseActionRecord, parseScopeRecord } from '../store/row-check';
import type { ScopetrailSinks, SinkEvent } from '../workflows/sinks';
import { digest, digestOfJson } from '../store/digest';
import type { Recorder } from './recorder';
import type { Fingerprinter } from './fingerprint-key';
import type { FingerprintRecord } from '../store/fingerprint-store';
import type { PayloadRecord } from '../store/types';

export function scopetrailSinks(
  recorder: Recorder,
  log: (msg: string, err?: unknown) => void,
  fingerprinter?: Fingerprinter,
  /** The resources a tool of this worker declares (by activity type), for rows the workflow reconstructs. */
  declaredResources?: (tool: string) => readonly ResourceRef[] | undefined,
): InjectedSinks<ScopetrailSinks> {
  return {
    scopetrail: {
      record: {
        callDuringReplay: true,
        fn: async (info: WorkflowInfo, events: SinkEvent[]) => {
          try {
            await recordEvents(info, events);
          } catch (err) {
            // Never thrown into the SDK: it would log the error with the task's WorkflowInfo,
            // whose memo it has decoded (the objective), and complete the task all the same.
            log(`could not record ${events.length} events of ${info.workflowType} ${info.workflowId} (run ${info.runId}): ${reasonOf(err)}`);
          }
        },
      },
    },
  };

  async function recordEvents(info: WorkflowInfo, events: SinkEvent[]): Promise<void> {
    const worker = workerOfTask(info);
    const scopes: ScopeRecord[] = [];
    const actions: ActionRecord[] = [];
    const gaps: ActionRecord[] = [];
    const fingerprints: FingerprintRecord[] = [];
    const payloads: PayloadRecord[] = [];
    for (const event of events) {
      if (event.type === 'payload') {
        payloads.push(event.record);
      } else if (event.type === 'output') {
        if (!fingerprinter) continue;
        // Provenance is best effort: an output that cannot be fingerprinted never fails the workflow.
        try {
          const { value, ...source } = event.record;
          fingerprints.push(...fingerprinter.records({ ...source, sourceId: source.scopeId, kind: 'agent_output' }, value));
        } catch (err) {
          log(`could not fingerprint the output of ${event.record.scopeId}`, err);
        }
      } else if (event.type === 'relay') {
        actions.push(...relayed(event.actions, info, log));
        gaps.push(...relayed(event.gaps, info, log));
      } else if (event.type === 'scope') {
        const parsed = parseScopeRecord(event.record);
        if (parsed.success) scopes.push({ ...parsed.data, ...worker });
        else log(`dropping malformed scope record ${event.record.scopeId}`, parsed.error);
      } else {
        const { input, inputJson, ...rest } = event.record;
        const inputDigest = typeof inputJson === 'string' ? digestOfJson(inputJson) : input === undefined ? null : digest(input);
        // Workflow-side actions have no output of their own: a delegation's is its child's result.
        const parsed = parseActionRecord({ ...rest, inputDigest, outputDigest: null });
        if (!parsed.success) log(`dropping malformed action record ${rest.actionId}`, parsed.error);
        else if (event.type === 'gap') gaps.push({ ...withDeclaredResources(parsed.data, declaredResources), ...worker });
        else actions.push({ ...parsed.data, ...worker });
      }
    }
    await recorder.write({ scopes, actions, gaps, fingerprints, payloads });
  }
}

/** An error's first line: a recorder's errors name records by id and never quote their content. */
function reasonOf(err: unknown): string {
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).split('\n')[0]!;
}

/**
 * A tool's relayed records (ToolRelay in cim/envelope.ts), read back from Temporal history:
 * taken only as this run's own records, and as the tool's worker built them (its build,
 * not this task's).
 */
function relayed(records: readonly unknown[], info: Pick<WorkflowInfo, 'namespace' | 'workflowId'>, log: (msg: string, err?: unknown) => void): ActionRecord[] {
  const out: ActionRecord[] = [];
  for (const record of records) {
    const parsed = parseActionRecord(record);
    if (!parsed.success) log(`dropping malformed relayed action record ${(record as { actionId?: unknown }).actionId}`, parsed.error);
    else if (parsed.data.namespace !== info.namespace || parsed.data.workflowId !== info.workflowId) {
      log(`dropping relayed action record ${parsed.data.actionId}: it belongs to ${parsed.data.namespace}/${parsed.data.workflowId}, not this run`);
    } else out.push(parsed.data);
  }
  return out;
}

/**
 * The deployment and build of the worker that executed (or, in history, first executed) the
 * current workflow task. Only a worker in a Worker Deployment counts: an unversioned one
 * still reports a build id of its own (the SDK's, derived from the bundle), which names no
 * deployed build.
 */
export function workerOfTask(info: Pick<WorkflowInfo, 'currentDeploymentVersion'>): Pick<ActionRecord, 'workerDeployment' | 'workerBuildId'> {
  const version = info.currentDeploymentVersion;
  if (!version?.buildId || !version.deploymentName) return {};
  return { workerDeployment: version.deploymentName, workerBuildId: version.buildId };
}

/**
 * A tool attempt the workflow fills in (its worker was lost before the attempt said how it
 * ended) may have touched what its tool declares: the row says so, as the fill its next
 * attempt writes does, so that `footprint` and `touched` never answer from its absence.
 */
function withDeclaredResources(
  record: ActionRecord,
  declared: ((tool: string) => readonly ResourceRef[] | undefined) | undefined,
): ActionRecord {
  if (!declared || record.resources.length > 0 || record.attributes.reconstructed !== true) return record;
  if (record.kind !== 'tool_call' && record.kind !== 'llm_call') return record;
  const resources = declared(record.name);
  return resources?.length ? { ...record, resources: [...resources] } : record;
}
