/**
 * Values nested far deeper than any record: Temporal carries them, and so must the runtime.
 * An agent's result 2 000 levels deep once left its workflow task timing out for ever (the
 * copy of the value for fingerprinting, on its way to the worker's thread).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { deepEcho } from '../fixtures/deep-tools';
import { digest } from '../../store/digest';
let rt: TestRuntime;

before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/deep-agents'), tools: [deepEcho] });
});
after(async () => rt?.stop());

/** How many `{ d: … }` levels a value has, counted without recursion. */
function depthOf(value: unknown): number {
  let depth = 0;
  for (let v = value as { d?: unknown }; v && typeof v === 'object' && 'd' in v; v = v.d as { d?: unknown }) depth += 1;
  return depth;
}

/** `leaf` under `depth` levels of `{ d: … }`, as the fixture agents build it. */
function nested(depth: number, leaf: Record<string, unknown>): Record<string, unknown> {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { d: v };
  return v;
}

test('an agent returns a value 2 000 levels deep: the session ends, and reconciles and verifies', { timeout: 60_000 }, async () => {
  const s = await rt.client.startSession('deepReturner', { input: { depth: 2_000 } });
  assert.equal(depthOf(await s.result()), 2_000);
  await rt.worker.recorder.sealer.drain();
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  assert.deepEqual((await rt.client.verify(s.sessionId)).problems, []);
});

test('a delegation whose input is 2 000 levels deep: the delegate gets it, and the session reconciles and verifies', { timeout: 60_000 }, async () => {
  const s = await rt.client.startSession('deepDelegator', { input: { depth: 2_000 } });
  assert.equal(depthOf(await s.result()), 2_000);
  await rt.worker.recorder.sealer.drain();
  const delegation = (await rt.client.actionsOfSession(s.sessionId)).find((a) => a.kind === 'delegate');
  const handed = nested(2_000, { leaf: 'handed down' });
  assert.equal(delegation?.status, 'success');
  assert.equal(delegation?.inputDigest, digest(handed), 'the delegation keeps the digest of what it handed down past its end');
  assert.deepEqual((await rt.client.reconcile(s.sessionId)).differences, []);
  assert.deepEqual((await rt.client.verify(s.sessionId)).problems, []);
});
