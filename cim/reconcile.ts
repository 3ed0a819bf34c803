/**
 * Reconciliation: Temporal history decides what happened; the CIM store says what was
 * recorded. This module compares the two for one session and lists every difference.
 * It is pure (zod and cim only): the facts of each workflow run are read from history by
 * an adapter (client/history.ts) and handed in as `RunFacts`.
 *
 * How history maps to the CIM (see workflows/ and worker/activity-interceptor.ts):
 * - every run is one scope: the `scopetrail-scope` header of its start event, or a root
 *   scope (`scopeId = workflowId`) when it has none; a plain continue-as-new keeps the
 *   scope, a handoff starts a new one;
 * - every child workflow initiated is one `delegate` action targeting the child's id; its
 *   end is required once a workflow task of the delegator's run has taken it in (before
 *   that, as in a session checked while it runs, no agent code can have recorded it);
 * - a continue-as-new into a `handoff` scope is one `handoff` action targeting it;
 * - every attempt of every closed activity is one `tool_call` / `llm_call` action, and so is
 *   every attempt a local activity's marker covers (local-activities.ts);
 * - every processed signal (name not starting with `__`) is one `signal` action, handled
 *   or recorded unhandled as its run ended;
 * - every activity a scope's final run left open when it closed is named in the scope's
 *   `openCalls`.
 * Workflow-side actions (delegate, handoff, signal) are numbered per run in the order the
 * workflow emitted them; that order is recovered from history to name missing ones.
 */
import { HANDOFF_SIGNAL, ScopeStatus } from './schemas';
import type { ActionKind, ActionRecord, ActionStatus, ResourceRef, ScopeContext, ScopeKind, ScopeRecord } from './schemas';
import { activityActionId, rootPath, rootScopeId, scopedActivityId, workflowActionId } from './ids';
import { LLM_ACTIVITY_TYPES, UNHANDLED_SIGNAL_ERROR, UNKNOWN_AGENT_VERSION } from './names';
import { storableText } from './storable-text';
import { joinCauses } from './cause-chain';
import { BUDGET_EXCEEDED, budgetKindOf } from './budget';
import { handoffSignalFates, unhonouredHandoffReason, type RunEnd } from './handoff-request';
import { openCallsAt } from './open-calls';



export type RunCloseKind = 'open' | 'completed' | 'failed' | 'canceled' | 'terminated' | 'timed_out' | 'continued_as_new';
export type ChildCloseKind = 'open' | 'start_failed' | 'completed' | 'failed' | 'canceled' | 'terminated' | 'timed_out';
export type ActivityCloseKind = 'open' | 'completed' | 'failed' | 'canceled' | 'timed_out';

/** A child workflow the run initiated (StartChildWorkflowExecutionInitiated and what followed in this run). */
export interface ChildFacts {
  workflowId: string;
  workflowType: string;
  /** Event id of the initiated event. */
  eventId: number;
  /** The WorkflowTaskCompleted event whose commands started it. */
  workflowTaskCompletedEventId: number;
  /** First run of the child (ChildWorkflowExecutionStarted), null if it has not (or never) started. */
  runId: string | null;
  close: ChildCloseKind;
  /**
   * History holds the child's end, but no workflow task of this run has completed since: the
   * run's code has not seen it (yet, or ever: a run terminated first), so nothing recorded it.
   */
  closeUnseen?: boolean;
}

/** One activity the run scheduled, with the attempt Temporal last started. */
export interface ActivityFacts {
  activityId: string;
  activityType: string;
  scheduledEventId: number;
  /** Attempt of the ActivityTaskStarted event; null when none is in history (still open, or never started). */
  lastAttempt: number | null;
  close: ActivityCloseKind;
  /** Digest of the input history scheduled it with; undefined when not read. */
  inputDigest?: string;
  /** When it was scheduled, and its timeouts as history has them: how long a call a closed run left open may go on. */
  scheduledAtMs?: number;
  startToCloseMs?: number;
  scheduleToCloseMs?: number;
  /** For `completed`: digest of the tool's output in the result, and the resources its envelope reports (null: none carried). */
  result?: { outputDigest: string; resources: ResourceRef[] | null; /** The tool's output, when history was read for outputs. */ value?: unknown };
  /** For `failed`: the failure message of the last attempt. */
  failureMessage?: string;
  /**
   * Build id of the worker that started the last attempt, as its ActivityTaskStarted event
   * names it. An unversioned worker names the SDK's own build id there, so it is compared
   * only in runs whose workflow tasks name a deployment build.
   */
  lastAttemptBuildId?: string | null;
  /**
   * Scheduled on another task queue than its run's. The workers of the run's own queue are
   * the deployment's, but another queue may be served by an unversioned worker, whose row
   * names no build while its ActivityTaskStarted event names the SDK's default build id
   * (the event does not say whether the worker uses versioning).
   */
  otherTaskQueue?: boolean;
  /**
   * Set for a local activity: history holds it as a marker, not as scheduled/started
   * events. One marker covers the attempts the worker ran in a row; a retry that waits
   * on a workflow timer goes on under a new activity id, so this one's attempts begin
   * after the previous marker's (cim/local-activities.ts).
   */
  local?: {
    firstAttempt: number;
    /** Cancelled, or timed out before it could start: its last attempt may never have run (no row). */
    mayNotHaveStarted: boolean;
  };
}

/** A WorkflowExecutionSignaled event. */
export interface SignalFacts {
  name: string;
  eventId: number;
  /** WorkflowTaskCompleted event of the task that processed the signal; null if no task processed it. */
  processedByTaskCompletedEventId: number | null;
  /** Decoded signal arguments; undefined when they could not be decoded. */
  args?: unknown[];
}

