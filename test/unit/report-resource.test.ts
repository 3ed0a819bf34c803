/** reportResource (activities/tool.ts): a resource that is not one fails the attempt for good, naming the field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_RESOURCE_REPORT, reportResource } from '../../activities/tool';
import { runWithToolRun, type ToolRun } from '../../activities/tool-context';
import type { ScopeContext } from '../../cim/schemas';

const scope = { scopeId: 's', sessionId: 's', agent: 'a', allowance: null } as unknown as ScopeContext;
const run = (): ToolRun => ({ scope, attempt: 1, resources: [], attributes: {}, refused: [] });

test('a resource that is not one is a non-retryable failure naming the field; a good one is added to the attempt', async () => {
  const attempt = run();
  await runWithToolRun(attempt, async () => {
    assert.throws(
      () => reportResource({ uri: '', mode: 'read' }),
      (err: unknown) =>
        err instanceof ApplicationFailure && err.nonRetryable === true && err.type === INVALID_RESOURCE_REPORT && /^reportResource: invalid field "uri"/.test(err.message),
    );
    assert.throws(() => reportResource({ uri: 'db:x', mode: 'erase' } as never), (err: unknown) => err instanceof ApplicationFailure && /invalid field "mode"/.test(err.message));
    reportResource({ uri: 'db:orders', mode: 'read' });
  });
  assert.deepEqual(attempt.resources, [{ uri: 'db:orders', mode: 'read' }]);
  assert.throws(() => reportResource({ uri: 'db:x', mode: 'read' }), /can only be called while a tool runs/);
});
