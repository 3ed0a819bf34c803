/** verify's hold of recorded call payloads: each body against the digest its sealed action row holds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { payloadProblems } from '../../client/verify';
import { digest } from '../../store/digest';
import { action } from './fixtures';

const input = { query: 'quarterly figures' };
const output = { rows: [1, 2, 3], note: 'ok' };
const call = action('s/a1#1', 's', { name: 'lookup', inputDigest: digest(input), outputDigest: digest(output) });

test('bodies as recorded hold; a body rewritten in the store is named, with the side and the call', () => {
  assert.deepEqual(payloadProblems([{ actionId: call.actionId, side: 'input', body: input }, { actionId: call.actionId, side: 'output', body: output }], [call]), []);
  const [p, ...rest] = payloadProblems([{ actionId: call.actionId, side: 'output', body: { rows: [9], note: 'fabricated' } }], [call]);
  assert.equal(rest.length, 0);
  assert.equal(p?.problem, 'payload_changed');
  assert.match(p!.detail, /the recorded output of s\/a1#1 \(lookup\) is not what the call returned/);
  // Key order is not a change: digests are of canonical JSON.
  assert.deepEqual(payloadProblems([{ actionId: call.actionId, side: 'output', body: { note: 'ok', rows: [1, 2, 3] } }], [call]), []);
});

test('a body the store had to clean, a call without a digest, or a row of no known call is not held', () => {
  assert.deepEqual(payloadProblems([{ actionId: call.actionId, side: 'output', body: { note: 'a\ufffdb' } }], [call]), []);
  assert.deepEqual(payloadProblems([{ actionId: call.actionId, side: 'output', body: 1 }], [{ ...call, outputDigest: null }]), []);
  assert.deepEqual(payloadProblems([{ actionId: 'other/a1#1', side: 'output', body: 1 }], [call]), []);
});
