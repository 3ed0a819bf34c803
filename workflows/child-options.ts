/**
 * A delegation's Temporal options checked before anything is recorded of it: the SDK reads
 * their durations only while it builds the start command, and a bad one (`'abc'`) failed
 * the start after the delegation's row was written, leaving a row no history explains.
 */
import { msOptionalToNumber } from '@temporalio/common/lib/time';
import type { ChildWorkflowOptions } from '@temporalio/workflow';

const DURATIONS = ['workflowExecutionTimeout', 'workflowRunTimeout', 'workflowTaskTimeout'] as const;
const RETRY_DURATIONS = ['initialInterval', 'maximumInterval'] as const;

/** The first duration among `options` that does not read, as `workflowOptions.<field>: <why>`; undefined when all do. */
export function invalidChildDuration(options: Partial<ChildWorkflowOptions>): string | undefined {
  const check = (field: string, value: unknown): string | undefined => {
    if (value === undefined || value === null) return undefined;
    try {
      msOptionalToNumber(value as never);
      return undefined;
    } catch (err) {
      return `workflowOptions.${field}: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
  for (const field of DURATIONS) {
    const bad = check(field, options[field]);
    if (bad) return bad;
  }
  for (const field of RETRY_DURATIONS) {
    const bad = check(`retry.${field}`, options.retry?.[field]);
    if (bad) return bad;
  }
  return undefined;
}
