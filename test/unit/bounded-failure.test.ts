import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MAX_FAILURE_MESSAGE_CHARS, boundedFailure } from '../../cim/bounded-failure';

const MAX = MAX_FAILURE_MESSAGE_CHARS;

test('a failure within the bound is passed on as it is, whatever it is', () => {
  const small = new Error('no route to host');
  assert.equal(boundedFailure(small), small);
  const cancelled = new CancelledFailure('x'.repeat(MAX + 10));
  assert.equal(boundedFailure(cancelled), cancelled);
  assert.equal(boundedFailure('a string'), 'a string');
});

test('a long message is cut, saying how much, with its type, retry flag, details and stack frames kept', () => {
  const long = ApplicationFailure.create({ message: 'y'.repeat(MAX + 500), type: 'UpstreamRefused', nonRetryable: true, details: ['d'] });
  const bounded = boundedFailure(long) as ApplicationFailure;
  assert.ok(bounded instanceof ApplicationFailure);
  assert.equal(bounded.message, `${'y'.repeat(MAX)}… [500 more characters cut: a failure message is kept to ${MAX} characters, so that Temporal can take it]`);
  assert.deepEqual([bounded.type, bounded.nonRetryable, bounded.details], ['UpstreamRefused', true, ['d']]);
  assert.ok(bounded.stack!.startsWith(`ApplicationFailure: ${'y'.repeat(10)}`));
  assert.ok(bounded.stack!.length < MAX + 2_000, 'the stack no longer repeats the whole message');
  assert.match(bounded.stack!, /\n {4}at /);
  // A plain Error becomes the failure the SDK would make of it: its class as the type, retryable.
  const plain = boundedFailure(new TypeError('z'.repeat(MAX * 2))) as ApplicationFailure;
  assert.deepEqual([plain.type, plain.nonRetryable], ['TypeError', false]);
});

test('the cut never splits a surrogate pair, and a long cause is cut too', () => {
  const emoji = '\u{1F600}';
  const message = `${'a'.repeat(MAX - 1)}${emoji}${'b'.repeat(10)}`;
  const bounded = boundedFailure(new Error(message)) as Error;
  assert.ok(bounded.message.startsWith(`${'a'.repeat(MAX - 1)}… [12 more characters cut`), bounded.message.slice(MAX - 5, MAX + 20));
  const withCause = new Error('the call failed', { cause: new Error('c'.repeat(MAX + 1)) });
  const outer = boundedFailure(withCause) as ApplicationFailure;
  assert.equal(outer.message, 'the call failed');
  assert.ok((outer.cause as Error).message.length < MAX + 200);
});