/** What one workflow run's history says, as far as the CIM is concerned. */
export interface RunFacts {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** The decoded `scopetrail-scope` header of WorkflowExecutionStarted; null when absent or malformed (a root scope). */
  scope: ScopeContext | null;
  /** The run this one continued (continue-as-new or retry), if any. */
  previousRunId: string | null;
  /**
   * Whether its start carries scopetrail's marks (the scope header, or the memo every session
   * start and handoff sets): false for a workflow of the user's own. Absent where not read.
   */
  startedByScopetrail?: boolean;
  /** When the run started (its WorkflowExecutionStarted event), when history says. */
  startedAt?: string | null;
  /** The objective its starter put in its memo (the client, the delegator, the handing-off run); null: none; absent where not read. */
  objective?: string | null;
  close: {
    kind: RunCloseKind;
    /** For `completed`: the status in the result envelope; null when the result is not an agent envelope. */
    resultStatus?: ScopeStatus | null;
    /** For `completed` with an agent envelope: the agent's output, when history was read for outputs. */
    value?: unknown;
    /** For `terminated` and `timed_out`: when, as history says (a repair records it as the scope's end). */
    at?: string | null;
    /** For `terminated`: the reason whoever terminated it gave. */
    reason?: string;
    /** The run that followed this one in the chain (continue-as-new, retry or cron), if any. */
    nextRunId?: string | null;
    /** For `failed`: the messages of the failure and its causes, outermost first. */
    failureMessages?: string[];
    /** For `failed`: the application failure's type, when it has one. */
    failureType?: string;
    /**
     * For `failed`: what the failure says failed the run, as the agent binds it
     * (workflows/failure-source.ts): a delegation's scope, a call's activity id as
     * Temporal gave it, or the run's own code.
     */
    failureSource?: { delegation: string } | { activity: string } | 'own';
  };
  children: ChildFacts[];
  activities: ActivityFacts[];
  signals: SignalFacts[];
  /**
   * How many workflow tasks of the run completed; undefined when not read. A run records its
   * scope in its first workflow task, so one still open with none completed may have no row yet.
   */
  workflowTasksCompleted?: number;
  /**
   * Build ids of the workers that completed the run's workflow tasks (WorkflowTaskCompleted
   * names the worker's deployment version); empty for unversioned workers, undefined when not read.
   */
  taskBuildIds?: string[];
  /** Set when the run closed by continue-as-new. */
  continuedAs: {
    nextRunId: string;
    nextWorkflowType: string;
    /** The next run's scope id (from its header; the workflow id when it has none). */
    nextScopeId: string;
    nextKind: ScopeKind;
    eventId: number;
    workflowTaskCompletedEventId: number;
    /** A model agent's conversation handed over by reference: its digest as the next run's input holds it. */
    conversation?: { from: string; digest: string };
  } | null;
}

export interface Difference {
  kind: 'missing' | 'extra' | 'mismatched';
  record: 'scope' | 'action' | 'receipt';
  id: string;
  scopeId: string;
  detail: string;
  /**
   * The row history proves, when the store can be completed from it: a scope still
   * `running` whose run was terminated or timed out (no agent code ran to record its end).
   */
  repair?: { scope: ScopeRecord };
}

export interface ReconcileReport {
  sessionId: string;
  runs: number;
  expected: { scopes: number; actions: number };
  /**
   * `openInHistory`: stored rows of calls history leaves open (still running, or running
   * when their run closed, which Temporal then never closes), so it cannot count their
   * attempts, and rows of a run still open that its history does not show yet (a workflow
   * task in flight, a local call running); they are accounted for, not differences.
   */
  stored: { scopes: number; actions: number; openInHistory: number };
  differences: Difference[];
  /**
   * Set when the store holds nothing of the session because retention pruned its month
   * (recorded in the store and anchored in Temporal): then there are no differences.
   * `before` is the prune's --before; `anchor` the workflow id that anchors it in Temporal.
   */
  pruned?: { month: string; prunedAt: string; before: string; anchor: string };
}

/** The scope a run executes under. */
export function runScopeId(run: Pick<RunFacts, 'scope' | 'workflowId'>): string {
  return run.scope?.scopeId ?? rootScopeId(run.workflowId);
}

interface ExpectedScope {
  scopeId: string;
  agent: string;
  kind: ScopeKind;
  parentScopeId: string | null;
  handoffFromScopeId: string | null;
  /** Where the scope sits in the delegation tree: what descendant queries match on. */
  path: string;
  depth: number;
  /** The status the store must hold; null: not known from history. */
  status: ScopeStatus | null;
  /** When the status is not known: whether the store must at least not say `running`. */
  ended: boolean;
  /** The error texts history allows (any of them); undefined: not compared. */
  errors?: Array<string | null>;
  /** What the scope must name as having failed it; null: nothing (it did not fail); undefined: not compared. */
  failedBy?: string | null;
  why: string;
  runIds: Set<string>;
  finalRun: RunFacts;
  /** Builds that completed workflow tasks of the scope's runs; empty: history names none. */
  builds: Set<string>;
  /** Its runs are open and none has completed a workflow task: no agent code has run to record it yet. */
  notYetRecorded: boolean;
  /** None of its runs completed a workflow task (false when history was not read for it). */
  ranNoTask: boolean;
}

interface ExpectedAction {
  actionId: string;
  scopeId: string;
  kind: ActionKind;
  name: string;
  /** null: not compared. */
  status: ActionStatus | null;
  /**
   * A superseded attempt: history only proves it ended before the next began. Usually
   * it failed; but an attempt whose worker died after the tool succeeded and before
   * Temporal heard of it did succeed, and the store rightly says so. Any end is fine;
   * `running` is not.
   */
  anyEnd?: boolean;
  /** History does not prove the attempt ran (a local activity cancelled before it started): a row is checked, none is fine. */
  optional?: boolean;
  /**
   * A signal history shows delivered may have had no handler: its run then recorded it
   * as unhandled when it ended (status `error`, UNHANDLED_SIGNAL_ERROR), which stands in
   * for `success`.
   */
  mayBeUnhandled?: boolean;
  /**
   * The status and error pairs the row may hold, any of them (in place of `status`): the
   * first is what the current build writes, the others are older forms that still stand.
   */
  outcomes?: Array<{ status: ActionStatus; error: string | null }>;
  targetScopeId: string | null;
  /** A tool or LLM attempt's number (its id holds it too), and how history closed it when it is the last. */
  attempt?: { n: number; close?: Exclude<ActivityCloseKind, 'open'> };
  /** Fields history proves for a tool or LLM attempt; undefined: not compared. */
  proven?: {
    inputDigest?: string;
    outputDigest?: string;
    resources?: ResourceRef[] | null;
    error?: string | null;
    workerBuildId?: string;
    /** The attempt may have been started by an unversioned worker: a row naming no build is not refuted by workerBuildId. */
    unversionedMayStart?: boolean;
  };
  /** A workflow-side action was written by one of its run's workflow tasks: their builds (empty: history names none). */
  builds?: ReadonlySet<string>;
  why: string;
  /** Workflow-side actions are matched by what they are, not only by id (their ids are sequence-based). */
  workflowSide: boolean;
}

