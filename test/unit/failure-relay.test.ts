/**
 * A failed attempt's spooled records travel in its failure (worker/failure-relay.ts) and
 * are taken off before user code sees it (workflows/failure-relay.ts): what Temporal
 * records and what the workflow catches must otherwise be the failure the tool threw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, CancelledFailure, DefaultFailureConverter, RetryState, defaultPayloadConverter } from '@temporalio/common';
import { failureCarrying } from '../../worker/failure-relay';
import { takeFailureRelay } from '../../workflows/failure-relay';
import { isRelayDetail, relayDetail, type ToolRelay } from '../../cim/envelope';
import type { ScopeState } from '../../workflows/scope-state';
import { action } from './fixtures';

const ended = action('s/a3#1', 's', { status: 'error', error: 'halts', activityId: '3' });
const relay: ToolRelay = { actions: [ended] };
const converter = new DefaultFailureConverter();

/** What the workflow catches: the attempt's failure as Temporal recorded it, under the call's ActivityFailure. */
function asCaught(thrown: unknown, activityId = '3'): ActivityFailure {
  const cause = converter.failureToError(converter.errorToFailure(thrown, defaultPayloadConverter), defaultPayloadConverter);
  return new ActivityFailure('Activity task failed', 'halt', activityId, RetryState.NON_RETRYABLE_FAILURE, 'worker', cause);
}

const state = (scopeId = 's', run?: number) => ({ ctx: { scopeId, continuation: run ? { run } : undefined } }) as unknown as ScopeState;

test('a failure without a relay is thrown as the tool threw it', () => {
  const plain = new TypeError('bad input');
  assert.equal(failureCarrying(plain, undefined), plain);
  const app = ApplicationFailure.nonRetryable('halts', 'Halted', { note: 'n' });
  assert.equal(failureCarrying(app, undefined), app);
  const cancelled = new CancelledFailure('cancelled');
  assert.equal(failureCarrying(cancelled, relay), cancelled, 'a cancelled attempt carries nothing');
});

test('a plain error carrying a relay keeps what retry policies and people read', () => {
  const thrown = new TypeError('bad input', { cause: new Error('root') });
  const carried = failureCarrying(thrown, relay) as ApplicationFailure;
  assert.ok(carried instanceof ApplicationFailure);
  assert.equal(carried.message, 'bad input');
  assert.equal(carried.type, 'TypeError', 'the type nonRetryableErrorTypes matches');
  assert.equal(carried.nonRetryable, false);
  assert.equal(carried.stack, thrown.stack);
  assert.equal(carried.cause?.message, 'root');
  assert.deepEqual(carried.details, [relayDetail(relay)]);
});

test('an ApplicationFailure carrying a relay keeps its type, retry flag, delay and details', () => {
  const thrown = ApplicationFailure.create({ message: 'halts', type: 'Halted', nonRetryable: true, details: [{ note: 'n' }, 7], nextRetryDelay: '3s' });
  const carried = failureCarrying(thrown, relay) as ApplicationFailure;
  assert.equal(carried.type, 'Halted');
  assert.equal(carried.nonRetryable, true);
  assert.equal(carried.nextRetryDelay, '3s');
  assert.deepEqual(carried.details, [{ note: 'n' }, 7, relayDetail(relay)]);
});

test('a relay the tool put in its own failure is removed', () => {
  const forged = relayDetail({ actions: [{ ...ended, status: 'success', error: null }] });
  const thrown = ApplicationFailure.nonRetryable('halts', 'Halted', { note: 'n' }, forged);
  const alone = failureCarrying(thrown, undefined) as ApplicationFailure;
  assert.deepEqual(alone.details, [{ note: 'n' }]);
  const withOurs = failureCarrying(thrown, relay) as ApplicationFailure;
  assert.deepEqual(withOurs.details, [{ note: 'n' }, relayDetail(relay)]);
});

test('the workflow takes the relay off the failure it catches, and user code sees the tool\'s details', () => {
  const caught = asCaught(failureCarrying(ApplicationFailure.nonRetryable('halts', 'Halted', { note: 'n' }), relay));
  assert.ok((caught.cause as ApplicationFailure).details?.some(isRelayDetail), 'Temporal recorded the relay');
  const taken = takeFailureRelay(state(), caught);
  assert.deepEqual(taken, { actions: [ended], gaps: [] });
  assert.deepEqual((caught.cause as ApplicationFailure).details, [{ note: 'n' }]);
  assert.equal((caught.cause as ApplicationFailure).type, 'Halted');
  assert.equal(takeFailureRelay(state(), caught), undefined, 'taken once');
});

test('only the failed call\'s own attempt rows are taken', () => {
  const other = action('s/a9#1', 's', { status: 'error', activityId: '9' });
  const elsewhere = action('t/a3#1', 't', { status: 'error', activityId: '3' });
  const caught = asCaught(failureCarrying(new Error('halts'), { actions: [ended, other, elsewhere], gaps: [other] }));
  assert.deepEqual(takeFailureRelay(state(), caught), { actions: [ended], gaps: [] });
  // In a later run of a continued scope, activity ids are qualified by the run.
  const continued = action('s/ar2.3#1', 's', { status: 'error', activityId: 'r2.3' });
  const later = asCaught(failureCarrying(new Error('halts'), { actions: [ended, continued] }));
  assert.deepEqual(takeFailureRelay(state('s', 2), later)?.actions?.map((a) => a.actionId), [continued.actionId]);
});

test('failures that are not a call\'s carry nothing to take', () => {
  assert.equal(takeFailureRelay(state(), new Error('plain')), undefined);
  assert.equal(takeFailureRelay(state(), asCaught(ApplicationFailure.nonRetryable('halts', 'Halted', { note: 'n' }))), undefined);
});

test('a local call\'s failure reaches the workflow as the tool\'s own: its relay is taken when the caller says it is local', () => {
  const local = action('s/a4#2', 's', { status: 'error', activityId: '4', name: 'lookup' });
  const otherTool = action('s/a5#1', 's', { status: 'error', activityId: '5', name: 'notify' });
  const thrown = () => converter.failureToError(converter.errorToFailure(failureCarrying(ApplicationFailure.nonRetryable('halts', 'Halted', { note: 'n' }), { actions: [local, otherTool], local: { endedAt: local.endedAt!, activityId: '4' } }), defaultPayloadConverter), defaultPayloadConverter) as ApplicationFailure;
  const notSaid = thrown();
  assert.equal(takeFailureRelay(state(), notSaid), undefined, 'an ApplicationFailure is not taken for a call\'s unless the caller is a local tool');
  const caught = thrown();
  assert.deepEqual(takeFailureRelay(state(), caught, 'lookup'), { actions: [local], gaps: [], local: { endedAt: local.endedAt, activityId: '4' } });
  assert.deepEqual(caught.details, [{ note: 'n' }], 'user code sees the tool\'s details');
});
