/**
 * defineAgent: an agent is a Temporal workflow whose every run is one delegation
 * scope. The wrapper establishes the scope (from the incoming header, or as a root),
 * records its start and end, and returns the agent's result in an envelope that
 * carries the rolled-up status to the delegator.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  TemporalFailure,
  isCancellation,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  defineSignal,
} from '@temporalio/workflow';
import { SCOPE_KEY, sameScopeMemo, scopeMemo, scopeSearchAttributes } from '../cim/scope-visibility';
import { HANDOFF_SIGNAL } from '../cim/names';
import { SESSION_ID_PATTERN, handoffRequestSchema, sessionIdSchema, type ScopeContext } from '../cim/scope-context';
import { MANIFEST_KEYS, manifestSchema, type Manifest, type ManifestInput } from '../cim/manifest';
import { certainManifest } from '../cim/certain-context';
import { rootPath, rootScopeId } from '../cim/ids';
import { rollUpStatus, type OwnOutcome } from '../cim/status';
import { wrapAgentResult } from '../cim/envelope';
import { narrowBudget, reportedUsage } from '../cim/budget';
import { budgetFailure, carryingUsage, withinBudget } from './budget';
import { closeOpenDelegates } from './open-delegates';
import { openCallsAt } from './open-calls';
import { recordUnhandledSignals } from './unhandled-signals';
import { failureSource } from './failure-source';
import { settleHandoffRequest } from './handoff-request';
import type { RunEnd } from '../cim/handoff-request';
import { intersectAllowances } from '../cim/allowance';
import { OBJECTIVE_MEMO, SCOPE_MEMO, VISIBILITY_MEMO } from './sinks';
import { causeMessages, joinCauses } from '../cim/cause-chain';
import { emitOutput, emitScope, errorMessage, incomingContext, incomingLegacyObjectiveOf, now, scopeRecord, startState, type ScopeState } from './scope-state';
import { InvalidOptionError, invalidOption, unknownOption } from '../cim/invalid-field';
import { boundedFailure } from '../cim/bounded-failure';
import { unsendableResult } from './sendable-result';
import { requireRecordingWorker } from './plugin-check';

export interface AgentWorkflow<I = unknown, O = unknown> {
  (input: I): Promise<unknown>;
  readonly manifest: Manifest;
  /** Phantom marker carrying the agent's input and output types to delegate() and the client. */
  readonly __types?: { input: I; output: O };
}

export type AgentInput<A> = A extends AgentWorkflow<infer I, unknown> ? I : never;
export type AgentOutput<A> = A extends AgentWorkflow<unknown, infer O> ? O : never;

/** Agents defined in this bundle: the only workflow types a handoff can continue as. */
const knownAgents = new Set<string>();

export function isKnownAgent(name: string): boolean {
  return knownAgents.has(name);
}

export function knownAgentNames(): string[] {
  return [...knownAgents].sort();
}

/** The names agents were defined with, read without checking their manifests. */
const definedNames = new WeakMap<object, string>();

/** An agent's name (its workflow type), for delegating or handing off to it. */
export function agentNameOf<I, O>(agent: AgentWorkflow<I, O>): string {
  return definedNames.get(agent) ?? agent.manifest.name;
}

function checkManifest(input: ManifestInput): Manifest {
  const unknown = unknownOption('defineAgent manifest', input, MANIFEST_KEYS);
  if (unknown) throw unknown;
  // A manifest of the common form passes the fast check without building the schema (see cim/certain-context.ts).
  const certain = certainManifest(input);
  if (certain) return certain;
  const parsed = manifestSchema().safeParse(input);
  if (!parsed.success) throw invalidOption('defineAgent manifest', parsed.error, 'manifest');
  return parsed.data;
}

/**
 * An agent: a Temporal workflow whose type is the manifest's name. The manifest is checked
 * when it is first read (by the worker as it starts, which reads every agent's, or by
 * `.manifest`), not by this call: every workflow evaluates all the definitions of its bundle.
 */
export function defineAgent<I, O>(manifestInput: ManifestInput, fn: (input: I) => Promise<O>): AgentWorkflow<I, O> {
  const name = String((manifestInput as Partial<ManifestInput> | undefined)?.name);
  return defineAgentLazily(name, () => ({ manifest: manifestInput, fn }));
}

/** What an agent is made of: its manifest (checked when it is first read: by the worker as it starts, or by `.manifest`) and its code. */
export interface AgentDefinition<I, O> {
  manifest: ManifestInput;
  fn: (input: I) => Promise<O>;
}

/**
 * An agent made when it is first needed: when its manifest is read or when it runs, not
 * when it is defined. Every workflow evaluates all the agent definitions of its bundle and
 * runs one of them, so a workflow checks only its own agent's manifest (and whatever
 * `make` checks besides). The worker reads, and so checks, every manifest when it starts
 * (worker/manifests.ts): a bad one still stops it there, with the same error.
 */