const RUN_STATUS: Record<Exclude<RunCloseKind, 'open' | 'completed' | 'continued_as_new'>, ScopeStatus> = {
  failed: 'error',
  canceled: 'cancelled',
  terminated: 'error',
  timed_out: 'error',
};

const ACTIVITY_STATUS: Record<Exclude<ActivityCloseKind, 'open'>, ActionStatus> = {
  completed: 'success',
  failed: 'error',
  timed_out: 'error',
  canceled: 'cancelled',
};

const CHILD_STATUS: Record<Exclude<ChildCloseKind, 'open'>, ActionStatus> = {
  completed: 'success',
  start_failed: 'error',
  failed: 'error',
  timed_out: 'error',
  terminated: 'error',
  canceled: 'cancelled',
};

export interface ReconcileOptions {
  /** Agents the workers define (from the manifests): a handoff request naming another is refused. */
  knownAgents?: ReadonlySet<string>;
  /** The time a repair records as the scope's end (history walks carry no close times). */
  now?: string;
  /** Who writes a repair, as its error text says (default `reconcile --repair`). */
  repairedBy?: string;
  /**
   * The store's namespace: with it, a scope whose run Temporal closed before any of its code
   * ran (so no row of it exists) comes with the row history proves, as a repair.
   */
  namespace?: string;
}

export function reconcileSession(
  sessionId: string,
  runs: readonly RunFacts[],
  scopes: readonly ScopeRecord[],
  actions: readonly ActionRecord[],
  options: ReconcileOptions = {},
): ReconcileReport {
  const differences: Difference[] = [];
  const expectedScopes = expectScopes(runs);
  compareScopes(expectedScopes, scopes, differences, options.now ?? new Date().toISOString(), options.repairedBy ?? 'reconcile --repair', options.namespace);
  const { expected, explainedActivities } = expectActions(runs, differences, options);
  const openInHistory = compareActions(expected, actions, explainedActivities, expectedScopes, differences);
  differences.sort(
    (a, b) =>
      cmp(a.scopeId, b.scopeId) || cmp(a.record, b.record) || cmp(a.id, b.id) || cmp(a.kind, b.kind) || cmp(a.detail, b.detail),
  );
  return {
    sessionId,
    runs: runs.length,
    // A scope waiting for its first workflow task is not asked of the store yet.
    expected: { scopes: [...expectedScopes.values()].filter((e) => !e.notYetRecorded).length, actions: expected.length },
    stored: { scopes: scopes.length, actions: actions.length, openInHistory },
    differences,
  };
}

// ---------------------------------------------------------------------------- scopes

function expectScopes(runs: readonly RunFacts[]): Map<string, ExpectedScope> {
  const byScope = new Map<string, RunFacts[]>();
  for (const run of runs) {
    const id = runScopeId(run);
    const list = byScope.get(id) ?? [];
    list.push(run);
    byScope.set(id, list);
  }
  const byRunId = new Map(runs.map((r) => [r.runId, r]));
  const expected = new Map<string, ExpectedScope>();
  for (const [scopeId, scopeRuns] of byScope) {
    // The scope's final run is the one not followed by another run of the same scope
    // (a plain continue-as-new or a retry keeps the scope; a handoff starts a new one).
    const finalRun =
      scopeRuns.find((r) => {
        const next = r.close.nextRunId ? byRunId.get(r.close.nextRunId) : undefined;
        return !next || runScopeId(next) !== scopeId;
      }) ?? scopeRuns[scopeRuns.length - 1]!;
    const { status, ended, why } = expectedScopeStatus(finalRun);
    expected.set(scopeId, {
      scopeId,
      agent: finalRun.workflowType,
      kind: finalRun.scope?.kind ?? 'root',
      parentScopeId: finalRun.scope?.parentScopeId ?? null,
      handoffFromScopeId: finalRun.scope?.handoffFromScopeId ?? null,
      path: finalRun.scope?.path ?? rootPath(scopeId),
      depth: finalRun.scope?.depth ?? 0,
      status,
      ended,
      errors: expectedScopeErrors(finalRun),
      failedBy: expectedFailedBy(scopeId, finalRun),
      why,
      runIds: new Set(scopeRuns.map((r) => r.runId)),
      finalRun,
      builds: new Set(scopeRuns.flatMap((r) => r.taskBuildIds ?? [])),
      notYetRecorded: scopeRuns.every((r) => r.close.kind === 'open' && r.workflowTasksCompleted === 0),
      ranNoTask: scopeRuns.every((r) => r.workflowTasksCompleted === 0),
    });
  }
  return expected;
}

function expectedScopeStatus(run: RunFacts): { status: ScopeStatus | null; ended: boolean; why: string } {
  const k = run.close.kind;
  switch (k) {
    case 'open':
      return { status: null, ended: false, why: 'run is still open' };
    case 'completed': {
      const parsed = ScopeStatus.safeParse(run.close.resultStatus);
      return parsed.success
        ? { status: parsed.data, ended: true, why: 'status in the run result envelope' }
        : { status: null, ended: true, why: 'run completed (result carries no scope status)' };
    }
    case 'continued_as_new':
      return { status: null, ended: true, why: 'run continued as new' };
    case 'terminated':
    case 'timed_out':
      return { status: RUN_STATUS[k], ended: true, why: `run ${k.replace('_', ' ')}: the store cannot have seen the end, expected error` };
    default:
      return { status: RUN_STATUS[k], ended: true, why: `run ${k}` };
  }
}

