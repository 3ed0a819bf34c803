/** Activity options with a key Temporal's option types lack are refused, not ignored. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useLocalTools, useTools } from '../../workflows/tools';

const refused = (field: string, message: RegExp) => (err: unknown) =>
  err instanceof TypeError && (err as { field?: string }).field === field && message.test((err as Error).message);

test('useTools and useLocalTools refuse a mistyped option, naming it and the one likely meant', () => {
  // Ignored, `maximumAttempt` would leave Temporal's default: retry for ever.
  assert.throws(() => useTools({ retry: { maximumAttempt: 1 } } as never), refused('retry.maximumAttempt', /^useTools: invalid field "retry\.maximumAttempt": not an option Temporal takes \(did you mean "maximumAttempts"\?\)$/));
  assert.throws(() => useTools({ startToCloseTimout: '5s' } as never), refused('startToCloseTimout', /did you mean "startToCloseTimeout"\?/));
  assert.throws(() => useTools({ perTool: { search: { heartbeatTimout: '5s' } } } as never), refused('perTool.search.heartbeatTimout', /did you mean "heartbeatTimeout"\?/));
  // A local activity has no heartbeat timeout or task queue of its own.
  assert.throws(() => useLocalTools({ taskQueue: 'other' } as never), refused('taskQueue', /^useLocalTools: invalid field "taskQueue": not an option Temporal takes$/));
  assert.doesNotThrow(() => useTools({ startToCloseTimeout: '5s', heartbeatTimeout: '1s', retry: { maximumAttempts: 2, initialInterval: '1s' }, perTool: { search: { taskQueue: 'q' } } }));
  assert.doesNotThrow(() => useLocalTools({ localRetryThreshold: '1s', retry: { nonRetryableErrorTypes: ['X'] } }));
});

test('delegate refuses a mistyped option before anything starts, naming it and the one likely meant', async () => {
  const { delegate } = await import('../../workflows/delegate');
  // Ignored, `atempts` would run the delegation once.
  await assert.rejects(
    delegate('helper', { objective: 'help', input: {}, atempts: 2 } as never),
    refused('atempts', /^delegate to helper: invalid field "atempts": not a field it takes \(did you mean "attempts"\?\)/),
  );
  await assert.rejects(delegate('helper', { objective: 'help', input: {}, budget: { token: 5 } } as never), (err: unknown) => err instanceof TypeError && /^delegate to helper: invalid field "budget\.token": not a field it takes$/.test((err as Error).message));
});
