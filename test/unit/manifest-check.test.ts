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
import { MANIFEST_KEYS, manifestSchema } from '../../cim/manifest';

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

test('a misspelled manifest field is refused, naming it and the field it most likely meant, not dropped', () => {
  // Dropped, `resource` would leave the agent unrestricted and `subagents` would declare none.
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ resource: ['api:x'] }, 'resource', /invalid field "resource": not a field it takes \(did you mean "resources"\?\)/],
    [{ subagents: ['good'] }, 'subagents', /invalid field "subagents": not a field it takes \(did you mean "subAgents"\?\)/],
    [{ allowance: ['x'] }, 'allowance', /invalid field "allowance": not a field it takes; it takes name, version, /],
  ];
  for (const [extra, field, message] of cases) {
    const agent = defineAgent({ name: 'typo', version: '1.0.0', ...extra } as never, async () => null);
    assert.throws(() => agent.manifest, (err: unknown) => {
      assert.ok(err instanceof TypeError);
      assert.equal((err as { field?: string }).field, field);
      assert.match((err as Error).message, /^defineAgent manifest: /);
      assert.match((err as Error).message, message);
      return true;
    });
  }
  const model = defineModelAgent({ name: 'typo2', version: '1.0.0', instructions: 'answer', tool: ['echo'] } as never);
  assert.throws(() => model.manifest, (err: unknown) => (err as { field?: string }).field === 'tool' && /^defineModelAgent: invalid field "tool": not a field it takes \(did you mean "tools"\?\)/.test((err as Error).message));
});

test('a bad manifest field is an InvalidOptionError naming its path', () => {
  const agent = defineAgent({ name: 'paths', version: '1.0.0', tools: ['ok', ''] }, async () => null);
  assert.throws(() => agent.manifest, (err: unknown) => (err as Error).name === 'InvalidOptionError' && (err as { field?: string }).field === 'tools.1');
});

test('MANIFEST_KEYS are the manifest schema\'s fields', () => {
  assert.deepEqual([...MANIFEST_KEYS].sort(), Object.keys(manifestSchema().shape).sort());
});

test('an agents path that does not exist is named in one line, without Node\'s require stack', () => {
  assert.throws(
    () => loadManifests('/no/such/agents.js'),
    (err: unknown) => (err as Error).name === 'ScopetrailConfigError' && (err as { field?: string }).field === 'agents' &&
      (err as Error).message === "agents module /no/such/agents.js not found: give the path of the module that exports your agents (require.resolve('./agents'))",
  );
});

test('a version a sub-agent reference could never pin, or a tool name no tool can have, is refused naming the field', () => {
  for (const version of ['not a version!', '1.0@beta', ' 1.0', 'x'.repeat(51)]) {
    const agent = defineAgent({ name: 'pinned', version }, async () => null);
    assert.throws(() => agent.manifest, (err: unknown) => err instanceof TypeError && BAD_VERSION.test(err.message), version);
  }
  for (const tool of ['web search', '', '9lives', 'a\nb']) {
    const agent = defineAgent({ name: 'tooled', version: '1.0.0', tools: [tool] }, async () => null);
    assert.throws(() => agent.manifest, (err: unknown) => err instanceof TypeError && /^defineAgent manifest: invalid field "tools\.0": /.test(err.message), JSON.stringify(tool));
  }
  const agent = defineAgent({ name: 'fine', version: '2.0.0-rc.1+build.5', tools: ['github/search-issues', 'db.read', 'mcp:fs'] }, async () => null);
  assert.equal(agent.manifest.version, '2.0.0-rc.1+build.5');
});

test('a mistyped budget or activity option is refused, naming it, rather than running without it', () => {
  const field = (err: unknown) => (err as { field?: string }).field;
  // `token` for `tokens` would have left the agent with no token budget at all.
  const budget = defineAgent({ name: 'budgeted', version: '1.0.0', budget: { token: 5 } as never }, async () => null);
  assert.throws(() => budget.manifest, (err: unknown) => field(err) === 'budget.token' && /^defineAgent manifest: invalid field "budget\.token": not a field it takes/.test((err as Error).message));
  const modelBudget = defineModelAgent({ name: 'budgeted2', version: '1.0.0', instructions: 'answer', budget: { token: 5 } as never });
  assert.throws(() => modelBudget.manifest, (err: unknown) => /^defineModelAgent: invalid field "budget\.token": not a field it takes/.test((err as Error).message));
  // `startToCloseTimeot` and a retry key Temporal ignores would have left the defaults (retry for ever) in force.
  const timeout = defineModelAgent({ name: 'slowModel', version: '1.0.0', instructions: 'answer', modelActivity: { startToCloseTimeot: '1m' } as never });
  assert.throws(
    () => timeout.manifest,
    (err: unknown) => field(err) === 'modelActivity.startToCloseTimeot' && /^defineModelAgent: invalid field "modelActivity\.startToCloseTimeot": not an option Temporal takes \(did you mean "startToCloseTimeout"\?\)$/.test((err as Error).message),
  );
  const retry = defineModelAgent({ name: 'retrier2', version: '1.0.0', instructions: 'answer', toolActivity: { perTool: { echo: { retry: { maximumAttempt: 2 } } } } as never });
  assert.throws(() => retry.manifest, (err: unknown) => field(err) === 'toolActivity.perTool.echo.retry.maximumAttempt' && /did you mean "maximumAttempts"\?/.test((err as Error).message));
  assert.doesNotThrow(() => defineModelAgent({ name: 'fine', version: '1.0.0', instructions: 'answer', modelActivity: { startToCloseTimeout: '1m', retry: { maximumAttempts: 2 } }, toolActivity: { perTool: { echo: { heartbeatTimeout: '5s' } } } }).manifest);
});
