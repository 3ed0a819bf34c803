/**
 * Activity inbound interceptor (worker process). It reads the scope context from the
 * `scopetrail-scope` header and records each attempt of each tool call as one CIM
 * action, committed before the activity reports its result, so an attempt Temporal
 * knows about is an attempt the store knows about.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter, type PayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { SCOPE_HEADER, decodeScopeHeader } from '../cim/header';
import { activityActionId, scopedActivityId } from '../cim/ids';
import { wrapToolResult, type ToolRelay } from '../cim/envelope';
import type { ActionKind, ActionRecord, ResourceRef } from '../cim/schemas';
import { runWithToolRun, scopeDenied, type ToolRun } from '../activities/tool-context';
import { INVALID_TOOL_INPUT } from '../activities/tool';
import { allowed } from '../cim/allowance';
import type { PayloadRecord } from '../store/types';
import { digest, digestOfJson } from '../store/digest';
import { canonicalJson, canonicalJsonStrict } from '../cim/canonical-json';
import { DEFAULT_PAYLOAD_LIMITS, payloadTooLarge, payloadWarning, type PayloadLimits } from './payload-limit';
import type { Landed, Recorder } from './recorder';
import type { Fingerprinter } from './fingerprint-key';
import { failureCarrying } from './failure-relay';
import { boundedFailure } from '../cim/bounded-failure';
import { attemptDeadline, isNotFoundCancellation, overran, overrunAttempt, sameOverrun, timedOutWhileRunning, watchDeadline, type ToolSpan } from './attempt-deadline';
import { askAttemptFate, askQuietAttemptFate } from './attempt-fate';

export interface RegisteredTool {
  name: string;
  kind: Extract<ActionKind, 'tool_call' | 'llm_call'>;
  resources: ResourceRef[];
  recordPayloads: boolean;
}

export interface ActivityCaptureOptions {
  fingerprinter?: Fingerprinter;
  limits?: PayloadLimits;
  /**
   * This worker's deployment and build. An activity runs on whichever worker polls it, not
   * necessarily the one that ran its workflow task, so each attempt records its own.
   */
  worker?: Pick<ActionRecord, 'workerDeployment' | 'workerBuildId'>;
  /** How long an attempt runs before its `running` row is written (0: at once). */
  runningRowAfterMs?: number;
  /**
   * The worker's payload converter (default: Temporal's), which sends each tool's output.
   * An output it cannot send fails the attempt here, recorded as such, rather than be
   * recorded as a success the SDK then fails to send. With the default converter
   * (JSON.stringify) that is a BigInt or a cycle, and also binary data, a Map or a Set,
   * which JSON would turn into a different value (cim/json-sendable.ts); a converter of
   * the worker's own is asked to convert the output, and decides what it can send.
   */
  payloadConverter?: PayloadConverter;
}

/**
 * Long enough that a fast tool's start never costs a row of its own, short enough that a
 * person watching the dashboard sees every call that takes a noticeable time as running.
 */
export const RUNNING_ROW_AFTER_MS = 100;