function compareScopes(expected: Map<string, ExpectedScope>, stored: readonly ScopeRecord[], out: Difference[], now: string, repairedBy: string, namespace?: string): void {
  const storedById = new Map(stored.map((s) => [s.scopeId, s]));
  for (const e of expected.values()) {
    const s = storedById.get(e.scopeId);
    const run = `workflow ${e.finalRun.workflowId} run ${e.finalRun.runId}`;
    if (!s) {
      // A run waiting for its first workflow task (no worker has taken it yet) has written nothing.
      if (e.notYetRecorded) continue;
      const never = namespace === undefined ? undefined : neverRanScope(e, namespace, now, repairedBy);
      out.push({
        kind: 'missing',
        record: 'scope',
        id: e.scopeId,
        scopeId: e.scopeId,
        detail: never
          ? `${e.kind} scope of agent ${e.agent} (${run}) was ${e.finalRun.close.kind.replace('_', ' ')} in Temporal before any of its code ran, so nothing recorded it ` +
            `(a worker writes its row from history at its next look for such runs, or \`scopetrail reconcile ${e.finalRun.scope?.sessionId ?? e.finalRun.workflowId} --repair\` does)`
          : `${e.kind} scope of agent ${e.agent} (${run}) is in history but not in the store`,
        ...(never ? { repair: { scope: never } } : {}),
      });
      continue;
    }
    const diffs: string[] = [];
    field(diffs, 'agent', s.agent, e.agent);
    field(diffs, 'kind', s.kind, e.kind);
    field(diffs, 'parentScopeId', s.parentScopeId, e.parentScopeId);
    field(diffs, 'handoffFromScopeId', s.handoffFromScopeId, e.handoffFromScopeId);
    field(diffs, 'path', s.path, e.path);
    field(diffs, 'depth', s.depth, e.depth);
    if (e.status !== null) field(diffs, 'status', s.status, e.status, e.why);
    else if (e.ended && s.status === 'running') diffs.push(`status: store "running", history: ended (${e.why})`);
    if (e.errors && !e.errors.includes(s.error)) {
      diffs.push(`error: store ${JSON.stringify(s.error)}, history ${e.errors.map((x) => JSON.stringify(x)).join(' or ')}`);
    }
    // Rows written before failedBy was recorded have none: only what a row says is checked.
    if (s.failedBy !== undefined && e.failedBy !== undefined && s.failedBy !== e.failedBy) {
      diffs.push(`failedBy: store ${JSON.stringify(s.failedBy)}, history ${JSON.stringify(e.failedBy)}`);
    }
    if (!e.runIds.has(s.runId)) diffs.push(`runId: store "${s.runId}" is not a run of this scope in history (${[...e.runIds].join(', ')})`);
    openCallsField(diffs, s, e.finalRun);
    buildField(diffs, s.workerBuildId, e.builds, 'the workflow tasks of its runs');
    if (!diffs.length) continue;
    const difference: Difference = { kind: 'mismatched', record: 'scope', id: e.scopeId, scopeId: e.scopeId, detail: diffs.join('; ') };
    const closedWithoutAgent = ['terminated', 'timed_out'].includes(e.finalRun.close.kind);
    if (s.status === 'running' && closedWithoutAgent && diffs.length === 1) {
      // When Temporal closed it; the repair's own time only for a history that does not say.
      const endedAt = e.finalRun.close.at ?? now;
      const openCalls = callsLeftOpen(e.finalRun, Date.parse(endedAt));
      difference.repair = {
        scope: {
          ...s,
          status: e.status ?? 'error',
          endedAt,
          error: closedByTemporal(e.finalRun, 'no agent code recorded its end', repairedBy),
          // Temporal ended it, not a call or a delegation of it: root-cause stops here.
          failedBy: s.scopeId,
          ...(openCalls ? { openCalls } : {}),
        },
      };
    }
    out.push(difference);
  }
  for (const s of stored) {
    if (expected.has(s.scopeId)) continue;
    out.push({
      kind: 'extra',
      record: 'scope',
      id: s.scopeId,
      scopeId: s.scopeId,
      detail: `scope of agent ${s.agent} (workflow ${s.workflowId} run ${s.runId}) is in the store but no run of the session's histories executes it`,
    });
  }
}

/**
 * Calls the scope's final run left running when it closed must be named in the scope's
 * `openCalls`: its seal waits for their ends, and a call left out would have its end
 * recorded after the seal (verify would call it tampering) while forensics would take the
 * scope for having awaited everything. History shows such a call as an activity scheduled
 * and never closed. The converse is not required: the workflow also names calls it
 * cancelled without waiting (their tools may run on, though history may close them at
 * once), and local calls in flight, which history holds no marker for.
 */
function openCallsField(diffs: string[], stored: ScopeRecord, run: RunFacts): void {
  if (stored.status === 'running' || !RUN_END_WRITTEN_BY_AGENT.has(run.close.kind)) return;
  const named = new Set(stored.openCalls?.activityIds ?? []);
  const continued = run.scope?.continuation?.run;
  const unnamed = run.activities
    .filter((a) => !a.local && a.close === 'open')
    .map((a) => scopedActivityId(a.activityId, continued))
    .filter((id) => !named.has(id));
  if (!unnamed.length) return;
  const shown = unnamed.slice(0, 10).map((id) => JSON.stringify(id)).join(', ') + (unnamed.length > 10 ? ` and ${unnamed.length - 10} more` : '');
  diffs.push(
    `openCalls: history shows ${unnamed.length === 1 ? 'call' : 'calls'} ${shown} still running when run ${run.runId} closed; ` +
      `the store's openCalls ${stored.openCalls ? `leaves ${unnamed.length === 1 ? 'it' : 'them'} out (it names ${stored.openCalls.activityIds.length})` : 'is absent'}`,
  );
}

/**
 * The row of a scope whose only run Temporal terminated or timed out before any of its
 * workflow tasks completed (a delegate still waiting for a worker when its session was
 * terminated, say): no agent code ran, so nothing wrote it, and it would be missing for
 * good. History proves all the row holds: the scope as its delegator (or handoff) started
 * it, in the run's header, or a root's from its workflow id; when the run started and
 * closed; its objective, from the memo its starter gave it; and that it ended in error by
 * Temporal's hand. What only the agent would have added (its version, the allowance its
 * manifest narrows) is left unknown.
 */
