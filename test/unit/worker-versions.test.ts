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
  assert.deepEqual([long.code, /invalid --build-id "x+": /.test(long.stderr)], [2, true]);
});

test('a deployment name with a dot is refused wherever it is given, naming the field; a semver build id is taken', async () => {
  const dot = /must not contain "\."/;
  const store = { upsertManifests: async () => undefined } as unknown as Store;
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, deployment: { name: 'research.agents', buildId: 'v2' } }),
    (err: Error & { field?: string }) => err.field === 'deployment.name' && dot.test(err.message),
  );
  assert.equal(DeploymentOption.parse({ name: 'research-agents', buildId: '1.2.3' }).buildId, '1.2.3');

  const { SetVersionOptions } = await import('../../client/deployment');
  assert.match(SetVersionOptions.safeParse({ deploymentName: 'a.b', buildId: 'x' }).error?.issues[0]?.message ?? '', dot);
  assert.ok(SetVersionOptions.safeParse({ deploymentName: 'agents', buildId: '1.2.3' }).success);

  const { runCli } = await import('../../client/cli');
  const run = async (args: string[]) => {
    const err: string[] = [];
    const code = await runCli(args, { log: () => undefined, err: (t) => err.push(t) });
    return { code, stderr: err.join('\n') };
  };
  const worker = await run(['worker', '--deployment', 'a.b', '--build-id', 'x']);
  assert.equal(worker.code, 2, worker.stderr);
  assert.match(worker.stderr, /invalid --deployment "a\.b": must not contain "\."/);
  for (const args of [['set-current', 'a.b', 'x'], ['ramp', 'a.b', 'x', '10']]) {
    const moved = await run(['deployment', ...args, '--wait', '0']);
    assert.equal(moved.code, 2, moved.stderr);
    assert.match(moved.stderr, /invalid <name> "a\.b": must not contain "\."/);
  }
});