export function scopeActivityInterceptor(
  recorder: Recorder,
  tools: ReadonlyMap<string, RegisteredTool>,
  { fingerprinter, limits = DEFAULT_PAYLOAD_LIMITS, worker = {}, runningRowAfterMs = RUNNING_ROW_AFTER_MS, payloadConverter = defaultPayloadConverter }: ActivityCaptureOptions = {},
): ActivityInterceptorsFactory {
  const jsonOutputs = payloadConverter === defaultPayloadConverter;
  return (ctx: Context) => {
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input, next) {
        const scope = decodeScopeHeader(input.headers[SCOPE_HEADER]);
        const info = ctx.info;
        const execution = info.workflowExecution;
        // Activities started outside a scopetrail agent run unrecorded.
        if (!scope || !execution) return next(input);
        const tool = tools.get(info.activityType);
        const activityId = scopedActivityId(info.activityId, scope.continuation?.run);
        /** A local activity's attempt tells the workflow its id and end (LocalCallEnd). */
        const localId = info.isLocal ? info.activityId : undefined;
        const run: ToolRun = { scope, attempt: info.attempt, resources: [...(tool?.resources ?? [])], attributes: {}, refused: [] };
        const startedAt = new Date().toISOString();
        const base: Omit<ActionRecord, 'status' | 'error' | 'endedAt' | 'outputDigest'> = {
          actionId: activityActionId(scope.scopeId, activityId, info.attempt),
          scopeId: scope.scopeId,
          sessionId: scope.sessionId,
          namespace: info.workflowNamespace ?? info.namespace,
          agent: scope.agent,
          kind: tool?.kind ?? 'tool_call',
          name: info.activityType,
          attempt: info.attempt,
          resources: run.resources,
          inputDigest: digest(input.args[0]),
          startedAt,
          workflowId: execution.workflowId,
          runId: execution.runId,
          activityId,
          targetScopeId: null,
          attributes: run.attributes,
          ...worker,
          sessionStartedAt: scope.sessionStartedAt,
        };
        // Attenuation: a declared resource outside the scope's allowance stops the call
        // before the tool runs, and the refusal is itself recorded.
        const refused = run.resources.filter((r) => !allowed(scope.allowance, r.uri));
        if (refused.length) {
          const denied = deniedAction(base, refused, scopeDenied(scope, refused).message);
          const landed = await recorder.write({ actions: [denied] });
          throw failureCarrying(scopeDenied(scope, refused), relayOf({ action: denied, landed }, undefined, localId));
        }
        // Attempt n runs only because attempts 1..n-1 ended; one whose worker died never
        // said how. Its row is completed now (or created, if even its start was lost) —
        // without touching an attempt that did record its own end. Not for a local
        // activity: its attempts run one after another in this worker, each recording its
        // own end, and one retried after a timer has a new activity id whose earlier
        // attempts ran under the one before (cim/local-activities.ts).
        let spooledGaps: ActionRecord[] | undefined;
        if (info.attempt > 1 && !info.isLocal) {
          const { startedAt: lostFrom, endedAt: lostUntil } = lostAttemptsWindow(info, Date.now());
          const gaps: ActionRecord[] = Array.from({ length: info.attempt - 1 }, (_, i) => ({
            ...base,
            actionId: activityActionId(scope.scopeId, activityId, i + 1),
            attempt: i + 1,
            resources: [...(tool?.resources ?? [])],
            status: 'error' as const,
            error: `attempt ended without reporting its outcome (worker lost or timed out); attempt ${info.attempt} followed`,
            startedAt: lostFrom,
            endedAt: lostUntil,
            outputDigest: null,
            attributes: { reconstructed: true },
          }));
          if ((await recorder.write({ gaps })) === 'spool') spooledGaps = gaps;
        }
        // The start is recorded without waiting (the tool should not pay for it), and only
        // once the attempt has run for runningRowAfterMs: should the worker die mid-attempt,
        // the `running` row shows which tool was in flight, and the terminal record always
        // wins over it. An attempt that ends sooner goes in as its terminal row alone, one
        // row and one index pass instead of two, and no group commit of its own.
        const writeStart = () => {
          recorder.write({ actions: [{ ...base, status: 'running', error: null, endedAt: null, outputDigest: null }] }).catch(() => undefined);
        };
        const startRow = runningRowAfterMs > 0 ? setTimeout(writeStart, runningRowAfterMs) : (writeStart(), undefined);
        // Temporal times the attempt out at its deadline whether or not the tool still runs: the
        // row says so then, should the tool never finish (see attempt-deadline.ts).
        const startedMs = Date.parse(startedAt);
        const deadline = attemptDeadline(info, startedMs);
        /** The attempt with every resource it declared or has reported so far. */
        const soFar = () => ({ ...base, resources: dedupeResources(run.resources) });
        const stopWatch = watchDeadline(deadline, (passed) => {
          clearTimeout(startRow);
          const timedOut = timedOutWhileRunning(soFar(), passed, Date.now());
          recorder.writeLate({ gaps: [timedOut] }).catch((err: unknown) => ctx.log.warn(`scopetrail: could not record that ${timedOut.actionId} timed out: ${errorText(err)}`));
        });
        /** An attempt that ended after Temporal timed it out is recorded as history has it, whatever the tool did. */
        const recordOverrun = async (outcome: { error?: string; tool?: ToolSpan }) => {
          const late = overrunAttempt(soFar(), deadline, startedMs, Date.now(), outcome, info.heartbeatTimeoutMs);
          await recorder.writeLate({ actions: [late] }, sameOverrun).catch((err: unknown) => ctx.log.warn(`scopetrail: could not record ${late.actionId}, which finished after its timeout: ${errorText(err)}`));
        };
        /**
         * Told `NOT_FOUND` through a heartbeat: the server dropped the attempt, because its
         * heartbeat timeout passed or because its run closed. History says which.
         */
        const droppedAsTimedOut = async (...told: unknown[]): Promise<boolean> => {
          const notFound = told.some(isNotFoundCancellation);
          // A tool that never heartbeats is never told: past its heartbeat timeout, ask anyway.
          const quiet = !notFound && (info.heartbeatTimeoutMs ?? 0) > 0 && Date.now() - startedMs > info.heartbeatTimeoutMs!;
          if (!notFound && !quiet) return false;
          const client = workerClient(ctx);
          if (!client) return false;
          const call = { activityId: info.activityId, attempt: info.attempt, scheduledTimestampMs: info.scheduledTimestampMs };
          return (await (quiet ? askQuietAttemptFate : askAttemptFate)(client, execution, call)) === 'timed_out';
        };
        let output: unknown;
        /** When the tool ran: the attempt may also have waited for records to be written, before it and after. */
        const span: ToolSpan = { startedMs: Date.now(), endedMs: 0 };
        try {
          output = await runWithToolRun(run, () => next(input));
        } catch (thrown) {
          span.endedMs = Date.now();
          // Cut to what Temporal takes, before anything records it: the row and history then agree.
          const err = boundedFailure(thrown);
          clearTimeout(startRow);
          stopWatch();
          if (overran(deadline, Date.now(), err, ctx.cancellationSignal.reason) || (await droppedAsTimedOut(err, ctx.cancellationSignal.reason))) {
            await recordOverrun({ error: errorText(err), tool: span });
            throw err;
          }
          if (run.refused.length) {
            const denied = deniedAction({ ...base, resources: run.resources }, run.refused, errorText(err));
            const landed = await recorder.write({ actions: [denied] });
            throw failureCarrying(err, relayOf({ action: denied, landed }, spooledGaps, localId));
          }
          // Input its schema refused never reached the tool: nothing it declares was touched.
          const neverRan = err instanceof ApplicationFailure && err.type === INVALID_TOOL_INPUT && run.resources.length === (tool?.resources.length ?? 0);
          const ended = await recordAttempt(recorder, tool, neverRan ? { ...base, resources: [] } : base, input.args[0], undefined, {
            status: err instanceof CancelledFailure ? 'cancelled' : 'error',
            error: err instanceof Error ? err.message : String(err),
          });
          throw failureCarrying(err, relayOf(ended, spooledGaps, localId));
        }
        span.endedMs = Date.now();
        clearTimeout(startRow);
        stopWatch();
        if (overran(deadline, Date.now(), ctx.cancellationSignal.reason) || (await droppedAsTimedOut(ctx.cancellationSignal.reason))) {
          await recordOverrun({ tool: span });
          return wrapToolResult(output, info.attempt, dedupeResources(run.resources), tookLate(soFar(), output, localId));
        }
        // The output is serialized once: its size decides whether Temporal can take it, and its digest is recorded.
        let json: string;
        try {
          json = jsonOutputs ? canonicalJsonStrict(output ?? null, 'output') : canonicalJson(output ?? null);
          // The envelope as it will be sent, less the relay (records of ours, plain JSON), which waits for the attempt's row.
          if (!jsonOutputs) convertible(payloadConverter, wrapToolResult(output, info.attempt, dedupeResources(run.resources)));
        } catch (err) {
          // The same work gives the same output: retrying cannot help.
          const failure = ApplicationFailure.nonRetryable(
            jsonOutputs
              ? `tool ${info.activityType}: its output cannot be sent to Temporal as JSON: ${errorText(err)}`
              : `tool ${info.activityType}: its output cannot be sent to Temporal: the worker's payload converter says: ${errorText(err)}`,
            'UnsendableToolOutput',
          );
          const ended = await recordAttempt(recorder, tool, base, input.args[0], undefined, { status: 'error', error: failure.message });
          throw failureCarrying(failure, relayOf(ended, spooledGaps, localId));
        }
        const bytes = Buffer.byteLength(json);
        if (bytes > limits.errorBytes) {
          const failure = payloadTooLarge(info.activityType, bytes, limits);
          const ended = await recordAttempt(recorder, tool, base, input.args[0], undefined, { status: 'error', error: failure.message });
          throw failureCarrying(failure, relayOf(ended, spooledGaps, localId));
        }
        // On stderr like scopetrail's other warnings: Temporal's logger is often quieted to errors.
        if (bytes > limits.warnBytes) console.error(payloadWarning(info.activityType, bytes, limits));
        const ended = await recordAttempt(recorder, tool, base, input.args[0], output, { status: 'success', error: null }, fingerprinter, digestOfJson(json));
        // Its record waited past the deadline (the store unreachable and the spool full hold
        // an attempt until one takes it): Temporal has timed the attempt out, and the row says so.
        if (overran(deadline, Date.now())) {
          await recordOverrun({ tool: span });
          return wrapToolResult(output, info.attempt, dedupeResources(run.resources), tookLate(soFar(), output, localId));
        }
        return wrapToolResult(output, info.attempt, dedupeResources(run.resources), relayOf(ended, spooledGaps, localId));
      },
    };
    return { inbound };
  };
}

