/**
 * The scope a workflow run is executing under, and the counters that make every id
 * it emits deterministic. Module state in the workflow bundle is private to one
 * workflow execution (the SDK isolates it), so this is per-run state.
 */
import { proxySinks, workflowInfo } from '@temporalio/workflow';
import type { OpenCalls, ScopeContext, ScopeRecord, ScopeStatus } from '../cim/schemas';
import type { CallOutcome, DelegationAttempt } from '../cim/status';
import type { BudgetKind, BudgetSpec, BudgetUsage } from '../cim/budget';
import { workflowActionId } from '../cim/ids';
import { outputText } from '../cim/output-text';
import { canonicalJson } from '../cim/canonical-json';
import { causeMessages, joinCauses } from '../cim/cause-chain';
import type { ToolRelay } from '../cim/envelope';
import type { ScopetrailSinks, SinkEvent, WorkflowActionRecord } from './sinks';
import type { OpenDelegate } from './open-delegates';
import type { CallInFlight, CallSettled } from './open-calls';

export interface PendingChild {
  objective: string | null;
  allowance: string[] | null;
  budget?: BudgetSpec;
  slot: string;
  attempt: number;
}

export interface ScopeState {
  ctx: ScopeContext;
  /** What the scope was asked to do: from the memo, never the header (codecs do not encode headers). */
  objective: string | null;
  startedAt: string;
  actionSeq: number;
  childSeq: number;
  slotSeq: number;
  delegations: DelegationAttempt[];
  calls: CallOutcome[];
  pendingChildren: Map<string, PendingChild>;
  /** Activities scheduled and not yet settled, by the SDK's sequence number (open-calls.ts). */
  callsInFlight: Map<number, CallInFlight>;
  /**
   * Set to 'asked' by a tool caller just before it schedules a call; the interceptor that
   * follows the call replaces it with the call's CallSettled (open-calls.ts).
   */
  callerFollows?: 'asked' | CallSettled;
  /**
   * Set by the runtime's other callers that read a call's envelope themselves (a model step)
   * while they schedule it. A call made with neither is the agent's own (plain-calls.ts).
   */
  callerUnwraps?: boolean;
  /** Delegates started and not yet closed that the server would terminate with this run, by scope id. */
  openDelegates: Map<string, OpenDelegate>;
  /** The next scope's context while a handoff's continue-as-new is on its way out. */
  pendingHandoff?: ScopeContext;
  /** A handoff asked for by signal, performed at the agent's next safe point. */
  requestedHandoff?: { to: string; reason: string; input: unknown };
  /** The `running` row of that request's signal, rewritten with its fate when the run ends (handoff-request.ts). */
  requestedHandoffRow?: WorkflowActionRecord;
  llmTurns: number;
  /** Model turns and tokens this scope and its returned delegates have spent. */
  used: BudgetUsage;
  /** Set when the scope ran out of budget: how, and why. */
  budgetExceeded?: { kind: BudgetKind; message: string };
  /** Cancels the agent's work (its delegates and activities), e.g. when its budget runs out. */
  cancelWork?: () => void;
  /** The context the next run of this same scope starts with, while its continue-as-new is on its way out. */
  pendingContinuation?: ScopeContext;
  /** The latest end of a local call the scope has seen (epoch ms): the records it writes next are not timed before it. */
  clockFloorMs?: number;
  /** Set while signals no handler took are taken as the run ends (unhandled-signals.ts): they are recorded as unhandled. */
  drainingSignals?: boolean;
}

const { scopetrail } = proxySinks<ScopetrailSinks>();

let incoming: ScopeContext | undefined;
let incomingLegacyObjective: string | null = null;
let state: ScopeState | undefined;

/** Set by the inbound interceptor from the `scopetrail-scope` header, before the agent runs. */
export function setIncomingContext(ctx: ScopeContext | undefined, legacyObjective: string | null = null): void {
  incoming = ctx;
  incomingLegacyObjective = legacyObjective;
}

export function incomingContext(): ScopeContext | undefined {
  return incoming;
}

/** The objective a header of an earlier scopetrail version carried, for runs started from one. */
export function incomingLegacyObjectiveOf(): string | null {
  return incomingLegacyObjective;
}

