/**
 * Reconcile reads a failure's chain of messages from history the way an agent saw the
 * error: the SDK gives a TimeoutFailure no cause, so the chain ends at the timeout even
 * when history keeps the last attempt's failure under it (a worker died during the final
 * attempt).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureMessages } from '../../client/history';

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
