/**
 * A delegation's Temporal options checked before anything is recorded of it: the SDK reads
 * their durations only while it builds the start command, and a bad one (`'abc'`) failed
 * the start after the delegation's row was written, leaving a row no history explains.
 */
import { msOptionalToNumber } from '@temporalio/common/lib/time';
import type { ChildWorkflowOptions } from '@temporalio/workflow';
import { InvalidOptionError } from '../cim/invalid-field';

const DURATIONS = ['workflowExecutionTimeout', 'workflowRunTimeout', 'workflowTaskTimeout'] as const;
const RETRY_DURATIONS = ['initialInterval', 'maximumInterval'] as const;

/**
 * The first duration among `options` that does not read, refused as an InvalidOptionError
 * naming it (`workflowOptions.retry.initialInterval`); undefined when all do.
 * `context` says what was asked: `delegate to researcher`.
 */
export function invalidChildDuration(context: string, options: Partial<ChildWorkflowOptions>): InvalidOptionError | undefined {
  const check = (field: string, value: unknown): InvalidOptionError | undefined => {
    if (value === undefined || value === null) return undefined;
    try {
      msOptionalToNumber(value as never);
      return undefined;
    } catch (err) {
      const path = `workflowOptions.${field}`;
      return new InvalidOptionError(`${context}: invalid field "${path}": ${err instanceof Error ? err.message : String(err)}`, path);
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