export function startState(ctx: ScopeContext, objective: string | null): ScopeState {
  // A later run of the same scope picks up where the previous run stopped.
  const c = ctx.continuation;
  state = {
    ctx,
    objective,
    startedAt: c?.startedAt ?? now(),
    actionSeq: c?.actionSeq ?? 0,
    childSeq: c?.childSeq ?? 0,
    slotSeq: c?.slotSeq ?? 0,
    delegations: c ? c.delegations.map((d) => ({ ...d })) : [],
    calls: [],
    pendingChildren: new Map(),
    callsInFlight: new Map(),
    openDelegates: new Map(),
    llmTurns: c?.llmTurns ?? 0,
    used: c ? { ...c.used } : { turns: 0, tokens: 0 },
  };
  return state;
}

/** The current scope, or undefined in a workflow that is not a scopetrail agent. */
export function currentState(): ScopeState | undefined {
  return state;
}

export function requireState(what: string): ScopeState {
  if (!state) throw new Error(`${what} can only be called inside an agent defined with defineAgent()`);
  return state;
}

export function now(): string {
  // Date in the workflow sandbox is the workflow task's time: identical on replay. After a
  // local call it is the task's start plus the call's run time, which can be earlier than
  // the call's own recorded end; the floor comes from history too, so replays agree.
  const floor = state?.clockFloorMs;
  return new Date(floor !== undefined && floor > Date.now() ? floor : Date.now()).toISOString();
}

/**
 * The furthest a local call's end may move the scope's clock ahead of the workflow's:
 * the gap is the call's dispatch time, so a larger one is a worker clock that runs ahead,
 * which must not push the scope's records into the future.
 */
const CLOCK_FLOOR_SLACK_MS = 5_000;

/** Notes a local call's end (from its relay's `local.endedAt`) so the scope's next records are not timed before it. */
export function noteLocalEnd(st: ScopeState, endedAt: string | undefined): void {
  if (endedAt === undefined) return;
  const ms = Date.parse(endedAt);
  if (!Number.isFinite(ms)) return;
  const floor = Math.min(ms, Date.now() + CLOCK_FLOOR_SLACK_MS);
  if (floor > (st.clockFloorMs ?? 0)) st.clockFloorMs = floor;
}

export function nextActionId(st: ScopeState): string {
  st.actionSeq += 1;
  return workflowActionId(st.ctx.scopeId, st.actionSeq);
}

export function scopeRecord(
  st: ScopeState,
  status: ScopeStatus,
  extra: { recovered?: boolean; error?: string | null; endedAt?: string | null; failedBy?: string; openCalls?: OpenCalls } = {},
): ScopeRecord {
  const info = workflowInfo();
  const { handoffIndex: _index, visibility: _visibility, budget: _budget, continuation: _continuation, chainRecovered: _chain, ...ctx } = st.ctx;
  return {
    ...ctx,
    objective: st.objective,
    namespace: info.namespace,
    status,
    recovered: extra.recovered ?? false,
    error: extra.error ?? null,
    startedAt: st.startedAt,
    endedAt: extra.endedAt ?? null,
    workflowId: info.workflowId,
    runId: info.runId,
    // Absent unless the scope failed: an absent field stays out of the record's hash.
    ...(extra.failedBy === undefined ? {} : { failedBy: extra.failedBy }),
    ...(extra.openCalls === undefined ? {} : { openCalls: extra.openCalls }),
  };
}

type ActionFields = Pick<WorkflowActionRecord, 'kind' | 'name' | 'status'> &
  Partial<Omit<WorkflowActionRecord, 'kind' | 'name' | 'status'>>;

export function actionRecord(st: ScopeState, actionId: string, fields: ActionFields): WorkflowActionRecord {
  const info = workflowInfo();
  return {
    actionId,
    scopeId: st.ctx.scopeId,
    sessionId: st.ctx.sessionId,
    namespace: info.namespace,
    agent: st.ctx.agent,
    attempt: 1,
    resources: [],
    error: null,
    startedAt: now(),
    endedAt: null,
    workflowId: info.workflowId,
    runId: info.runId,
    activityId: null,
    targetScopeId: null,
    attributes: {},
    sessionStartedAt: st.ctx.sessionStartedAt,
    ...fields,
  };
}

