/**
 * The dashboard's browser tests on a machine without Chromium: skipped with the reason
 * and the install command, so `npm test` passes on a fresh clone; under CI they are
 * required and fail loudly. Runs the real test file with the lookup pointed at a missing path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { browserSkipReason } from '../helpers/browser';

const ROOT = join(__dirname, '..', '..');
const UI_TEST = join('test', 'integration', 'ui.test.ts');

function runUiTests(extra: NodeJS.ProcessEnv): { code: number | null; output: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, SCOPETRAIL_CHROMIUM: '/nonexistent/chromium', ...extra };
  if (!extra.CI) delete env.CI;
  // Not the parent's --test context: the child is a test run of its own.
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', UI_TEST], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: r.status, output: `${r.stdout}\n${r.stderr}` };
}

test('without Chromium and outside CI, the browser tests are skipped with the reason and the install command', () => {
  const { code, output } = runUiTests({});
  assert.equal(code, 0, output);
  assert.match(output, /^# fail 0$/m);
  assert.doesNotMatch(output, /^# pass [1-9]/m, 'nothing ran');
  const skipped = Number(/^# skipped (\d+)$/m.exec(output)?.[1]);
  assert.ok(skipped >= 7, `every browser test is reported skipped (${skipped})\n${output}`);
  assert.match(output, /# SKIP no Chromium at \/nonexistent\/chromium: install it \(apt-get install chromium\)/);
});

test('under CI a missing Chromium fails the browser tests, saying what is missing', () => {
  const { code, output } = runUiTests({ CI: '1' });
  assert.notEqual(code, 0, output);
  assert.match(output, /Chromium is not installed at \/nonexistent\/chromium/);
  assert.doesNotMatch(output, /^# skipped [1-9]/m);
});

test('the skip reason follows the environment: a Chromium found or CI set means run', () => {
  assert.match(browserSkipReason({ SCOPETRAIL_CHROMIUM: '/nonexistent/chromium' }) ?? '', /apt-get install chromium/);
  assert.equal(browserSkipReason({ SCOPETRAIL_CHROMIUM: '/nonexistent/chromium', CI: 'true' }), undefined);
  assert.match(browserSkipReason({ SCOPETRAIL_CHROMIUM: '/nonexistent/chromium', CI: 'false' }) ?? '', /no Chromium/);
  assert.equal(browserSkipReason({ SCOPETRAIL_CHROMIUM: process.execPath }), undefined, 'any executable found is used');
});