function neverRanScope(e: ExpectedScope, namespace: string, now: string, repairedBy: string): ScopeRecord | undefined {
  const run = e.finalRun;
  if (!e.ranNoTask || e.runIds.size !== 1 || (run.close.kind !== 'terminated' && run.close.kind !== 'timed_out')) return undefined;
  const endedAt = run.close.at ?? now;
  const startedAt = run.startedAt ?? endedAt;
  const { handoffIndex: _index, visibility: _visibility, budget: _budget, continuation: _continuation, chainRecovered: _chain, ...ctx } = run.scope ?? {
    sessionId: run.workflowId,
    scopeId: e.scopeId,
    parentScopeId: null,
    handoffFromScopeId: null,
    kind: 'root' as const,
    agent: e.agent,
    agentVersion: UNKNOWN_AGENT_VERSION,
    delegatedBy: null,
    allowance: null,
    depth: 0,
    path: e.path,
    handoffIndex: 0,
    visibility: false,
    budget: null,
    sessionStartedAt: startedAt,
  };
  return {
    ...ctx,
    agent: e.agent,
    objective: run.objective ?? null,
    namespace,
    status: 'error',
    recovered: false,
    error: closedByTemporal(run, NEVER_RAN, repairedBy),
    startedAt,
    endedAt,
    workflowId: run.workflowId,
    runId: run.runId,
    failedBy: e.scopeId,
  };
}

/** The error of a scope's row written whole from history (neverRanScope): no version of its agent ran. */
export const NEVER_RAN_ERROR = /^run (terminated|timed out) in Temporal\b.*: it ended before any of its code ran \(written from history by /;

const NEVER_RAN = 'it ended before any of its code ran';

/** The error of an end written from history for a run Temporal terminated or timed out: how, and who wrote it. */
function closedByTemporal(run: RunFacts, what: string, repairedBy: string): string {
  const reason = run.close.reason ? ` (reason: ${run.close.reason})` : '';
  return `run ${run.close.kind.replace('_', ' ')} in Temporal${reason}: ${what} (written from history by ${repairedBy})`;
}

/** The error a repair writes for a run Temporal terminated or timed out (see compareScopes): what kind of end it was. */
export const CLOSED_WITHOUT_AGENT_ERROR = /^run (terminated|timed out) in Temporal\b/;

/**
 * The calls a run Temporal closed without agent code left in flight, as its end would have
 * named them (cim/open-calls.ts): their tools run on and record their ends after the scope's,
 * so the end written for it waits for them before it is sealed. History shows such a call as
 * scheduled and never closed.
 */
function callsLeftOpen(run: RunFacts, closedAtMs: number): ScopeRecord['openCalls'] {
  if (!Number.isFinite(closedAtMs)) return undefined;
  const continued = run.scope?.continuation?.run;
  return openCallsAt(
    run.activities
      .filter((a) => !a.local && a.close === 'open')
      .map((a) => ({
        activityId: scopedActivityId(a.activityId, continued),
        scheduledAtMs: a.scheduledAtMs ?? closedAtMs,
        startToClose: a.startToCloseMs,
        scheduleToClose: a.scheduleToCloseMs,
      })),
    closedAtMs,
  );
}

/** Run ends whose scope end the agent's own code recorded (a terminated or timed-out run has none). */
const RUN_END_WRITTEN_BY_AGENT: ReadonlySet<RunCloseKind> = new Set(['completed', 'failed', 'canceled', 'continued_as_new']);

// --------------------------------------------------------------------------- actions

interface WorkflowSideFact {
  key: [number, number, number];
  action: Omit<ExpectedAction, 'actionId'>;
}

function expectActions(
  runs: readonly RunFacts[],
  out: Difference[],
  options: ReconcileOptions = {},
): { expected: ExpectedAction[]; explainedActivities: Set<string> } {
  const expected: ExpectedAction[] = [];
  const seen = new Map<string, ExpectedAction>();
  // Activities whose attempts history cannot count (still open, or closed without a start):
  // stored rows for them are explained, none are expected.
  const explainedActivities = new Set<string>();
  const add = (a: ExpectedAction) => {
    const earlier = seen.get(a.actionId);
    if (earlier) {
      // Two history facts map to one id (e.g. activity ids restart in a run that keeps the
      // scope of the run before it): the store can hold only one of them.
      out.push({
        kind: 'missing',
        record: 'action',
        id: a.actionId,
        scopeId: a.scopeId,
        detail: `id collision: ${a.why} and ${earlier.why} map to the same action id, so the store can record only one`,
      });
      return;
    }
    seen.set(a.actionId, a);
    expected.push(a);
  };

  for (const run of runs) {
    const scopeId = runScopeId(run);
    const where = `run ${run.runId}`;
    // A later run of a scope that continued-as-new: its activity ids are qualified by the
    // run, and its workflow-side actions are numbered on from where the earlier run stopped.
    const continued = run.scope?.continuation;
    const builds = new Set(run.taskBuildIds ?? []);

    for (const raw of run.activities) {
      const act = { ...raw, activityId: scopedActivityId(raw.activityId, continued?.run) };
      if (act.close === 'open' || act.lastAttempt === null || act.lastAttempt < 1) {
        explainedActivities.add(activityKey(scopeId, act.activityId));
        continue;
      }
      const kind: ActionKind = LLM_ACTIVITY_TYPES.has(act.activityType) ? 'llm_call' : 'tool_call';
      const what = act.local ? 'local activity' : 'activity';
      for (let attempt = act.local?.firstAttempt ?? 1; attempt <= act.lastAttempt; attempt++) {
        const last = attempt === act.lastAttempt;
        const unproven = last && act.local?.mayNotHaveStarted === true;
        add({
          actionId: activityActionId(scopeId, act.activityId, attempt),
          scopeId,
          kind,
          name: act.activityType,
          status: last ? ACTIVITY_STATUS[act.close] : 'error',
          // A cancelled tool may have finished anyway; what it did is its row's to say.
          anyEnd: !last || unproven,
          ...(unproven ? { optional: true } : {}),
          targetScopeId: null,
          proven: provenByActivity(act, last, builds.size > 0),
          attempt: last && !unproven ? { n: attempt, close: act.close } : { n: attempt },
          why: `attempt ${attempt} of ${act.lastAttempt} of ${what} ${act.activityId} (${act.activityType}, ${last ? act.close : 'retried'}) in ${where}`,
          workflowSide: false,
        });
      }
    }

    // Workflow-side actions share one per-run counter, in the order the workflow emitted
    // them: signals are handled at the start of the task that processed them, commands
    // (child starts, the continue-as-new) are emitted during the task that completed them.
    const facts: WorkflowSideFact[] = [];
    for (const c of run.children) {
      facts.push({
        key: [c.workflowTaskCompletedEventId, 1, c.eventId],
        action: {
          scopeId,
          kind: 'delegate',
          name: c.workflowType,
          // A child still open (or whose end the run never saw) has no final status yet.
          status: c.close === 'open' || c.closeUnseen ? null : CHILD_STATUS[c.close],
          targetScopeId: c.workflowId,
          why: `child workflow ${c.workflowId} (${c.workflowType}, ${c.close.replace('_', ' ')}${c.closeUnseen ? ', not yet seen by its delegator' : ''}) started in ${where}`,
          workflowSide: true,
        },
      });
    }
    // As the inbound interceptor takes them: an invalid request, or one while another is pending, is an error.
    const handoffFates = handoffSignalFates(run.signals, options.knownAgents);
    const signals = [...run.signals].sort((a, b) => a.eventId - b.eventId);
    for (const sig of signals) {
      if (sig.name.startsWith('__') || sig.processedByTaskCompletedEventId === null) continue;
      let status: ActionStatus | null = 'success';
      let outcomes: ExpectedAction['outcomes'];
      const fate = handoffFates.get(sig.eventId);
      if (fate?.kind === 'unknown') status = null;
      else if (fate?.kind === 'refused') status = 'error';
      // The accepted request: its row says whether the run's end honoured it.
      else if (fate?.kind === 'accepted') ({ status, outcomes } = acceptedRequestRow(fate.to, run, scopeId));
      facts.push({
        key: [sig.processedByTaskCompletedEventId, 0, sig.eventId],
        action: {
          scopeId,
          kind: 'signal',
          name: sig.name,
          status,
          ...(outcomes ? { outcomes } : {}),
          // An agent always handles its handoff signal.
          ...(sig.name === HANDOFF_SIGNAL ? {} : { mayBeUnhandled: true }),
          targetScopeId: null,
          why: `signal event ${sig.eventId} in ${where}`,
          workflowSide: true,
        },
      });
    }
    const can = run.continuedAs;
    if (can && can.nextKind === 'handoff' && can.nextScopeId !== scopeId) {
      facts.push({
        key: [can.workflowTaskCompletedEventId, 1, can.eventId],
        action: {
          scopeId,
          kind: 'handoff',
          name: can.nextWorkflowType,
          status: 'success',
          targetScopeId: can.nextScopeId,
          why: `handoff to ${can.nextWorkflowType} (scope ${can.nextScopeId}, run ${can.nextRunId}) by continue-as-new of ${where}`,
          workflowSide: true,
        },
      });
    }
    // A scope that ran out of budget recorded it last, and failed with the budget's failure.
    const budget = run.close.kind === 'failed' && run.close.failureType === BUDGET_EXCEEDED ? budgetKindOf(run.close.failureMessages?.[0]) : null;
    if (budget) {
      facts.push({
        key: [Number.MAX_SAFE_INTEGER, 0, 0],
        action: {
          scopeId,
          kind: 'budget_exceeded',
          name: budget,
          status: 'error',
          targetScopeId: null,
          why: `${where} failed with ${BUDGET_EXCEEDED} (${budget})`,
          workflowSide: true,
        },
      });
    }
    facts.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2]);
    facts.forEach((f, i) => add({ ...f.action, builds, actionId: workflowActionId(scopeId, (continued?.actionSeq ?? 0) + i + 1) }));
  }
  return { expected, explainedActivities };
}