export function defineAgentLazily<I, O>(name: string, make: () => AgentDefinition<I, O>): AgentWorkflow<I, O> {
  let made: { manifest: Manifest; fn: (input: I) => Promise<O> } | undefined;
  const definition = () => {
    if (made) return made;
    const { manifest, fn } = make();
    const checked = checkManifest(manifest);
    if (typeof fn !== 'function') throw new InvalidOptionError(`defineAgent "${checked.name}": invalid field "fn": give the agent's code, an async function of its input`, 'fn');
    return (made = { manifest: checked, fn });
  };
  knownAgents.add(name);

  const agent = async (input: I): Promise<unknown> => {
    // Before anything is recorded or run: on a worker without the plugin nothing would be.
    requireRecordingWorker(name);
    const { manifest, fn } = definition();
    const st = beginScope(manifest);
    let value: O;
    try {
      // Only a scope with a budget needs a scope its budget can cancel.
      value = st.ctx.budget ? await withinBudget(st, () => fn(input)) : await fn(input);
    } catch (err) {
      if (st.openDelegates.size) await closeOpenDelegates(st.openDelegates);
      throw endWithError(st, err);
    }
    // Awaited only when some are open: a promise made in the sandbox costs a captured stack trace.
    if (st.openDelegates.size) await closeOpenDelegates(st.openDelegates);
    // Work that finished as the deadline fired is still over budget: its overrun is recorded.
    if (st.budgetExceeded) throw endWithError(st, budgetFailure(st));
    // Checked before the end is recorded: a result Temporal cannot take must not be recorded a success.
    // The meta is ours, plain JSON, and stands in for the rolled-up one in the check.
    const unsendable = unsendableResult(manifest.name, value, wrapAgentResult(value, { scopeId: st.ctx.scopeId, status: 'success', recovered: false }));
    if (unsendable) throw endWithError(st, unsendable);
    emitOutput(st, value);
    const rolled = endScope(st, 'success', null);
    const recovered = rolled.recovered || st.ctx.chainRecovered === true;
    return wrapAgentResult(value, { scopeId: st.ctx.scopeId, ...rolled, recovered, used: reportedUsage(st.ctx.budget, st.used) });
  };
  // The workflow type is the export name in the bundle; the function name helps stack traces.
  Object.defineProperty(agent, 'name', { value: name });
  Object.defineProperty(agent, 'manifest', { get: () => definition().manifest, enumerable: true });
  definedNames.set(agent, name);
  return agent as unknown as AgentWorkflow<I, O>;
}

function beginScope(manifest: Manifest): ScopeState {
  const info = workflowInfo();
  const incoming = incomingContext();
  let ctx: ScopeContext;
  // Every scope finds its objective in its run's memo (set by the client, the delegator or
  // the handoff). A run started by an earlier version carries it in the header instead, and
  // that header wins: such a run's memo may be one the server carried over from the run before.
  const memoObjective = info.memo?.[OBJECTIVE_MEMO];
  const legacy = incoming ? incomingLegacyObjectiveOf() : null;
  const objective = legacy ?? (typeof memoObjective === 'string' ? memoObjective : null);
  if (incoming) {
    ctx = {
      ...incoming,
      agent: manifest.name,
      agentVersion: manifest.version,
      // The delegator passed what it may grant; the agent's own manifest narrows it further.
      allowance: intersectAllowances(incoming.allowance, manifest.resources ?? null) as string[] | null,
      // Likewise its budget: never more than the delegator had left (a later run of the same scope keeps its own).
      budget: incoming.continuation ? incoming.budget : narrowBudget(incoming.budget ?? null, manifest.budget, Date.now(), incoming.scopeId),
    };
  } else {
    const sessionId = info.workflowId;
    // The pattern alone decides; the schema is built only to say what is wrong.
    const id = SESSION_ID_PATTERN.test(sessionId) ? { success: true as const } : sessionIdSchema().safeParse(sessionId);
    if (!id.success) {
      // Started around the client (a raw Temporal start): recording anything under this id
      // would overwrite another session's scope, so the run fails before it writes a row.
      throw ApplicationFailure.nonRetryable(
        `invalid session id ${JSON.stringify(sessionId)} (the workflow id of a root agent): ${id.error.issues[0]?.message}`,
        'InvalidSessionId',
      );
    }
    const scopeId = rootScopeId(sessionId);
    const visibility = info.memo?.[VISIBILITY_MEMO] === true;
    ctx = {
      sessionId,
      scopeId,
      parentScopeId: null,
      handoffFromScopeId: null,
      kind: 'root',
      agent: manifest.name,
      agentVersion: manifest.version,
      delegatedBy: null,
      allowance: manifest.resources ?? null,
      depth: 0,
      path: rootPath(scopeId),
      handoffIndex: 0,
      visibility,
      budget: narrowBudget(null, manifest.budget, Date.now(), scopeId),
      // The session's first run started it; later runs (handoffs) carry this context on.
      sessionStartedAt: info.startTime.toISOString(),
    };
  }
  const st = startState(ctx, objective);
  if (ctx.visibility) publishToVisibility(ctx, objective);
  setHandler(handoffSignal, (raw: unknown) => {
    const req = handoffRequestSchema().safeParse(raw);
    // The interceptor has already recorded the signal, with the validation error if any.
    if (req.success && isKnownAgent(req.data.to) && !st.requestedHandoff) {
      st.requestedHandoff = { to: req.data.to, reason: req.data.reason, input: req.data.input };
    }
  });
  emitScope(scopeRecord(st, 'running'));
  return st;
}

