/**
 * An error's message with its causes', as scope and action rows and a DelegationError say it:
 * each cause's text once, even where a message already quotes its cause's own message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { causeMessages, joinCauses } from '../../cim/cause-chain';
import { DelegationError } from '../../workflows/delegate';

/** What an MCP call to a server that is down leaves in Temporal: each cause a failure of its own. */
const refused = () =>
  ApplicationFailure.create({
    message: 'MCP server slow (http://127.0.0.1:7412/mcp) gave no answer to slow: fetch failed',
    cause: ApplicationFailure.create({
      message: 'fetch failed',
      type: 'TypeError',
      cause: ApplicationFailure.create({ message: 'connect ECONNREFUSED 127.0.0.1:7412' }),
    }),
  });

test('a DelegationError says its cause chain once, where a message already ends with its cause\'s own message', () => {
  const child = new Error('Child Workflow execution failed', { cause: new Error('Activity task failed', { cause: refused() }) });
  assert.equal(
    new DelegationError('worker', 'ses-1.1', 1, child).message,
    'delegation to worker (scope ses-1.1) failed after 1 attempt(s): Child Workflow execution failed: Activity task failed: ' +
      'MCP server slow (http://127.0.0.1:7412/mcp) gave no answer to slow: fetch failed: connect ECONNREFUSED 127.0.0.1:7412',
  );
});

test('a message holding its causes\' text, at its end or followed by more, is not followed by it again', () => {
  assert.equal(joinCauses(['leaf refused: no', 'no']), 'leaf refused: no');
  assert.equal(joinCauses(['a: b: c', 'b', 'c']), 'a: b: c');
  // Written where the chain was longer than the one Temporal kept (an AggregateError's addresses).
  assert.equal(joinCauses(['no answer: fetch failed: connect A; connect B', 'fetch failed']), 'no answer: fetch failed: connect A; connect B');
  assert.equal(joinCauses(['a', 'b', 'c']), 'a: b: c');
  assert.equal(joinCauses(['lookup failed: b', 'b', 'c']), 'lookup failed: b: c');
});

test('the chain ends at a cause without a message, or one repeating the message before it', () => {
  assert.deepEqual(causeMessages(new Error('a', { cause: new Error('b', { cause: new Error('', { cause: new Error('d') }) }) })), ['a', 'b']);
  assert.deepEqual(causeMessages(new Error('a', { cause: new Error('a', { cause: new Error('c') }) })), ['a']);
  assert.deepEqual(causeMessages('plain'), ['plain']);
  const loop = new Error('a');
  (loop as { cause?: unknown }).cause = new Error('b', { cause: loop });
  assert.ok(causeMessages(loop).length <= 22);
});

test('a connection refused on every address of a name says what each refused', () => {
  const every = new AggregateError([new Error('connect ECONNREFUSED ::1:7412'), new Error('connect ECONNREFUSED 127.0.0.1:7412')]);
  assert.deepEqual(causeMessages(new TypeError('fetch failed', { cause: every })), ['fetch failed', 'connect ECONNREFUSED ::1:7412; connect ECONNREFUSED 127.0.0.1:7412']);
});
