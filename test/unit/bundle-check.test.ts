import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { ScopetrailPlugin } from '../../worker/plugin';
import { bundleAgents } from '../../worker/create-worker';
import { quietBundlerLogger } from '../../worker/plugin';
import type { Store } from '../../store/types';

const agents = require.resolve('../fixtures/agents');
const store = { upsertManifests: async () => undefined } as unknown as Store;
const plugin = () => new ScopetrailPlugin({ store, agents, fingerprintKey: false, spool: false, log: () => undefined });
const worker = (workflowBundle: WorkerOptions['workflowBundle']): WorkerOptions => ({ taskQueue: 'bundle-check', workflowBundle });

test('a worker with the plugin refuses a prebuilt bundle made without scopetrail, and says how to build one', async () => {
  // The usual production prebuild of an existing app: bundleWorkflowCode with the app's options and no plugin.
  const { code } = await bundleWorkflowCode({ workflowsPath: agents, logger: quietBundlerLogger });
  const refused = (bundle: WorkerOptions['workflowBundle']) =>
    assert.throws(() => plugin().configureWorker(worker(bundle)), (err: Error & { field?: string }) => {
      assert.equal(err.name, 'ScopetrailConfigError');
      assert.equal(err.field, 'workflowBundle');
      assert.match(err.message, /made without scopetrail's workflow interceptors/);
      assert.match(err.message, /plugins: \[new ScopetrailPlugin/);
      assert.match(err.message, /bundleAgents/);
      return true;
    });
  refused({ code });
  const codePath = join(mkdtempSync(join(tmpdir(), 'bundle-check-')), 'bundle.js');
  writeFileSync(codePath, code);
  refused({ codePath });
});

test('bundles made with the plugin or with bundleAgents are taken', async () => {
  const withPlugin = await bundleWorkflowCode({ workflowsPath: agents, plugins: [plugin()], logger: quietBundlerLogger });
  assert.equal(plugin().configureWorker(worker({ code: withPlugin.code })).workflowBundle?.hasOwnProperty('code'), true);
  const made = await bundleAgents(agents);
  const codePath = join(mkdtempSync(join(tmpdir(), 'bundle-check-')), 'bundle.js');
  writeFileSync(codePath, made.code);
  assert.deepEqual(plugin().configureWorker(worker({ codePath })).workflowBundle, { codePath });
});

test('a worker with no workflows serves tools alone without `agents`; one with a prebuilt bundle must name them', () => {
  const toolsOnly = new ScopetrailPlugin({ store, fingerprintKey: false, spool: false, log: () => undefined });
  const configured = toolsOnly.configureWorker({ taskQueue: 'tools-only' });
  assert.equal(configured.workflowsPath, undefined);
  assert.deepEqual(toolsOnly.recorderFor('default', 'tools-only') !== undefined, true);
  const bundled = new ScopetrailPlugin({ store, fingerprintKey: false, spool: false, log: () => undefined });
  assert.throws(() => bundled.configureWorker({ taskQueue: 'bundled', workflowBundle: { codePath: '/nonexistent/bundle.js' } }), (err: Error & { field?: string }) => {
    assert.equal(err.field, 'agents');
    assert.match(err.message, /give `agents` .* when the worker runs a prebuilt workflowBundle/);
    return true;
  });
});

test("bundleAgents prebuilds an app's workflows with its own bundler options and scopetrail's interceptors, with no store", async () => {
  const { code } = await bundleAgents(agents, {
    payloadConverterPath: require.resolve('../fixtures/custom-converter'),
    workflowInterceptorModules: [require.resolve('../fixtures/app-workflow-interceptors')],
  });
  const imported = code.slice(code.indexOf('exports.importInterceptors = function'));
  assert.match(imported.slice(0, 2000), /"\.\/test\/fixtures\/app-workflow-interceptors\.ts"[\s\S]*"\.\/workflows\/interceptors\.ts"/);
  assert.ok(code.includes('json/x-scopetrail-test'), 'the payload converter is in the bundle');
  assert.deepEqual(Object.keys(plugin().configureWorker(worker({ code }))).includes('workflowBundle'), true);
  assert.throws(() => bundleAgents(agents, { workflowsPath: agents } as never), (err: Error & { field?: string }) => err.field === 'options.workflowsPath');
});
