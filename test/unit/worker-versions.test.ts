/** Which worker build a record names, and the deployment option that makes a worker versioned. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerOfTask } from '../../worker/sinks';
import { DeploymentOption, workerDeploymentOptions, workerIdentity } from '../../worker/deployment';
import { ScopetrailPlugin } from '../../worker/plugin';
import type { Store } from '../../store/types';

test('a workflow task names the deployment build that ran it; an unversioned worker\'s own SDK build id names none', () => {
  assert.deepEqual(workerOfTask({ currentDeploymentVersion: { deploymentName: 'agents', buildId: 'v2' } }), {
    workerDeployment: 'agents',
    workerBuildId: 'v2',
  });
  assert.deepEqual(workerOfTask({ currentDeploymentVersion: { deploymentName: '', buildId: '@temporalio/worker@1.24.0+abc' } }), {});
  assert.deepEqual(workerOfTask({ currentDeploymentVersion: undefined }), {});
});

test('the deployment option: pinned by default, versioning on, and an error that names the field', () => {
  const parsed = DeploymentOption.parse({ name: 'agents', buildId: 'v2' });
  assert.deepEqual(workerDeploymentOptions(parsed), {
    useWorkerVersioning: true,
    version: { deploymentName: 'agents', buildId: 'v2' },
    defaultVersioningBehavior: 'PINNED',
  });
  assert.deepEqual(workerIdentity({ workerDeploymentOptions: workerDeploymentOptions(parsed) }), { workerDeployment: 'agents', workerBuildId: 'v2' });
  assert.deepEqual(workerIdentity({}), {});

  const store = { upsertManifests: async () => undefined } as unknown as Store;
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, deployment: { name: 'agents', buildId: '' } }),
    (err: Error & { field?: string }) => err.field === 'deployment.buildId' && /deployment\.buildId.*give the build id of this worker/.test(err.message),
  );
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, deployment: { name: 'agents', buildId: 'v2', defaultVersioningBehavior: 'LATEST' as never } }),
    (err: Error & { field?: string }) => err.field === 'deployment.defaultVersioningBehavior',
  );
  const plugin = new ScopetrailPlugin({ store, fingerprintKey: false, deployment: { name: 'agents', buildId: 'v2' } });
  assert.throws(
    () => plugin.configureWorker({ taskQueue: 'q', workerDeploymentOptions: workerDeploymentOptions(parsed) }),
    /the worker sets workerDeploymentOptions and the plugin `deployment`; give one of them/,
  );
});

test('scopetrail worker takes --deployment and --build-id together, checked before anything starts', async () => {
  const { runCli } = await import('../../client/cli');
  const run = async (args: string[]) => {
    const err: string[] = [];
    const code = await runCli(['worker', ...args], { log: () => undefined, err: (t) => err.push(t) });
    return { code, stderr: err.join('\n') };
  };
  const alone = await run(['--deployment', 'agents']);
  assert.deepEqual([alone.code, /give both --deployment <name> and --build-id <id>/.test(alone.stderr)], [2, true]);
  const long = await run(['--deployment', 'agents', '--build-id', 'x'.repeat(300)]);
  assert.deepEqual([long.code, /invalid --build-id: /.test(long.stderr)], [2, true]);
});