async function recordAttempt(
  recorder: Recorder,
  tool: RegisteredTool | undefined,
  base: Omit<ActionRecord, 'status' | 'error' | 'endedAt' | 'outputDigest'>,
  input: unknown,
  output: unknown,
  outcome: Pick<ActionRecord, 'status' | 'error'>,
  fingerprinter?: Fingerprinter,
  outputDigest?: string,
): Promise<{ action: ActionRecord; landed: Landed }> {
  const action: ActionRecord = {
    ...base,
    ...outcome,
    resources: dedupeResources(base.resources),
    outputDigest: outcome.status === 'success' ? (outputDigest ?? digest(output)) : null,
    endedAt: new Date().toISOString(),
  };
  const payloads: PayloadRecord[] = [];
  if (tool?.recordPayloads) {
    payloads.push({ namespace: action.namespace, actionId: action.actionId, side: 'input', body: input ?? null });
    if (outcome.status === 'success') {
      payloads.push({ namespace: action.namespace, actionId: action.actionId, side: 'output', body: output ?? null });
    }
  }
  const landed = await recorder.write({ actions: [action], payloads, fingerprints: outputFingerprints(fingerprinter, action, output) });
  return { action, landed };
}

/**
 * The attempt's records that went to the spool, for the workflow to write through its
 * own worker (see ToolRelay), in its result or its failure (worker/failure-relay.ts).
 * Payloads and fingerprints stay behind: no seal covers them.
 */