/**
 * What the row of an accepted handoff request must say (cim/handoff-request.ts): `success`
 * when the run went on as a handoff into the agent it names, `error` with the reason when
 * the run ended otherwise. Rows written before that rule say `success` whatever the end,
 * and stand. While the run is open, or when it ended without the agent (terminated, timed
 * out), history does not decide.
 */
function acceptedRequestRow(to: string, run: RunFacts, scopeId: string): Pick<ExpectedAction, 'status' | 'outcomes'> {
  const end = runEndOf(run, scopeId);
  if (!end) return { status: null };
  const reason = unhonouredHandoffReason(to, end);
  if (reason === null) return { status: 'success' };
  return { status: 'error', outcomes: [{ status: 'error', error: reason }, { status: 'success', error: null }] };
}

/** How the agent's code ended the run; null when it did not (still open, terminated, timed out). */
export function runEndOf(run: Pick<RunFacts, 'close' | 'continuedAs'>, scopeId: string): RunEnd | null {
  switch (run.close.kind) {
    case 'completed':
      return { kind: 'returned' };
    case 'failed':
      return { kind: 'failed' };
    case 'canceled':
      return { kind: 'cancelled' };
    case 'continued_as_new': {
      const can = run.continuedAs;
      if (!can) return null;
      return can.nextKind === 'handoff' && can.nextScopeId !== scopeId ? { kind: 'handed_off', to: can.nextWorkflowType } : { kind: 'continued' };
    }
    default:
      return null;
  }
}

