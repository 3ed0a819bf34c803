/**
 * defineAgent checks a manifest when it is first read: a workflow reads only its own
 * agent's, the worker reads every one when it starts and refuses a bad one there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineAgent } from '../../workflows';
import { defineModelAgent } from '../../workflows/model-agent';
import { agentNameOf } from '../../workflows/agent';
import { loadManifests } from '../../worker/manifests';

const BAD_VERSION = /^defineAgent manifest: invalid field "version": /;

test('a bad manifest is refused when it is read, naming the field', () => {
  const agent = defineAgent({ name: 'lazy', version: '' }, async () => null);
  assert.equal(agent.name, 'lazy');
  // Delegating or handing off to it needs its name only, not its checked manifest.
  assert.equal(agentNameOf(agent), 'lazy');
  assert.throws(() => agent.manifest, (err: unknown) => err instanceof TypeError && BAD_VERSION.test(err.message));
});

test('a good manifest is checked once and read with its defaults', () => {
  const agent = defineAgent({ name: 'once', version: '2.0.0', tools: ['echo'] }, async () => null);
  const manifest = agent.manifest;
  assert.deepEqual(manifest, { name: 'once', version: '2.0.0', tools: ['echo'], subAgents: [] });
  assert.equal(agent.manifest, manifest);
});

test('the worker refuses an agents module with a bad manifest when it starts', () => {
  assert.throws(
    () => loadManifests(require.resolve('../fixtures/bad-manifest-agents')),
    (err: unknown) => err instanceof TypeError && BAD_VERSION.test(err.message),
  );
});

test('a model agent with a bad spec is refused when its manifest is read, naming the field', () => {
  const agent = defineModelAgent({ name: 'talker', version: '1.0.0', instructions: '' });
  assert.equal(agentNameOf(agent), 'talker');
  assert.throws(() => agent.manifest, (err: unknown) => err instanceof TypeError && /^defineModelAgent: invalid field "instructions": /.test(err.message));
  const good = defineModelAgent({ name: 'talker2', version: '1.0.0', instructions: 'answer', tools: ['echo'] });
  assert.deepEqual(good.manifest.tools, ['echo', 'llm.generate']);
});

test('an agent defined without its code is refused when its manifest is read, naming the field', () => {
  const agent = defineAgent({ name: 'hollow', version: '1.0.0' }, undefined as never);
  assert.throws(() => agent.manifest, (err: unknown) => err instanceof TypeError && /^defineAgent "hollow": invalid field "fn": give the agent's code/.test(err.message));
});