/** `localActivityId`: the attempt is a local activity's, under this id (as Temporal gave it). */
function relayOf(ended: { action: ActionRecord; landed: Landed }, spooledGaps: ActionRecord[] | undefined, localActivityId?: string): ToolRelay | undefined {
  const local = localActivityId !== undefined && ended.action.endedAt ? { local: { endedAt: ended.action.endedAt, activityId: localActivityId } } : undefined;
  if (ended.landed !== 'spool' && !spooledGaps) return local;
  return {
    ...(ended.landed === 'spool' ? { actions: [ended.action] } : {}),
    ...(spooledGaps ? { gaps: spooledGaps } : {}),
    ...local,
  };
}

/**
 * When the earlier attempts of a call ran, as far as this attempt knows: after the call
 * was first scheduled and before this attempt was. Both are the server's times, taken
 * only where they fall before the worker's now, so a reconstructed row sorts before the
 * attempt that followed it and never into the future.
 */
export function lostAttemptsWindow(info: { scheduledTimestampMs?: number; currentAttemptScheduledTimestampMs?: number }, nowMs: number): { startedAt: string; endedAt: string } {
  const known = (ms: number | undefined, floor: number) => (typeof ms === 'number' && Number.isFinite(ms) && ms >= floor && ms <= nowMs ? ms : undefined);
  const from = known(info.scheduledTimestampMs, 0);
  const until = known(info.currentAttemptScheduledTimestampMs, from ?? 0) ?? nowMs;
  return { startedAt: new Date(from ?? until).toISOString(), endedAt: new Date(until).toISOString() };
}

