import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleAgents } from '../../worker/create-worker';

/** The body of one module of a webpack bundle, by its id. */
function moduleSource(code: string, id: string): string {
  const start = code.indexOf(`/***/ ${JSON.stringify(id)}`);
  assert.ok(start >= 0, `module ${id} is in the bundle`);
  const end = code.indexOf('/***/ "', start + 10);
  return code.slice(start, end < 0 ? undefined : end);
}

test('the workflow bundle evaluates zod in its preload, so workflows share it instead of evaluating it each', async () => {
  const { code } = await bundleAgents(require.resolve('../fixtures/agents'));
  const preload = code.slice(code.indexOf('exports.preloadModules = function'), code.indexOf('exports.importWorkflows'));
  assert.match(preload, /__webpack_require__\([^)]*"\.\/workflows\/sandbox-preload\.ts"\)/);
  // So is the SDK's workflow package: its index (re-exports, metrics, random streams) was evaluated for each workflow.
  assert.match(preload, /__webpack_require__\([^)]*"\.\/node_modules\/@temporalio\/workflow\/lib\/index\.js"\)/);
  // The modules that define zod's schema builders, the ones the CIM schemas are made with.
  const preloaded = moduleSource(code, './workflows/sandbox-preload.ts');
  assert.match(preloaded, /"\.\/node_modules\/zod\/v4\/classic\/schemas\.js"/);
  assert.match(moduleSource(code, './cim/scope-context.ts'), /"\.\/node_modules\/zod\/v4\/classic\/schemas\.js"/);
});

test('workflows evaluate only the schemas they check values with, not the record schemas', async () => {
  const { code } = await bundleAgents(require.resolve('../fixtures/agents'));
  // Every workflow evaluates the bundle's modules again: these are built in each one.
  for (const id of ['./cim/scope-context.ts', './cim/manifest.ts', './cim/budget.ts']) moduleSource(code, id);
  // Scope and action records are validated by the worker, the llm result by its activity.
  for (const id of ['./cim/schemas.ts', './cim/llm-result.ts']) {
    assert.equal(code.includes(`/***/ ${JSON.stringify(id)}`), false, `module ${id} is not in the bundle`);
  }
});
