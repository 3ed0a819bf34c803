/**
 * The problem scopetrail exists for: two delegation scopes call the same tool at the
 * same moment. The search tool logs, as ground truth, each input it received; every
 * one of those calls must be recorded under the scope that made it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { createExampleTools } from '../../examples/tools';
import { orchestrator } from '../../examples/agents';
import { walkTree } from '../../cim/scope-tree';
import { digest } from '../../store/digest';

const AGENTS = require.resolve('../../examples/agents');
let rt: TestRuntime;
const example = createExampleTools({ barrier: 2, barrierTimeoutMs: 3_000, latencyMs: 100 });

before(async () => {
  rt = await startTestRuntime({ agents: AGENTS, tools: Object.values(example.tools) });
});
after(async () => {
  await rt?.stop();
});

test('parallel scopes calling the same tool at the same moment are each attributed to their own scope', async () => {
  const sessions = await Promise.all(
    ['alpha', 'beta', 'gamma'].map((topic) =>
      rt.client.startSession(orchestrator, { input: { question: `question ${topic}` } }),
    ),
  );
  await Promise.all(sessions.map((s) => s.result()));
  await rt.worker.recorder.drain();

  for (const session of sessions) {
    const tree = await rt.client.scopeTree(session.sessionId);
    const scopeOfAgent = new Map([...walkTree(tree)].map((n) => [n.scope.agent, n.scope]));
    assert.deepEqual([...scopeOfAgent.keys()].sort(), ['analyst', 'citer', 'orchestrator', 'researcher', 'reviewer', 'translator', 'verifier']);
    const prefixToAgent: Record<string, string> = { 'background:': 'researcher', 'risks:': 'analyst', 'evidence:': 'verifier' };

    const truth = example.searchLog.filter((c) => c.workflowId.startsWith(`${session.sessionId}.`));
    assert.equal(truth.length, 3, 'the tool received three searches for this session');
    const recorded = await rt.client.actionsUnder(session.sessionId, { descendants: true, tool: 'search' });
    assert.equal(recorded.length, 3, 'three search actions recorded');

    for (const call of truth) {
      const expectedAgent = prefixToAgent[call.query.split(' ')[0]!]!;
      const expectedScope = scopeOfAgent.get(expectedAgent)!;
      const action = recorded.find((a) => a.workflowId === call.workflowId && a.activityId === call.activityId && a.attempt === call.attempt);
      assert.ok(action, `an action exists for the search "${call.query}"`);
      assert.equal(action.scopeId, expectedScope.scopeId, `"${call.query}" belongs to the ${expectedAgent} scope`);
      assert.equal(action.agent, expectedAgent);
      assert.equal(action.inputDigest, digest({ query: call.query, limit: expectedAgent === 'researcher' ? 3 : 2 }));
    }
  }

  // The barrier holds each search until another is in flight; check that searches of
  // different scopes really ran at the same time. (Which ones pair up is the scheduler's
  // choice: the barrier is shared by the three sessions, so a session's own two searches
  // may each have overlapped another session's instead.)
  const log = example.searchLog.filter((c) => sessions.some((s) => c.workflowId.startsWith(`${s.sessionId}.`)));
  const overlapping = log.flatMap((a, i) => log.slice(i + 1).filter((b) => a.workflowId !== b.workflowId && a.startedAt < b.endedAt && b.startedAt < a.endedAt));
  assert.ok(overlapping.length > 0, `searches of different scopes overlapped in time (${overlapping.length} pairs of ${log.length} searches)`);
});

test('the descendants query returns exactly the actions of a scope and the scopes it delegated to', async () => {
  const session = await rt.client.startSession(orchestrator, { input: { question: 'descendants' } });
  await session.result();
  await rt.worker.recorder.drain();
  const researcher = `${session.sessionId}.1`;
  const own = await rt.client.actionsUnder(researcher, { descendants: false });
  const all = await rt.client.actionsUnder(researcher, { descendants: true });
  assert.deepEqual(own.map((a) => `${a.kind}:${a.name}`).sort(), ['delegate:verifier', 'tool_call:search']);
  assert.deepEqual(
    all.map((a) => `${a.scopeId.slice(session.sessionId.length)} ${a.kind}:${a.name}`).sort(),
    [
      '.1 delegate:verifier',
      '.1 tool_call:search',
      '.1.1 delegate:citer',
      '.1.1 tool_call:search',
      '.1.1.1 tool_call:fetchPage',
      '.1.1.1 tool_call:fetchPage',
    ],
  );
  const root = await rt.client.actionsUnder(session.sessionId, { descendants: true });
  assert.ok(all.every((a) => root.some((r) => r.actionId === a.actionId)), 'the root\'s descendants include the researcher\'s');
  assert.ok(!root.some((a) => a.scopeId === `${session.sessionId}~1`), 'the handoff target is not a descendant of the root');
});