function compareActions(
  expected: readonly ExpectedAction[],
  stored: readonly ActionRecord[],
  explainedActivities: ReadonlySet<string>,
  expectedScopes: ReadonlyMap<string, ExpectedScope>,
  out: Difference[],
): number {
  let openInHistory = 0;
  const storedById = new Map(stored.map((a) => [a.actionId, a]));
  const used = new Set<string>();
  const matches: Array<[ExpectedAction, ActionRecord]> = [];
  const unmatched: ExpectedAction[] = [];

  // Tool and LLM attempts have ids derived from history: match by id.
  for (const e of expected) {
    if (e.workflowSide) continue;
    const s = storedById.get(e.actionId);
    if (s) {
      used.add(s.actionId);
      matches.push([e, s]);
    } else unmatched.push(e);
  }

  // Workflow-side actions: by what they are (kind + target, or kind + name for signals),
  // preferring the row at the predicted id; then any row at the predicted id (a changed row).
  const wf = expected.filter((e) => e.workflowSide);
  const candidates = new Map<string, ActionRecord[]>();
  for (const s of stored) {
    if (s.activityId !== null || s.kind === 'denied') continue;
    const key = semanticKey(s.scopeId, s.kind, s.name, s.targetScopeId);
    const list = candidates.get(key) ?? [];
    list.push(s);
    candidates.set(key, list);
  }
  for (const list of candidates.values()) list.sort((a, b) => seqOf(a.actionId) - seqOf(b.actionId) || cmp(a.actionId, b.actionId));
  const pending: ExpectedAction[] = [];
  for (const e of wf) {
    const s = storedById.get(e.actionId);
    if (s && !used.has(s.actionId) && semanticKey(s.scopeId, s.kind, s.name, s.targetScopeId) === semanticKey(e.scopeId, e.kind, e.name, e.targetScopeId)) {
      used.add(s.actionId);
      matches.push([e, s]);
    } else pending.push(e);
  }
  const stillPending: ExpectedAction[] = [];
  for (const e of pending) {
    const s = candidates.get(semanticKey(e.scopeId, e.kind, e.name, e.targetScopeId))?.find((c) => !used.has(c.actionId));
    if (s) {
      used.add(s.actionId);
      matches.push([e, s]);
    } else stillPending.push(e);
  }
  for (const e of stillPending) {
    const s = storedById.get(e.actionId);
    if (s && !used.has(s.actionId) && s.activityId === null && s.kind !== 'denied' && s.scopeId === e.scopeId) {
      used.add(s.actionId);
      matches.push([e, s]);
    } else unmatched.push(e);
  }

  for (const [e, s] of matches) {
    const diffs = compareAction(e, s);
    if (diffs.length) out.push({ kind: 'mismatched', record: 'action', id: s.actionId, scopeId: e.scopeId, detail: `${diffs.join('; ')} (${e.why})` });
  }

  // Missing workflow-side actions are named by their predicted id, or by the first free
  // number of their scope when a stored row already holds it.
  const taken = new Set(stored.map((s) => s.actionId));
  for (const e of unmatched) {
    if (e.optional) continue;
    let id = e.actionId;
    if (e.workflowSide && taken.has(id)) {
      for (let n = 1; ; n++) {
        id = workflowActionId(e.scopeId, n);
        if (!taken.has(id)) break;
      }
    }
    taken.add(id);
    const what = e.targetScopeId ? `${e.kind} ${e.name} → ${e.targetScopeId}` : `${e.kind} ${JSON.stringify(e.name)}`;
    // An agent records a signal when a handler receives it; a signal no handler was registered for stays buffered.
    const hint = e.kind === 'signal' ? ' (was a handler registered for it?)' : '';
    out.push({ kind: 'missing', record: 'action', id, scopeId: e.scopeId, detail: `${what}: ${e.why} is not in the store${hint}` });
  }

  for (const s of stored) {
    if (used.has(s.actionId)) continue;
    // Refusals are recorded by the worker without an activity of their own.
    if (s.kind === 'denied') continue;
    if (s.activityId !== null && explainedActivities.has(activityKey(s.scopeId, s.activityId))) {
      openInHistory += 1;
      continue;
    }
    const scopeKnown = expectedScopes.has(s.scopeId);
    // A run still open writes rows history does not show yet: those of a workflow task it has
    // not completed (a delegation, a handoff, a local call's end: commands and markers reach
    // history when the task completes) and of a local call still running (no marker until it
    // ends). History was read before the store, so they may be newer than it; the run's
    // close decides them.
    if (scopeKnown && expectedScopes.get(s.scopeId)!.finalRun.close.kind === 'open') {
      openInHistory += 1;
      continue;
    }
    const because = !scopeKnown
      ? `its scope ${s.scopeId} is not executed by any run in history`
      : s.activityId !== null
        ? `activity ${s.activityId} attempt ${s.attempt} of its scope is not in history`
        : `no ${s.kind} event of its scope in history explains it`;
    out.push({
      kind: 'extra',
      record: 'action',
      id: s.actionId,
      scopeId: s.scopeId,
      detail: `${s.kind} ${s.name} (${s.status}) is in the store but ${because}`,
    });
  }
  return openInHistory;
}

function compareAction(e: ExpectedAction, s: ActionRecord): string[] {
  const diffs: string[] = [];
  if (e.attempt) field(diffs, 'attempt', s.attempt, e.attempt.n);
  // Whatever else a row says, it cannot end before it began.
  if (s.endedAt !== null && Date.parse(s.endedAt) < Date.parse(s.startedAt)) diffs.push(`endedAt: store ${s.endedAt}, before its startedAt ${s.startedAt}`);
  // A refused attempt is recorded as `denied` under the attempt's id: it stands for a failed attempt,
  // and a last attempt history shows ending otherwise (timed out, completed, cancelled) was not refused.
  if (s.kind === 'denied' && !e.workflowSide) {
    if (e.status !== null && e.status !== 'error') diffs.push(`status: store "denied", history "${e.status}"`);
    else if (e.attempt?.close !== undefined && e.attempt.close !== 'failed') diffs.push(`status: store "denied", history shows the attempt ${e.attempt.close.replace('_', ' ')}`);
    else if (e.proven?.error !== undefined && e.proven.error !== null) field(diffs, 'error', s.error, storableText(e.proven.error));
    field(diffs, 'name', s.name, e.name);
    return diffs;
  }
  field(diffs, 'kind', s.kind, e.kind);
  field(diffs, 'name', s.name, e.name);
  if (e.anyEnd) {
    if (s.status === 'running') diffs.push(`status: store "running", history shows the attempt ended`);
  } else if (e.mayBeUnhandled && s.status === 'error' && s.error === UNHANDLED_SIGNAL_ERROR) {
    // recorded as unhandled as its run ended: history cannot say whether a handler took it
  } else if (e.outcomes) {
    // The store keeps text Postgres can hold (see storableText).
    if (!e.outcomes.some((o) => o.status === s.status && s.error === (o.error === null ? null : storableText(o.error)))) {
      const said = (status: string, error: string | null) => `"${status}"${error === null ? '' : ` (${JSON.stringify(error)})`}`;
      diffs.push(`status: store ${said(s.status, s.error)}, history ${e.outcomes.map((o) => said(o.status, o.error)).join(' or ')}`);
    }
  } else if (e.status !== null) field(diffs, 'status', s.status, e.status);
  field(diffs, 'targetScopeId', s.targetScopeId, e.targetScopeId);
  if (s.scopeId !== e.scopeId) field(diffs, 'scopeId', s.scopeId, e.scopeId);
  const p = e.proven;
  if (p) {
    if (p.inputDigest !== undefined) field(diffs, 'inputDigest', s.inputDigest, p.inputDigest);
    if (p.outputDigest !== undefined) field(diffs, 'outputDigest', s.outputDigest, p.outputDigest);
    // The store keeps text Postgres can hold (see storableText); history keeps it as sent.
    if (p.error !== undefined) field(diffs, 'error', s.error, p.error === null ? null : storableText(p.error));
    if (p.resources) {
      const stored = resourceSet(s.resources);
      const proven = resourceSet(p.resources);
      if (stored !== proven) diffs.push(`resources: store [${stored}], the tool's result in history [${proven}]`);
    }
    const unversioned = p.unversionedMayStart && (s.workerBuildId ?? null) === null;
    if (p.workerBuildId !== undefined && !unversioned) field(diffs, 'workerBuildId', s.workerBuildId ?? null, p.workerBuildId, 'the worker that started the attempt');
  }
  if (e.builds) buildField(diffs, s.workerBuildId, e.builds, 'the workflow tasks of its run');
  return diffs;
}