/**
 * Records emitted during the current activation, handed to the worker in one sink call
 * when the activation concludes (the interceptors' concludeActivation calls
 * flushRecords): each sink call is a message to the worker thread, a clone, a call and
 * a store write of its own. Undefined until the interceptors ask for batching, so a
 * bundle without them still hands over every record at once.
 */
let batch: SinkEvent[] | undefined;

export function batchRecordsPerActivation(): void {
  batch ??= [];
}

/** Hands the activation's records to the worker; the SDK awaits the call before it completes the task. */
export function flushRecords(): void {
  if (!batch?.length) return;
  const events = batch;
  batch = [];
  scopetrail.record(events);
}

/**
 * User data inside a record (a delegation's input, an agent's output, a payload) is
 * copied when the record is made, as the SDK copies a sink call's arguments: code that
 * runs later in the same activation may change the object, and the record must hold
 * what Temporal was given. The rest of a record is built here from immutable values.
 */
const snapshot = <T>(value: T): T => ((globalThis as { structuredClone?: <V>(v: V) => V }).structuredClone?.(value) ?? value);

function emit(event: SinkEvent): void {
  if (batch) batch.push(event);
  else scopetrail.record([event]);
}

export function emitScope(record: ScopeRecord): void {
  emit({ type: 'scope', record });
}

/**
 * A record's input as the text its digest is taken of, written now: code that runs later in
 * the same activation may change the object, and the record must hold what Temporal was
 * given. As text it also crosses to the worker's thread at any depth (a value nested a few
 * thousand levels deep fails the sink's copy, and with it every try of the workflow task).
 * A value canonical JSON cannot write stays a value, copied, for the worker to judge.
 */
function withInputText(record: WorkflowActionRecord): WorkflowActionRecord {
  if (!('input' in record)) return record;
  const { input, ...rest } = record;
  try {
    return { ...rest, inputJson: canonicalJson(input ?? null) };
  } catch {
    return batch ? { ...rest, input: snapshot(input) } : record;
  }
}

/** Returns the record as emitted (its input written down): what a later rewrite of the row starts from. */
export function emitAction(record: WorkflowActionRecord): WorkflowActionRecord {
  const emitted = withInputText(record);
  emit({ type: 'action', record: emitted });
  return emitted;
}

/** Keeps a payload with an action (by reference: it never travels through Temporal). */
export function emitPayload(actionId: string, side: 'input' | 'output', body: unknown): void {
  emit({ type: 'payload', record: { namespace: workflowInfo().namespace, actionId, side, body: batch ? snapshot(body) : body } });
}

export function emitGap(record: WorkflowActionRecord): void {
  emit({ type: 'gap', record: withInputText(record) });
}

/**
 * Records a tool's worker could only spool (ToolRelay in cim/envelope.ts), passed on as
 * they are to be written through this workflow's worker. The scope's end goes the same
 * way, after them, so the store holds them before the end that lets the scope be sealed.
 */
export function emitRelay(relay: ToolRelay | undefined): void {
  if (relay && (relay.actions?.length || relay.gaps?.length)) emit({ type: 'relay', actions: relay.actions ?? [], gaps: relay.gaps ?? [] });
}

export function emitOutput(st: ScopeState, value: unknown): void {
  const { sessionId, scopeId, agent, sessionStartedAt } = st.ctx;
  // Only the text is fingerprinted: it goes to the worker instead of the value, which may be
  // nested deeper than the sink's copy to the worker's thread survives (and is larger).
  emit({ type: 'output', record: { namespace: workflowInfo().namespace, sessionId, scopeId, agent, producedAt: now(), value: outputText(value), sessionStartedAt } });
}

/**
 * An error's message with its causes' (cim/cause-chain.ts). A message that already says what
 * its causes say (a DelegationError quotes its child's failure, a tool's error quotes the
 * error it wraps) is not followed by it again: otherwise the text would double at every
 * level it passes through. cim/reconcile.ts expectedScopeErrors reads history's failure
 * chains by the same rule.
 */
export function errorMessage(err: unknown): string {
  return joinCauses(causeMessages(err));
}