const handoffSignal = defineSignal<[unknown]>(HANDOFF_SIGNAL);

/**
 * Lets Temporal's own visibility (`temporal workflow list --query`) find a session's runs.
 * Whoever started this run normally set both already (cim/scope-visibility.ts).
 */
function publishToVisibility(ctx: ScopeContext, objective: string | null): void {
  const info = workflowInfo();
  const attributes = scopeSearchAttributes(ctx);
  if (attributes.some(({ key, value }) => info.typedSearchAttributes.get(key as typeof SCOPE_KEY) !== value)) {
    upsertSearchAttributes(attributes);
  }
  // The memo is encoded by the worker's payload codec; search attributes are not, so they hold ids only.
  const memo = scopeMemo(ctx, objective);
  if (!sameScopeMemo(info.memo?.[SCOPE_MEMO], memo)) upsertMemo({ [SCOPE_MEMO]: memo });
}

function endScope(st: ScopeState, own: OwnOutcome, error: string | null, failedBy?: string) {
  recordUnhandledSignals(st);
  settleHandoffRequest(st, howRunEnded(st, own));
  const rolled = rollUpStatus({ own, delegations: st.delegations, calls: st.calls, recoveredEarlier: st.ctx.continuation?.recoveredCalls });
  const endedAt = now();
  const openCalls = st.callsInFlight.size ? openCallsAt(st.callsInFlight.values(), Date.parse(endedAt)) : undefined;
  emitScope(scopeRecord(st, rolled.status, { recovered: rolled.recovered, error, endedAt, failedBy, openCalls }));
  return rolled;
}

/** How this run ended, as the handoff request it may answer needs it (cim/reconcile.ts reads the same from history). */
function howRunEnded(st: ScopeState, own: OwnOutcome): RunEnd {
  switch (own) {
    case 'success':
      return { kind: 'returned' };
    case 'error':
      return { kind: 'failed' };
    case 'cancelled':
      return { kind: 'cancelled' };
    case 'handed_off':
      return st.pendingHandoff ? { kind: 'handed_off', to: st.pendingHandoff.agent } : { kind: 'continued' };
  }
}

/**
 * The message history will carry for a failure that came from Temporal: the SDK sends the
 * failure it received as it was (a child cancelled from outside says "Child Workflow execution
 * cancelled" there), though its error's own message is the class's fixed one.
 */
function messageInHistory(err: TemporalFailure): string {
  const head = err.failure?.message || err.message;
  return err.cause instanceof Error ? joinCauses([head, ...causeMessages(err.cause)]) : head;
}

/** Records how the scope ended and returns the error Temporal should see. */
function endWithError(st: ScopeState, err: unknown): unknown {
  // Out of budget: the scope cancelled its own work, and it is that overrun which ended it.
  if (st.budgetExceeded && !(err instanceof ContinueAsNew)) {
    // Its own overrun (the budget_exceeded action says which), whatever the cancelled work threw.
    endScope(st, 'error', st.budgetExceeded.message, st.ctx.scopeId);
    return budgetFailure(st);
  }
  if (err instanceof ContinueAsNew) {
    // Continuing in a new run of the same scope is not an end: the next run records it.
    if (!st.pendingContinuation) endScope(st, 'handed_off', null);
    // The next run starts without the request: it ends here, not honoured.
    else settleHandoffRequest(st, { kind: 'continued' });
    return err;
  }
  // Temporal ends the run as cancelled only when the workflow itself was asked to cancel; a
  // cancellation it did not ask for (a delegate cancelled from outside, a scope of the agent's
  // own left uncaught) fails the run, and the scope's row must say what history will.
  if (isCancellation(err) && CancellationScope.current().consideredCancelled) {
    endScope(st, 'cancelled', errorMessage(err));
    return err;
  }
  // Cut to what Temporal takes (cim/bounded-failure.ts), before it is recorded: the row and history then agree.
  const thrown = err instanceof Error ? err : new Error(String(err));
  const e = boundedFailure(thrown) as Error;
  endScope(st, 'error', e === err && isCancellation(err) ? messageInHistory(err as TemporalFailure) : errorMessage(e), failureSource(err, st.ctx.scopeId, st.ctx.continuation?.run));
  // What the subtree spent goes up with the failure, whatever it was, for the delegator to charge.
  if (e instanceof ApplicationFailure) return carryingUsage(st, e);
  if (err instanceof TemporalFailure) return e;
  // A plain Error would fail only the workflow task and be retried forever; for an
  // agent a thrown error is an outcome of its mandate, so the run fails with it.
  return carryingUsage(st, ApplicationFailure.create({ message: e.message, type: thrown.name, nonRetryable: true, cause: e }));
}