/**
 * The attempt as it ended, for the workflow to write should Temporal take the outcome after
 * all. The worker counts the deadline on its own clock and cannot see the server's answer
 * to the completion: a server whose timer fires late (a loaded one) takes an outcome the
 * worker recorded as discarded. Only the workflow learns it did, by getting the result,
 * and its record then replaces the overrun row, which reconcile holds to history. An
 * outcome the server discarded never reaches the workflow, and the overrun row stands.
 * None for an output that cannot be digested: Temporal cannot take it either.
 */
function tookLate(ended: Omit<ActionRecord, 'status' | 'error' | 'endedAt' | 'outputDigest'>, output: unknown, localActivityId?: string): ToolRelay | undefined {
  let outputDigest: string;
  try {
    outputDigest = digestOfJson(canonicalJson(output ?? null));
  } catch {
    return undefined;
  }
  const endedAt = new Date().toISOString();
  const action: ActionRecord = { ...ended, status: 'success', error: null, endedAt, outputDigest, attributes: { ...ended.attributes, finishedAfterDeadline: true } };
  return { actions: [action], ...(localActivityId !== undefined ? { local: { endedAt, activityId: localActivityId } } : {}) };
}

/** Provenance is best effort: a tool output that cannot be fingerprinted never fails the call. */
function outputFingerprints(fingerprinter: Fingerprinter | undefined, action: ActionRecord, output: unknown) {
  if (!fingerprinter || action.status !== 'success' || action.kind === 'denied') return [];
  try {
    return fingerprinter.records(
      {
        namespace: action.namespace,
        sessionId: action.sessionId,
        scopeId: action.scopeId,
        sourceId: action.actionId,
        kind: action.kind === 'llm_call' ? 'llm_output' : 'tool_output',
        agent: action.agent,
        producedAt: action.endedAt ?? action.startedAt,
        sessionStartedAt: action.sessionStartedAt,
      },
      output,
    );
  } catch (err) {
    console.error(`scopetrail: could not fingerprint the output of ${action.actionId}: ${(err as Error).message}`);
    return [];
  }
}

function deniedAction(
  base: Omit<ActionRecord, 'status' | 'error' | 'endedAt' | 'outputDigest'>,
  refused: ResourceRef[],
  message: string,
): ActionRecord {
  return {
    ...base,
    kind: 'denied',
    status: 'denied',
    resources: dedupeResources(refused),
    error: message,
    outputDigest: null,
    endedAt: new Date().toISOString(),
  };
}

/** Throws when `converter` cannot make a payload of `value`, as the SDK would when sending it. */
function convertible(converter: PayloadConverter, value: unknown): void {
  if (converter.toPayload(value) === undefined) throw new TypeError('no converter it holds takes this value');
}

/** The worker's Temporal client; none in a mock activity environment. */
function workerClient(ctx: Context): Client | undefined {
  try {
    return ctx.client;
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function dedupeResources(resources: ResourceRef[]): ResourceRef[] {
  const seen = new Map<string, ResourceRef>();
  for (const r of resources) seen.set(`${r.mode} ${r.uri}`, r);
  return [...seen.values()];
}