/**
 * What one attempt's history events prove beyond its status. The input is the same for
 * every attempt; the output, resources and error belong to the last one only (a
 * superseded attempt left no result in history).
 */
function provenByActivity(act: ActivityFacts, last: boolean, versionedRun: boolean): ExpectedAction['proven'] {
  const proven: NonNullable<ExpectedAction['proven']> = {};
  if (act.inputDigest !== undefined) proven.inputDigest = act.inputDigest;
  if (last && act.close === 'completed' && act.result) {
    proven.outputDigest = act.result.outputDigest;
    proven.resources = act.result.resources;
    proven.error = null;
  }
  if (last && act.close === 'failed' && act.failureMessage !== undefined) proven.error = act.failureMessage;
  if (last && versionedRun && act.lastAttemptBuildId) {
    proven.workerBuildId = act.lastAttemptBuildId;
    if (act.otherTaskQueue) proven.unversionedMayStart = true;
  }
  return proven;
}

/**
 * What a scope must name as having failed it, as far as history proves it: nothing after
 * a completed run (null); after a failed one, what its failure says (its own id for its
 * own code). Undefined where history does not say (a run still open, continued, or one
 * whose failure was not read).
 */
function expectedFailedBy(scopeId: string, run: RunFacts): string | null | undefined {
  if (run.close.kind === 'completed') return null;
  const source = run.close.kind === 'failed' ? run.close.failureSource : undefined;
  if (source === undefined) return undefined;
  if (source === 'own') return scopeId;
  if ('delegation' in source) return source.delegation;
  return scopedActivityId(source.activity, run.scope?.continuation?.run);
}

/**
 * The error a scope must hold, as far as history proves it: none after a completed
 * run; after a failed one, the failure's text joined with its causes as the agent
 * records it (workflows/scope-state.ts errorMessage). An agent's plain Error reaches
 * history wrapped in a failure with the same message, so the text from its cause is
 * allowed too.
 */
function expectedScopeErrors(run: RunFacts): Array<string | null> | undefined {
  if (run.close.kind === 'completed') return [null];
  const chain = run.close.kind === 'failed' ? run.close.failureMessages : undefined;
  if (!chain?.length) return undefined;
  // The links errorMessage follows from chain[i]: up to one without a message or repeating the one before.
  const links = (i: number): string[] => {
    const end = chain.findIndex((m, j) => j > i && (!m || m === chain[j - 1]));
    return chain.slice(i, end < 0 ? chain.length : end);
  };
  // As workflows/scope-state.ts errorMessage (cim/cause-chain.ts).
  const text = (i: number): string => joinCauses(links(i));
  // Rows written before: one rule left out only causes' text a message ended with whole (so
  // "…: fetch failed" over "fetch failed: connect …" said "fetch failed" twice), the first repeated every cause.
  const wholeEnding = (i: number): string =>
    links(i).reduceRight((said, message, j, all) => (j === all.length - 1 || message.endsWith(said) ? message : `${message}: ${said}`), '');
  const repeated = (i: number): string => links(i).join(': ');
  const texts = [text(0), wholeEnding(0), repeated(0)];
  if (chain.length > 1 && chain[1] === chain[0]) texts.push(text(1), wholeEnding(1), repeated(1));
  return [...new Set(texts)].map(storableText);
}

function resourceSet(resources: readonly ResourceRef[]): string {
  return [...new Set(resources.map((r) => `${r.mode} ${storableText(r.uri)}`))].sort().join(', ');
}

// --------------------------------------------------------------------------- helpers

function field(diffs: string[], name: string, stored: unknown, expected: unknown, why?: string): void {
  if (stored === expected) return;
  diffs.push(`${name}: store ${JSON.stringify(stored)}, history ${JSON.stringify(expected)}${why ? ` (${why})` : ''}`);
}

/**
 * A record written by a workflow task names the build of that task's worker. History
 * names the builds that completed the run's tasks; the record's must be one of them.
 * Where history names none (unversioned workers), there is nothing to compare.
 */
function buildField(diffs: string[], stored: string | undefined, builds: ReadonlySet<string>, where: string): void {
  if (builds.size === 0 || (stored !== undefined && builds.has(stored))) return;
  diffs.push(`workerBuildId: store ${JSON.stringify(stored ?? null)}, history: ${where} were completed by build ${[...builds].map((b) => JSON.stringify(b)).join(' or ')}`);
}

function semanticKey(scopeId: string, kind: string, name: string, target: string | null): string {
  // Delegations and handoffs are identified by the scope they created; signals by name.
  return kind === 'signal' ? `${scopeId}\u0000signal\u0000${name}` : `${scopeId}\u0000${kind}\u0000${target ?? ''}`;
}

function activityKey(scopeId: string, activityId: string): string {
  return `${scopeId}\u0000${activityId}`;
}

function seqOf(actionId: string): number {
  const m = /\/w(\d+)$/.exec(actionId);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
