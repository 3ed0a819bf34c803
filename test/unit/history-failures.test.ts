/**
 * Reconcile reads a failure's chain of messages from history the way an agent saw the
 * error: the SDK gives a TimeoutFailure no cause, so the chain ends at the timeout even
 * when history keeps the last attempt's failure under it (a worker died during the final
 * attempt). It reads what failed a run from the same chain, the way the agent bound it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, DefaultFailureConverter, RetryState, defaultPayloadConverter } from '@temporalio/common';
import { failureMessages, failureSource as fromHistory } from '../../client/history';
import { failureSource as fromError } from '../../workflows/failure-source';

const converter = undefined as never;

test('a timeout ends the chain: the last attempt failure under it is not what the agent saw', async () => {
  const failure = {
    message: 'Activity task timed out',
    activityFailureInfo: {},
    cause: {
      message: 'activity StartToClose timeout',
      timeoutFailureInfo: { timeoutType: 1 },
      cause: { message: 'translation service unavailable for "de" (quota exceeded)', applicationFailureInfo: {} },
    },
  };
  assert.deepEqual(await failureMessages(failure, converter, 'w'), ['Activity task timed out', 'activity StartToClose timeout']);
});

test('other causes are followed to the end', async () => {
  const failure = { message: 'Activity task failed', cause: { message: 'translation service unavailable', cause: { message: 'quota exceeded' } } };
  assert.deepEqual(await failureMessages(failure, converter, 'w'), ['Activity task failed', 'translation service unavailable', 'quota exceeded']);
});

// What failed a run: the agent binds it from the error it let out (workflows/failure-source.ts);
// reconcile reads it from the failure Temporal kept of that same error. Both must agree.

test('what failed a run reads the same from the error the agent let out and from the failure history kept of it', async () => {
  const failures = new DefaultFailureConverter();
  const dataConverter = { payloadConverter: defaultPayloadConverter, payloadCodecs: [] } as never;
  const child = new ChildWorkflowFailure('default', { workflowId: 's.2', runId: 'r' }, 'agent', RetryState.NON_RETRYABLE_FAILURE, new ApplicationFailure('boom'));
  const activity = new ActivityFailure('Activity task failed', 'fetch', '3', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'w', new ApplicationFailure('down'));
  const cases: Array<[string, Error, string]> = [
    ['a DelegationError names its last attempt', ApplicationFailure.create({ type: 'DelegationError', message: 'delegation failed', details: [{ agent: 'a', scopeId: 's.4', attempts: 2 }], cause: child }), 's.4'],
    ['a child failure as it is', child, 's.2'],
    ['a call, wrapped by the agent in its own error', new Error('giving up', { cause: activity }), '3'],
    ['a call, let through', activity, '3'],
    ['the agent\'s own code', new Error('planned failure'), 's'],
  ];
  for (const [what, err, want] of cases) {
    assert.equal(fromError(err, 's', undefined), want, `${what}: from the error`);
    const kept = await fromHistory(failures.errorToFailure(err, defaultPayloadConverter) as never, dataConverter, 'w');
    const read = kept === 'own' ? 's' : 'delegation' in kept ? kept.delegation : kept.activity;
    assert.equal(read, want, `${what}: from history`);
  }
  // A later run of a scope qualifies its activity ids (cim/ids.ts scopedActivityId).
  assert.equal(fromError(activity, 's', 2), 'r2.3');
  const budget = ApplicationFailure.create({ type: 'BudgetExceeded', message: 'over budget', cause: activity });
  assert.equal(await fromHistory(failures.errorToFailure(budget, defaultPayloadConverter) as never, dataConverter, 'w'), 'own', 'a budget overrun is the scope\'s own');
});
