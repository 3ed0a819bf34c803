/**
 * The Temporal side of reconcile: reads the histories of a session — the root
 * workflow's continue-as-new chain and, recursively, every child workflow with its own
 * chain — and reduces each run to the `RunFacts` that cim/reconcile.ts compares with
 * the store. Reads only histories (strongly consistent); no visibility query is needed.
 */
import { ScopetrailError } from '../cim/errors';
import { isGrpcServiceError, type Client, type WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { decode } from '@temporalio/common/lib/internal-non-workflow';
import { CodecRequiredError } from '../store/text-codec';
import { SCOPE_HEADER, decodeScopeHeader } from '../cim/header';
import { z } from 'zod';
import { unwrapAgentResult, unwrapToolResult } from '../cim/envelope';
import { digest } from '../store/digest';
import { rootScopeId } from '../cim/ids';
import { conversationReferenceIn } from '../cim/model-step';
import { BUDGET_EXCEEDED } from '../cim/budget';
import { OBJECTIVE_MEMO, SCOPE_MEMO, VISIBILITY_MEMO } from '../cim/names';
import { ResourceRef, ScopeStatus } from '../cim/schemas';
import type { ActivityFacts, ChildFacts, RunFacts, SignalFacts } from '../cim/reconcile';
import { LOCAL_ACTIVITY_MARKER, localActivityFacts, type LocalActivityMarker } from '../cim/local-activities';
import { temporal } from '@temporalio/proto';
import { limiter } from '../store/limiter';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/** How many histories are fetched at once. */
const CONCURRENCY = 8;
/** A continue-as-new chain longer than this is taken for a loop in the data, not a session. */
const MAX_CHAIN = 100_000;
const GRPC_NOT_FOUND = 5;

export class SessionNotFoundError extends ScopetrailError {
  /**
   * `sessionOf`: the session the id's workflow belongs to, when Temporal has the workflow
   * but it is a delegation inside that session, not a session of its own.
   */
  constructor(readonly sessionId: string, message = `no session "${sessionId}" in Temporal`, readonly sessionOf?: string) {
    super(message, 'sessionId');
    this.name = 'SessionNotFoundError';
  }
}

/** The id names a delegation's workflow: its runs are part of `sessionOf`'s, not a session to check alone. */
export function delegationNotSession(id: string, scope: { sessionId: string; kind: string }): SessionNotFoundError {
  return new SessionNotFoundError(
    id,
    `"${id}" is not a session: it is a ${scope.kind} scope inside session "${scope.sessionId}" (its workflow's start says so); ` +
      `give the session's id, or ask about the scope with actions, footprint, touched or status`,
    scope.sessionId,
  );
}

/**
 * Every run of a session, root chain first (in chain order), then each child's chain
 * after the run that started it, depth first. `onProgress` is called with the number of
 * histories read so far.
 */
export async function collectSessionRuns(
  client: Client,
  sessionId: string,
  onProgress?: (done: number) => void,
  /** Keep each completed call's and run's result value (RunFacts outputs), for checks that need the outputs themselves. */
  options: { outputs?: boolean } = {},
): Promise<RunFacts[]> {
  const limit = limiter(CONCURRENCY);
  let done = 0;
  const decode = client.options.loadedDataConverter;

  const read = (workflowId: string, runId?: string): Promise<RunFacts | undefined> =>
    limit(async () => {
      let history: History;
      try {
        history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
      done += 1;
      onProgress?.(done);
      return runFacts(workflowId, runId, history, decode, options.outputs);
    });

  const mustRead = async (workflowId: string, runId: string, what: string): Promise<RunFacts> => {
    const run = await read(workflowId, runId);
    if (!run) throw new Error(`history of ${what} (workflow "${workflowId}", run ${runId}) of session "${sessionId}" not found in Temporal`);
    return run;
  };

  /** A chain in order, from any run of it: backwards to its first run, then forwards to its last. */
  const chainFrom = async (workflowId: string, from: RunFacts): Promise<RunFacts[]> => {
    const chain = [from];
    while (chain[0]!.previousRunId) {
      if (chain.length > MAX_CHAIN) throw new Error(`continue-as-new chain of "${workflowId}" is longer than ${MAX_CHAIN} runs`);
      chain.unshift(await mustRead(workflowId, chain[0]!.previousRunId, 'an earlier run'));
    }
    for (let next = chain.at(-1)!.close.nextRunId; next; next = chain.at(-1)!.close.nextRunId) {
      if (chain.length > MAX_CHAIN) throw new Error(`continue-as-new chain of "${workflowId}" is longer than ${MAX_CHAIN} runs`);
      chain.push(await mustRead(workflowId, next, 'a later run'));
    }
    // The next run's own header is the authority on its scope (it is the one the CAN event carried).
    for (let i = 0; i + 1 < chain.length; i++) {
      const [run, next] = [chain[i]!, chain[i + 1]!];
      if (run.continuedAs && run.continuedAs.nextRunId === next.runId) {
        run.continuedAs.nextScopeId = next.scope?.scopeId ?? rootScopeId(next.workflowId);
        run.continuedAs.nextKind = next.scope?.kind ?? 'root';
        run.continuedAs.nextWorkflowType = next.workflowType;
      }
    }
    return chain;
  };

  /** A chain and, after each run, the subtrees of the children it started. */
  const subtree = async (chain: RunFacts[]): Promise<RunFacts[]> => {
    const parts = await Promise.all(
      chain.map(async (run) => {
        const children = await Promise.all(run.children.map((c) => childSubtree(c)));
        return [run, ...children.flat()];
      }),
    );
    return parts.flat();
  };

  const childSubtree = async (child: ChildFacts): Promise<RunFacts[]> => {
    if (child.close === 'start_failed') return [];
    let first: RunFacts | undefined;
    if (child.runId) first = await mustRead(child.workflowId, child.runId, 'a child workflow');
    else {
      // Initiated, but the parent has not seen it start yet: the child may or may not exist.
      first = await read(child.workflowId);
      if (!first) return [];
    }
    return subtree(await chainFrom(child.workflowId, first));
  };

  const latest = await read(sessionId);
  if (!latest) throw new SessionNotFoundError(sessionId);
  const root = await chainFrom(sessionId, latest);
  // A session's first run carries no scope header, or one of its own session (a handoff's); a
  // delegation's child workflow carries its session's. Walked as a session, a delegation's
  // runs would be compared with no rows and reported missing from the store.
  const first = root[0]!.scope;
  if (first && first.sessionId !== sessionId) throw delegationNotSession(sessionId, first);
  return subtree(root);
}

/**
 * The session a workflow belongs to and when that session started, from the first event of
 * its runs alone: a delegation's or a handoff's header carries both; a root's first run
 * (no header) started the session, so a root chain is walked back to it. Undefined when
 * Temporal has no such workflow (never started, or past the namespace's retention).
 */
export async function sessionStartOf(client: Client, workflowId: string): Promise<{ sessionId: string; sessionStartedAt: string } | undefined> {
  let runId = '';
  for (let runs = 0; runs <= MAX_CHAIN; runs++) {
    let first: HistoryEvent | undefined;
    try {
      const page = await client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId, runId },
        maximumPageSize: 1,
      });
      first = page.history?.events?.[0] ?? undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const started = first?.workflowExecutionStartedEventAttributes;
    if (!first || !started) return undefined;
    const scope = decodeScopeHeader(headerPayload(started.header));
    if (scope?.sessionStartedAt) return { sessionId: scope.sessionId, sessionStartedAt: scope.sessionStartedAt };
    if (!started.continuedExecutionRunId) {
      const at = eventTime(first.eventTime);
      // Only a root's first run, which carries no header, started its session.
      return scope || !at ? undefined : { sessionId: workflowId, sessionStartedAt: at };
    }
    runId = started.continuedExecutionRunId;
  }
  throw new Error(`continue-as-new chain of "${workflowId}" is longer than ${MAX_CHAIN} runs`);
}

