/**
 * Agents on a versioned worker (a Worker Deployment build), their tools on an unversioned
 * worker of another task queue. History's ActivityTaskStarted names the SDK's default build
 * id of the tools worker, which is no build of any deployment: the tool's row, written by
 * that unversioned worker, names none, and reconcile and verify agree with it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { setCurrentVersion } from '../../client/deployment';
import { createFixtureTools } from '../fixtures/tools';
import { splitCaller } from '../fixtures/split-agents';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { startToolsWorker } from '../helpers/tools-worker';

const DEPLOYMENT = `scopetrail-split-${randomBytes(4).toString('hex')}`;
let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/split-agents'), tools: [], deployment: { name: DEPLOYMENT, buildId: 'v1' }, log: () => undefined });
});
after(async () => rt?.stop());

test('a versioned agents worker calling tools on an unversioned worker reconciles to 0 differences and verifies clean', { timeout: 120_000 }, async () => {
  const admin = await Connection.connect({ address: rt.temporal.address });
  const { toolQueue, stop } = await startToolsWorker(rt, [createFixtureTools().tools.echo]);
  try {
    await setCurrentVersion(admin, { namespace: rt.temporal.namespace, deploymentName: DEPLOYMENT, buildId: 'v1' });
    const session = await rt.client.startSession(splitCaller, { input: { text: 'served unversioned', toolQueue } });
    assert.equal(await session.result(), 'served unversioned');
    await rt.worker.recorder.drain();
    const actions = await rt.client.actionsOfSession(session.sessionId);
    const call = actions.find((a) => a.kind === 'tool_call' && a.name === 'echo')!;
    assert.equal(call.workerBuildId ?? null, null, 'the unversioned tools worker names no build');
    const scope = (await rt.store.scopesOfSession(session.sessionId))[0]!;
    assert.equal(scope.workerBuildId, 'v1', 'the agent ran on build v1');
    assert.deepEqual((await rt.client.reconcile(session.sessionId)).differences, []);
    const report = await rt.client.verify(session.sessionId);
    assert.deepEqual(report.problems, []);
  } finally {
    await stop();
    await admin.close();
  }
});
