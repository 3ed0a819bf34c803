/** quietTemporalLogs() quiets a bundle made with bundleWorkflowCode({ plugins }) too (worker/plugin.ts configureBundler). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScopetrailPlugin, quietBundlerLogger } from '../../worker/plugin';
import { quietTemporalLogs } from '../../worker/runtime-logging';
import { openStore } from '../../store';

test('the plugin gives the bundler the quiet logger once logs are quieted, and keeps a logger of the caller\'s own', async () => {
  const store = await openStore({ memory: true, url: undefined });
  const plugin = new ScopetrailPlugin({ store, fingerprintKey: false, agents: require.resolve('../fixtures/agents') });
  const before = plugin.configureBundler({ workflowsPath: require.resolve('../fixtures/agents') });
  assert.equal(before.logger, undefined, 'not quieted yet: the bundler logs as Temporal does');
  quietTemporalLogs('ERROR');
  const quieted = plugin.configureBundler({ workflowsPath: require.resolve('../fixtures/agents') });
  assert.equal(quieted.logger, quietBundlerLogger);
  const own = { ...quietBundlerLogger, info: () => 'mine' };
  assert.equal(plugin.configureBundler({ workflowsPath: require.resolve('../fixtures/agents'), logger: own }).logger, own);
  assert.ok(quieted.preloadModules && quieted.preloadModules.length > 0, 'the shared sandbox modules are still preloaded');
  await store.close();
});