/** What one run's history says (its continue-as-new read from the event and the header it carried). */
export async function readRunFacts(client: Client, workflowId: string, runId: string): Promise<RunFacts> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return runFacts(workflowId, runId, history, client.options.loadedDataConverter);
}

// ------------------------------------------------------------------- history → facts

type DataConverter = Client['options']['loadedDataConverter'];

function eventTime(t: { seconds?: unknown; nanos?: number | null } | null | undefined): string | null {
  const ms = durationMs(t);
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** A protobuf Timestamp or Duration in whole milliseconds; undefined when absent. */
function durationMs(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  if (!t || t.seconds === undefined || t.seconds === null) return undefined;
  return num(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

async function runFacts(workflowId: string, requestedRunId: string | undefined, history: History, converter: DataConverter, outputs = false): Promise<RunFacts> {
  const events = history.events ?? [];
  const first = events[0];
  const started = first?.workflowExecutionStartedEventAttributes;
  if (!first || !started) throw new Error(`history of workflow "${workflowId}" does not begin with WorkflowExecutionStarted`);
  // originalExecutionRunId is the run's id as started (a reset would change the run id, not it).
  const runId = requestedRunId || started.originalExecutionRunId || '';
  const facts: RunFacts = {
    workflowId,
    runId,
    workflowType: started.workflowType?.name ?? '',
    scope: decodeScopeHeader(headerPayload(started.header)) ?? null,
    previousRunId: started.continuedExecutionRunId || null,
    startedByScopetrail: headerPayload(started.header) !== undefined || [OBJECTIVE_MEMO, VISIBILITY_MEMO, SCOPE_MEMO].some((k) => started.memo?.fields?.[k] !== undefined),
    startedAt: eventTime(first.eventTime),
    objective: await memoObjective(started.memo?.fields?.[OBJECTIVE_MEMO], converter, workflowId),
    close: { kind: 'open' },
    children: [],
    activities: [],
    signals: [],
    continuedAs: null,
    taskBuildIds: [],
  };

  const children = new Map<number, ChildFacts>();
  const activities = new Map<number, ActivityFacts>();
  /** Completed workflow tasks: [startedEventId, completedEventId]. */
  const tasks: Array<[number, number]> = [];
  const signals: Array<SignalFacts & { payloads: unknown }> = [];
  const markers: LocalActivityMarker[] = [];
  /** The event that closed each child, to tell whether a workflow task of the run has taken it in. */
  const childClosedAt = new Map<ChildFacts, number>();

  for (const e of events) {
    const id = num(e.eventId);
    if (e.workflowTaskCompletedEventAttributes) {
      const t = e.workflowTaskCompletedEventAttributes;
      tasks.push([num(t.startedEventId), id]);
      // The deployment version of a worker in a Worker Deployment; an unversioned worker names none.
      const version = t.deploymentVersion?.deploymentName ? t.deploymentVersion : t.deployment?.seriesName ? t.deployment : null;
      const build = version?.buildId;
      if (build && !facts.taskBuildIds!.includes(build)) facts.taskBuildIds!.push(build);
    } else if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      const input = await decodePayloads(converter, a.input?.payloads, workflowId);
      const scheduledAtMs = durationMs(e.eventTime);
      const startToCloseMs = durationMs(a.startToCloseTimeout);
      const scheduleToCloseMs = durationMs(a.scheduleToCloseTimeout);
      activities.set(id, {
        activityId: a.activityId ?? '',
        activityType: a.activityType?.name ?? '',
        scheduledEventId: id,
        lastAttempt: null,
        close: 'open',
        // The worker digests the first argument as it decoded it; so does this.
        ...(input ? { inputDigest: digest(input[0]) } : {}),
        ...(a.taskQueue?.name && started.taskQueue?.name && a.taskQueue.name !== started.taskQueue.name ? { otherTaskQueue: true } : {}),
        ...(scheduledAtMs !== undefined ? { scheduledAtMs } : {}),
        // Zero is "not set" in Temporal's protos.
        ...(startToCloseMs ? { startToCloseMs } : {}),
        ...(scheduleToCloseMs ? { scheduleToCloseMs } : {}),
      });
    } else if (e.activityTaskStartedEventAttributes) {
      const a = activities.get(num(e.activityTaskStartedEventAttributes.scheduledEventId));
      if (a) {
        a.lastAttempt = e.activityTaskStartedEventAttributes.attempt ?? 1;
        const build = e.activityTaskStartedEventAttributes.workerVersion?.buildId;
        if (build) a.lastAttemptBuildId = build;
      }
    } else if (e.activityTaskCompletedEventAttributes) {
      const c = e.activityTaskCompletedEventAttributes;
      closeActivity(activities, c.scheduledEventId, 'completed');
      const a = activities.get(num(c.scheduledEventId));
      const result = (await decodePayloads(converter, c.result?.payloads, workflowId))?.[0];
      if (a && result !== undefined) a.result = toolResult(result, outputs);
    } else if (e.activityTaskFailedEventAttributes) {
      const f = e.activityTaskFailedEventAttributes;
      closeActivity(activities, f.scheduledEventId, 'failed');
      const a = activities.get(num(f.scheduledEventId));
      if (a && f.failure) a.failureMessage = (await failureMessages(f.failure, converter, workflowId))[0] ?? '';
    } else if (e.activityTaskTimedOutEventAttributes) {
      closeActivity(activities, e.activityTaskTimedOutEventAttributes.scheduledEventId, 'timed_out');
    } else if (e.activityTaskCanceledEventAttributes) {
      closeActivity(activities, e.activityTaskCanceledEventAttributes.scheduledEventId, 'canceled');
    } else if (e.startChildWorkflowExecutionInitiatedEventAttributes) {
      const c = e.startChildWorkflowExecutionInitiatedEventAttributes;
      children.set(id, {
        workflowId: c.workflowId ?? '',
        workflowType: c.workflowType?.name ?? '',
        eventId: id,
        workflowTaskCompletedEventId: num(c.workflowTaskCompletedEventId),
        runId: null,
        close: 'open',
      });
    } else if (e.startChildWorkflowExecutionFailedEventAttributes) {
      closeChild(children, e.startChildWorkflowExecutionFailedEventAttributes.initiatedEventId, 'start_failed', childClosedAt, id);
    } else if (e.childWorkflowExecutionStartedEventAttributes) {
      const c = children.get(num(e.childWorkflowExecutionStartedEventAttributes.initiatedEventId));
      if (c) c.runId = e.childWorkflowExecutionStartedEventAttributes.workflowExecution?.runId || null;
    } else if (e.childWorkflowExecutionCompletedEventAttributes) {
      closeChild(children, e.childWorkflowExecutionCompletedEventAttributes.initiatedEventId, 'completed', childClosedAt, id);
    } else if (e.childWorkflowExecutionFailedEventAttributes) {
      closeChild(children, e.childWorkflowExecutionFailedEventAttributes.initiatedEventId, 'failed', childClosedAt, id);
    } else if (e.childWorkflowExecutionCanceledEventAttributes) {
      closeChild(children, e.childWorkflowExecutionCanceledEventAttributes.initiatedEventId, 'canceled', childClosedAt, id);
    } else if (e.childWorkflowExecutionTimedOutEventAttributes) {
      closeChild(children, e.childWorkflowExecutionTimedOutEventAttributes.initiatedEventId, 'timed_out', childClosedAt, id);
    } else if (e.childWorkflowExecutionTerminatedEventAttributes) {
      closeChild(children, e.childWorkflowExecutionTerminatedEventAttributes.initiatedEventId, 'terminated', childClosedAt, id);
    } else if (e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER) {
      const marker = await localActivityMarker(id, e.markerRecordedEventAttributes, converter, workflowId, outputs);
      if (marker) markers.push(marker);
    } else if (e.workflowExecutionSignaledEventAttributes) {
      const s = e.workflowExecutionSignaledEventAttributes;
      signals.push({ name: s.signalName ?? '', eventId: id, processedByTaskCompletedEventId: null, payloads: s.input?.payloads });
    } else {
      await closeRun(facts, e, converter, outputs);
    }
  }

  // A signal is handled by the first workflow task that started after it and completed.
  for (const s of signals) {
    const task = tasks.find(([startedId]) => startedId > s.eventId);
    const { payloads, ...signal } = s;
    facts.signals.push({
      ...signal,
      processedByTaskCompletedEventId: task ? task[1] : null,
      args: await decodePayloads(converter, payloads as Payload[] | null | undefined, facts.workflowId),
    });
  }
  facts.workflowTasksCompleted = tasks.length;
  // The run's code learns of a child's end only in a workflow task that started after it:
  // until one completes, no agent code can have recorded that end.
  for (const [child, closedId] of childClosedAt) if (!tasks.some(([startedId]) => startedId > closedId)) child.closeUnseen = true;
  facts.children = [...children.values()];
  facts.activities = [...activities.values(), ...localActivityFacts(markers)];
  return facts;
}

/** The marker data the SDK's core writes as JSON (coresdk.external_data.LocalActivityMarkerData). */
const MarkerData = z.object({
  attempt: z.number().int(),
  activity_id: z.string(),
  activity_type: z.string(),
  backoff: z.unknown().optional(),
  original_schedule_time: z.object({ seconds: z.number(), nanos: z.number() }).nullish(),
});

type MarkerAttributes = NonNullable<HistoryEvent['markerRecordedEventAttributes']>;

/**
 * One local activity marker, or undefined when its data is not the SDK's (then the
 * marker is not a local activity this reader can account for, and its rows show as extra).
 */
async function localActivityMarker(eventId: number, m: MarkerAttributes, converter: DataConverter, workflowId: string, outputs: boolean): Promise<LocalActivityMarker | undefined> {
  // Written by core itself, never through the payload codec.
  const raw = m.details?.['data']?.payloads?.[0]?.data;
  if (!raw) return undefined;
  let data: z.infer<typeof MarkerData>;
  try {
    const parsed = MarkerData.safeParse(JSON.parse(Buffer.from(raw).toString('utf8')));
    if (!parsed.success) return undefined;
    data = parsed.data;
  } catch {
    return undefined;
  }
  const base = {
    eventId,
    activityId: data.activity_id,
    activityType: data.activity_type,
    attempt: data.attempt,
    originalScheduleTime: data.original_schedule_time ? `${data.original_schedule_time.seconds}.${data.original_schedule_time.nanos}` : null,
    backoff: data.backoff !== undefined && data.backoff !== null,
  };
  const failure = m.failure;
  if (!failure) {
    const [result] = (await decodePayloads(converter, m.details?.['result']?.payloads, workflowId)) ?? [];
    return { ...base, outcome: 'completed', ...(result !== undefined ? { result: toolResult(result, outputs) } : {}) };
  }
  if (failure.timeoutFailureInfo) {
    const raw: unknown = failure.timeoutFailureInfo.timeoutType;
    const type = typeof raw === 'string' ? raw : temporal.api.enums.v1.TimeoutType[typeof raw === 'number' ? raw : 0];
    return { ...base, outcome: 'timed_out', ...(type ? { timeoutType: type } : {}) };
  }
  if (failure.canceledFailureInfo) return { ...base, outcome: 'canceled' };
  return { ...base, outcome: 'failed', failureMessage: (await failureMessages(failure, converter, workflowId))[0] ?? '' };
}

async function closeRun(facts: RunFacts, e: HistoryEvent, converter: DataConverter, outputs: boolean): Promise<void> {
  if (e.workflowExecutionCompletedEventAttributes) {
    const a = e.workflowExecutionCompletedEventAttributes;
    const result = (await decodePayloads(converter, a.result?.payloads, facts.workflowId))?.[0];
    const unwrapped = unwrapAgentResult(result);
    const status = ScopeStatus.safeParse(unwrapped.meta?.status);
    facts.close = { kind: 'completed', resultStatus: status.success ? status.data : null, nextRunId: a.newExecutionRunId || null };
    if (outputs && status.success) facts.close.value = unwrapped.value;
  } else if (e.workflowExecutionFailedEventAttributes) {
    const a = e.workflowExecutionFailedEventAttributes;
    facts.close = {
      kind: 'failed',
      nextRunId: a.newExecutionRunId || null,
      failureMessages: await failureMessages(a.failure, converter, facts.workflowId),
      failureSource: await failureSource(a.failure, converter, facts.workflowId),
      ...(a.failure?.applicationFailureInfo?.type ? { failureType: a.failure.applicationFailureInfo.type } : {}),
    };
  } else if (e.workflowExecutionTimedOutEventAttributes) {
    facts.close = { kind: 'timed_out', nextRunId: e.workflowExecutionTimedOutEventAttributes.newExecutionRunId || null, at: eventTime(e.eventTime) };
  } else if (e.workflowExecutionCanceledEventAttributes) {
    facts.close = { kind: 'canceled' };
  } else if (e.workflowExecutionTerminatedEventAttributes) {
    const reason = e.workflowExecutionTerminatedEventAttributes.reason;
    facts.close = { kind: 'terminated', at: eventTime(e.eventTime), ...(reason ? { reason } : {}) };
  } else if (e.workflowExecutionContinuedAsNewEventAttributes) {
    const a = e.workflowExecutionContinuedAsNewEventAttributes;
    const nextRunId = a.newExecutionRunId ?? '';
    const next = decodeScopeHeader(headerPayload(a.header));
    facts.close = { kind: 'continued_as_new', nextRunId: nextRunId || null };
    facts.continuedAs = {
      nextRunId,
      nextWorkflowType: a.workflowType?.name ?? '',
      nextScopeId: next?.scopeId ?? rootScopeId(facts.workflowId),
      nextKind: next?.kind ?? 'root',
      eventId: num(e.eventId),
      workflowTaskCompletedEventId: num(a.workflowTaskCompletedEventId),
    };
    // Only a model agent's handoff by reference needs its input read (verify holds the kept body to it).
    if (a.input?.payloads?.length) {
      const from = facts.scope?.scopeId ?? rootScopeId(facts.workflowId);
      const conversation = conversationReferenceIn((await decodePayloads(converter, a.input.payloads, facts.workflowId))?.[0], from);
      if (conversation) facts.continuedAs.conversation = conversation;
    }
  }
}

/**
 * What a completed tool attempt's result proves: the digest of the value the tool
 * returned, and the resources its envelope reports (null for a result without them,
 * e.g. from an activity that is not a scopetrail tool).
 */
function toolResult(result: unknown, outputs = false): NonNullable<ActivityFacts['result']> {
  const unwrapped = unwrapToolResult(result);
  const resources = z.array(ResourceRef).safeParse(unwrapped.resources);
  return { outputDigest: digest(unwrapped.value), resources: resources.success ? resources.data : null, ...(outputs ? { value: unwrapped.value } : {}) };
}

type FailureLike = { message?: string | null; cause?: unknown; encodedAttributes?: Payload | null; timeoutFailureInfo?: unknown } | null | undefined;

/**
 * A failure's message and its causes' messages, outermost first. A failure converter with
 * `encodeCommonAttributes` moves each message into `encodedAttributes`, which the payload
 * codec encodes; it is decoded back here. The chain ends at a timeout, as it does for the
 * agent: the SDK's failure converter gives a TimeoutFailure no cause (history keeps the last
 * attempt's failure under it when a worker died during a final attempt), so the error an
 * agent recorded never included it.
 */
export async function failureMessages(failure: FailureLike, converter: DataConverter, workflowId: string): Promise<string[]> {
  const out: string[] = [];
  for (let f = failure; f && out.length < 100; f = f.cause as FailureLike) {
    let message = f.message ?? '';
    if (f.encodedAttributes) {
      const [attributes] = (await decodePayloads(converter, [f.encodedAttributes], workflowId)) ?? [];
      const decoded = (attributes as { message?: unknown } | undefined)?.message;
      if (typeof decoded === 'string') message = decoded;
    }
    out.push(message);
    if (f.timeoutFailureInfo) break;
  }
  return out;
}

type SourceFailure = FailureLike & {
  applicationFailureInfo?: { type?: string | null; details?: { payloads?: Payload[] | null } | null } | null;
  childWorkflowExecutionFailureInfo?: { workflowExecution?: { workflowId?: string | null } | null } | null;
  activityFailureInfo?: { activityId?: string | null } | null;
};

/**
 * What a run's failure says failed it, read the way the agent binds it when it fails
 * (workflows/failure-source.ts): the first delegation, child or activity failure in the
 * chain, outermost first; else its own code. A budget overrun is the scope's own.
 */
export async function failureSource(
  failure: SourceFailure | null | undefined,
  converter: DataConverter,
  workflowId: string,
): Promise<NonNullable<RunFacts['close']['failureSource']>> {
  if (failure?.applicationFailureInfo?.type === BUDGET_EXCEEDED) return 'own';
  let f = failure;
  for (let depth = 0; f && depth < 20; depth++, f = f.cause as SourceFailure) {
    const app = f.applicationFailureInfo;
    if (app?.type === 'DelegationError') {
      const [details] = (await decodePayloads(converter, app.details?.payloads ?? undefined, workflowId)) ?? [];
      const scopeId = (details as { scopeId?: unknown } | undefined)?.scopeId;
      if (typeof scopeId === 'string' && scopeId !== '') return { delegation: scopeId };
    }
    const child = f.childWorkflowExecutionFailureInfo?.workflowExecution?.workflowId;
    if (child) return { delegation: child };
    const activity = f.activityFailureInfo?.activityId;
    if (activity) return { activity };
  }
  return 'own';
}

function closeActivity(map: Map<number, ActivityFacts>, scheduledEventId: unknown, close: ActivityFacts['close']): void {
  const a = map.get(num(scheduledEventId));
  if (a) a.close = close;
}

/** The objective its starter put in the run's memo; null when there is none, or it does not decode to text. */
async function memoObjective(payload: unknown, converter: DataConverter, workflowId: string): Promise<string | null> {
  if (payload === undefined || payload === null) return null;
  const decoded = await decodePayloads(converter, [payload as Payload], workflowId).catch(() => undefined);
  return typeof decoded?.[0] === 'string' ? decoded[0] : null;
}

function closeChild(map: Map<number, ChildFacts>, initiatedEventId: unknown, close: ChildFacts['close'], closedAt: Map<ChildFacts, number>, eventId: number): void {
  const c = map.get(num(initiatedEventId));
  if (!c) return;
  c.close = close;
  closedAt.set(c, eventId);
}

function headerPayload(header: { fields?: Record<string, unknown> | null } | null | undefined) {
  // History payloads are temporal.api.common.v1.Payload messages ({ metadata, data }),
  // which is the shape the payload converter reads.
  return (header?.fields?.[SCOPE_HEADER] ?? undefined) as Parameters<typeof decodeScopeHeader>[0];
}

const CODEC_HINT =
  "give the client the workers' payload codec (ScopeClient.connect({ dataConverter: { payloadCodecs } }), or the CLI's --codec <module> / --codec-endpoint <url>)";
const CONVERTER_HINT =
  "give the client the workers' payload converter or codec (ScopeClient.connect({ dataConverter: { payloadConverterPath, payloadCodecs } }), or the CLI's --codec <module> exporting dataConverter with payloadConverterPath and/or payloadCodecs, or --codec-endpoint <url>)";

/**
 * The values of history payloads, through the client's payload codecs. A payload the
 * converter cannot read (a codec's output) means the codec is missing or wrong: that
 * stops the read with an error saying so, since facts without the values would make
 * every digest a difference. A value that merely fails to parse is left out (undefined).
 */
async function decodePayloads(
  converter: DataConverter,
  payloads: Array<Payload | null | undefined> | null | undefined,
  workflowId: string,
): Promise<unknown[] | undefined> {
  if (!payloads) return undefined;
  let decoded: Payload[];
  try {
    decoded = await decode(converter.payloadCodecs, payloads as Payload[]);
  } catch (err) {
    throw new CodecRequiredError(`history of workflow "${workflowId}": the payload codec could not decode it (${(err as Error).message}); ${CODEC_HINT}`);
  }
  return decoded.map((p) => {
    try {
      return converter.payloadConverter.fromPayload(p);
    } catch (err) {
      const message = (err as Error).message ?? '';
      if (/unknown encoding/i.test(message)) {
        throw new CodecRequiredError(`history of workflow "${workflowId}" holds payloads this client cannot read (${message}): they are encoded with a payload converter or codec this client does not have; ${CONVERTER_HINT}`);
      }
      return undefined;
    }
  });
}

/** Event ids are int64 (Long) in the proto. */
function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return 0;
  if (typeof value === 'object' && 'toNumber' in value && typeof (value as { toNumber: unknown }).toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  return Number(value);
}

function isNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND);
}
