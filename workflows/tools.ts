/**
 * useTools(): the workflow-side handle on tools. Each tool is an activity (a local one
 * with useLocalTools()); this proxy schedules it (the outbound interceptor adds the scope
 * header), unwraps the attempt envelope the activity interceptor adds, and remembers the
 * outcome for the scope's status roll-up.
 */
import { ActivityFailure, ApplicationFailure, TemporalFailure, proxyActivities, proxyLocalActivities, isCancellation, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import { unwrapToolResult } from '../cim/envelope';
import { emitRelay, noteLocalEnd, requireState } from './scope-state';
import { recordLostFinalAttempt } from './lost-attempt';
import { takeFailureRelay } from './failure-relay';
import type { CallSettled } from './open-calls';
import { checkActivityOptions } from './activity-option-keys';
import { UNSENDABLE_TOOL_INPUT, unsendableInput } from './sendable-result';

/** The shape defineTool() gives a tool; only its types cross into the sandbox. */
export interface ToolTypes<I, O> {
  readonly __toolTypes?: { input: I; output: O };
}

export type ToolCallers<T> = {
  [K in keyof T]: T[K] extends ToolTypes<infer I, infer O> ? (input: I) => Promise<O> : never;
};

export interface UseToolsOptions extends Partial<ActivityOptions> {
  /** Per-tool overrides, e.g. a tighter timeout or retry policy for one tool. */
  perTool?: Record<string, Partial<ActivityOptions>>;
}

const DEFAULTS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '200ms', backoffCoefficient: 2 },
};

export function useTools<T>(options: UseToolsOptions = {}): ToolCallers<T> {
  checkActivityOptions('useTools', options, { perTool: true });
  const { perTool = {}, ...common } = options;
  return toolCallers<T>((name) => {
    const options = { ...DEFAULTS, ...common, ...perTool[name] };
    return { call: proxyActivities<AnyTools>(options)[name]!, maximumAttempts: options.retry?.maximumAttempts, local: false };
  });
}

export interface UseLocalToolsOptions extends Partial<LocalActivityOptions> {
  /** Per-tool overrides. */
  perTool?: Record<string, Partial<LocalActivityOptions>>;
}

/**
 * Tools called as local activities: run by the worker that runs the agent's workflow
 * task, without a round trip through the server for each call; for short tools. Each
 * attempt is recorded like any tool call, and reconcile reads them from history's
 * local activity markers (cim/local-activities.ts).
 */
export function useLocalTools<T>(options: UseLocalToolsOptions = {}): ToolCallers<T> {
  checkActivityOptions('useLocalTools', options, { local: true, perTool: true });
  const { perTool = {}, ...common } = options;
  return toolCallers<T>((name) => {
    const options = { ...DEFAULTS, ...common, ...perTool[name] };
    // No fill of lost attempts: a retry after a timer runs under a new activity id, so
    // the attempt count in the failure does not number this id's attempts; and a local
    // activity's worker is the workflow task's, whose loss reruns the call from attempt 1.
    return { call: proxyLocalActivities<AnyTools>(options)[name]!, maximumAttempts: undefined, local: true };
  });
}

type AnyTools = Record<string, (input: unknown) => Promise<unknown>>;

interface Scheduled {
  call: (input: unknown) => Promise<unknown>;
  /** The retry policy's limit, for filling in lost attempts; undefined: none are filled. */
  maximumAttempts: number | undefined;
  local: boolean;
}

function toolCallers<T>(schedule: (name: string) => Scheduled): ToolCallers<T> {
  return new Proxy({} as ToolCallers<T>, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined;
      const { call, maximumAttempts, local } = schedule(name);
      // Not `async`: each promise made in the sandbox costs a captured, source-mapped stack
      // trace (see ScopeOutbound in interceptors.ts), and this runs once per tool call.
      return (input: unknown): Promise<unknown> => {
        let st: ReturnType<typeof requireState>;
        try {
          st = requireState(`tool ${name}`);
        } catch (err) {
          return Promise.reject(err);
        }
        const failed = (caught: unknown): never => {
          // The call is no longer in flight (open-calls.ts); told again after a success that fails to unwrap, which changes nothing.
          settled?.({ error: caught });
          const unsent = unsentInput(caught, name, input);
          // Never scheduled, so no call of the scope's: history has none to agree with.
          if (unsent) throw unsent;
          // Before the gap fills, which never overwrite an attempt's own end.
          const relay = takeFailureRelay(st, caught, local ? name : undefined);
          noteLocalEnd(st, relay?.local?.endedAt);
          const err = asCallFailure(caught, name, relay?.local?.activityId);
          emitRelay(relay);
          st.calls.push({ attempt: 1, status: isCancellation(err) ? 'cancelled' : 'error' });
          recordLostFinalAttempt(st, err, 'tool_call', input, maximumAttempts, calledAtMs);
          throw err;
        };
        const calledAtMs = Date.now();
        let scheduled: Promise<unknown>;
        // The interceptor that follows the call hands its end over, rather than chain a promise of its own (open-calls.ts).
        st.callerFollows = 'asked';
        let settled: CallSettled | undefined;
        try {
          scheduled = call(input);
        } catch (err) {
          return Promise.reject(err).catch(failed);
        } finally {
          // Widened again: the call in between may have replaced 'asked'.
          const handed = st.callerFollows as 'asked' | CallSettled | undefined;
          settled = typeof handed === 'function' ? handed : undefined;
          st.callerFollows = undefined;
        }
        return scheduled.then((result) => {
          settled?.();
          let unwrapped: ReturnType<typeof unwrapToolResult>;
          try {
            unwrapped = unwrapToolResult(result);
          } catch (err) {
            return failed(err);
          }
          st.calls.push({ attempt: unwrapped.attempt, status: 'success' });
          noteLocalEnd(st, unwrapped.relay?.local?.endedAt);
          emitRelay(unwrapped.relay);
          return unwrapped.value;
        }, failed);
      };
    },
  });
}

/**
 * The SDK converts a call's input as it schedules it, and a value its converter cannot send
 * (a BigInt, a cycle under the default one) rejects the call before any command is made,
 * with the converter's own words. Told as the call's refusal, naming the value's path; only
 * then is the input walked, so a call that goes through pays nothing.
 */
function unsentInput(caught: unknown, tool: string, input: unknown): ApplicationFailure | undefined {
  // A call that was scheduled fails with Temporal's own failures (an ActivityFailure, a cancellation).
  if (caught instanceof TemporalFailure) return undefined;
  return unsendableInput(`tool ${tool}`, input, UNSENDABLE_TOOL_INPUT);
}

/**
 * A local call's failure as a call's failure: Temporal hands the tool's own failure to
 * the workflow, where an activity's comes wrapped in an ActivityFailure naming the call.
 * Wrapped the same way, agent code handles both alike, and a scope the failure ends is
 * bound to the call (failure-source.ts), in the workflow and in its history alike.
 */
function asCallFailure(err: unknown, activityType: string, localActivityId: string | undefined): unknown {
  if (localActivityId === undefined || !(err instanceof ApplicationFailure)) return err;
  return new ActivityFailure('Local activity task failed', activityType, localActivityId, RetryState.RETRY_STATE_UNSPECIFIED, undefined, err);
}
