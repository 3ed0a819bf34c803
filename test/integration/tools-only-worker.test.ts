/**
 * A worker with the plugin and no workflows (no workflowsPath, no bundle, no `agents`)
 * serves tools alone for agents on another task queue, and records their calls.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ScopetrailPlugin } from '../../worker/plugin';
import { createFixtureTools } from '../fixtures/tools';
import { splitCaller } from '../fixtures/split-agents';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { startToolsWorker } from '../helpers/tools-worker';

let rt: TestRuntime;
before(async () => {
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/split-agents'), tools: [], log: () => undefined });
});
after(async () => rt?.stop());

test('a tools-only worker needs no agents and records the calls it serves', async () => {
  const { toolQueue, stop } = await startToolsWorker(rt, [createFixtureTools().tools.echo]);
  try {
    const session = await rt.client.startSession(splitCaller, { input: { text: 'served elsewhere', toolQueue } });
    assert.equal(await session.result(), 'served elsewhere');
    await stop();
    const calls = (await rt.client.actionsOfSession(session.sessionId)).filter((a) => a.kind === 'tool_call' && a.name === 'echo');
    assert.equal(calls.length, 1, JSON.stringify(calls));
    assert.equal(calls[0]!.status, 'success');
  } finally {
    await stop();
  }
});

test('an agents worker is not told its agents lack a tool that a worker of another queue of the store serves; one nobody serves is still named', async () => {
  // The test above ran a worker serving echo on another queue: the store holds its spec.
  const said: string[] = [];
  const connection = await NativeConnection.connect({ address: rt.temporal.address });
  const plugin = new ScopetrailPlugin({ store: rt.store, tools: [], spool: false, fingerprintKey: false, log: (line: string) => said.push(line) });
  const worker = await Worker.create({ connection, taskQueue: `agents-${randomBytes(4).toString('hex')}`, workflowsPath: require.resolve('../fixtures/split-agents'), plugins: [plugin] });
  const running = worker.run();
  try {
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(said.filter((l) => /does not register/.test(l)), [], said.join('\n'));
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
  }
  const lonely: string[] = [];
  const plugin2 = new ScopetrailPlugin({ store: rt.store, tools: [], spool: false, fingerprintKey: false, log: (line: string) => lonely.push(line) });
  const worker2 = await Worker.create({ connection, taskQueue: `agents-${randomBytes(4).toString('hex')}`, workflowsPath: require.resolve('../fixtures/agents'), plugins: [plugin2] });
  const running2 = worker2.run();
  try {
    await new Promise((r) => setTimeout(r, 500));
    const warning = lonely.find((l) => l.startsWith('agents declare tools this worker does not register'));
    assert.ok(warning, lonely.join('\n'));
    assert.match(warning, /ghostTool \(ghostCaller\)/);
    assert.doesNotMatch(warning, /\becho\b/, 'echo is served on another queue');
  } finally {
    worker2.shutdown();
    await running2.catch(() => undefined);
    await connection.close();
  }
});
