/**
 * useTools(): the workflow-side handle on tools. Each tool is an activity; this
 * proxy schedules it (the outbound interceptor adds the scope header), unwraps the
 * attempt envelope the activity interceptor adds, and remembers the outcome for the
 * scope's status roll-up.
 */
import { proxyActivities, isCancellation, type ActivityOptions } from '@temporalio/workflow';
import { unwrapToolResult } from '../cim/envelope';
import { emitRelay, requireState } from './scope-state';
import { recordLostFinalAttempt } from './lost-attempt';
import { takeFailureRelay } from './failure-relay';

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
  const { perTool = {}, ...common } = options;
  return new Proxy({} as ToolCallers<T>, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined;
      const options = { ...DEFAULTS, ...common, ...perTool[name] };
      const activity = proxyActivities<Record<string, (input: unknown) => Promise<unknown>>>(options)[name]!;
      // Not `async`: each promise made in the sandbox costs a captured, source-mapped stack
      // trace (see ScopeOutbound in interceptors.ts), and this runs once per tool call.
      return (input: unknown): Promise<unknown> => {
        let st: ReturnType<typeof requireState>;
        try {
          st = requireState(`tool ${name}`);
        } catch (err) {
          return Promise.reject(err);
        }
        const failed = (err: unknown): never => {
          // Before the gap fills, which never overwrite an attempt's own end.
          emitRelay(takeFailureRelay(st, err));
          st.calls.push({ attempt: 1, status: isCancellation(err) ? 'cancelled' : 'error' });
          recordLostFinalAttempt(st, err, 'tool_call', input, options.retry?.maximumAttempts);
          throw err;
        };
        let scheduled: Promise<unknown>;
        try {
          scheduled = activity(input);
        } catch (err) {
          return Promise.reject(err).catch(failed);
        }
        return scheduled.then((result) => {
          let unwrapped: ReturnType<typeof unwrapToolResult>;
          try {
            unwrapped = unwrapToolResult(result);
          } catch (err) {
            return failed(err);
          }
          st.calls.push({ attempt: unwrapped.attempt, status: 'success' });
          emitRelay(unwrapped.relay);
          return unwrapped.value;
        }, failed);
      };
    },
  });
}
