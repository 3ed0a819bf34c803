/**
 * Records the workflow histories that test/integration/replay-compat.test.ts replays: one
 * example session (delegations, a handoff, model and tool calls) and fixture sessions
 * (nested delegation, a fan-out with failures, a retried delegation, runs that end with
 * delegates still open, a delegate cancelled by its delegator), run by this build.
 * Run it on the build whose histories later builds must still replay (a release):
 *
 *   npx tsx test/helpers/record-histories.ts <label>
 *
 * It writes test/fixtures/histories/<label>/: one JSON history per run, and index.json
 * naming the commit and, for each history, the agents module that replays it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { temporal } from '@temporalio/proto';
import { startTestRuntime, type TestRuntime } from './runtime';
import { createExampleTools } from '../../examples/tools';
import { exampleLlm } from '../../examples/llm-script';
import { orchestrator } from '../../examples/agents';
import { createFixtureTools } from '../fixtures/tools';
import { canceller, deep, fanout, quitter, retrier } from '../fixtures/agents';

const ROOT = join(__dirname, '..', '..');
const label = process.argv[2];
if (!label || !/^[a-z0-9.-]+$/.test(label)) throw new TypeError('record-histories: invalid field "label": give lowercase letters, digits, dots and dashes');
const out = join(ROOT, 'test', 'fixtures', 'histories', label);

interface Entry {
  file: string;
  workflowId: string;
  agents: string;
}

const { History } = temporal.api.history.v1;

/**
 * A history as protobuf.js's own JSON form (64-bit numbers as text, bytes as base64, enums
 * by name), which `History.fromObject` reads back exactly. Encoded first, so that what is
 * written is what the server sent.
 */
function historyAsJson(history: Parameters<typeof History.encode>[0]): object {
  const message = History.decode(History.encode(history).finish());
  return History.toObject(message, { longs: String, enums: String, bytes: String });
}

async function record(rt: TestRuntime, agents: string, sessionIds: string[], entries: Entry[]): Promise<void> {
  await rt.worker.recorder.drain();
  for (const sessionId of sessionIds) {
    for (const s of await rt.store.scopesOfSession(sessionId)) {
      const history = await rt.client.temporal.workflow.getHandle(s.workflowId, s.runId).fetchHistory();
      const file = `${String(entries.length).padStart(2, '0')}-${s.agent}.json`;
      writeFileSync(join(out, file), `${JSON.stringify(historyAsJson(history))}\n`);
      entries.push({ file, workflowId: s.workflowId, agents: relative(ROOT, agents) });
    }
  }
}

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const entries: Entry[] = [];
  const exampleAgents = require.resolve('../../examples/agents');
  const a = await startTestRuntime({ agents: exampleAgents, tools: Object.values(createExampleTools({ latencyMs: 20 }).tools), llm: exampleLlm() });
  try {
    const session = await a.client.startSession(orchestrator, { input: { question: 'recorded for replay' } });
    await session.result();
    await record(a, exampleAgents, [session.sessionId], entries);
  } finally {
    await a.stop();
  }
  const fixtureAgents = require.resolve('../fixtures/agents');
  const b = await startTestRuntime({ agents: fixtureAgents, tools: Object.values(createFixtureTools().tools) });
  try {
    const sessions = [
      await b.client.startSession(deep, { input: { depth: 2 } }),
      await b.client.startSession(fanout, { input: { n: 3, failing: [1] } }),
      await b.client.startSession(retrier, { input: { attempts: 3, failFirst: 1 } }),
      // Runs that close their open delegates (workflows/open-delegates.ts) and a cancelled delegation.
      await b.client.startSession(quitter, { input: { end: 'fail' as const } }),
      await b.client.startSession(quitter, { input: { end: 'return' as const } }),
      await b.client.startSession(quitter, { input: { end: 'handoff' as const } }),
      await b.client.startSession(quitter, { input: { end: 'at-once' as const } }),
      await b.client.startSession(canceller, { input: {} }),
    ];
    // The fan-out and the retrier end as their failures make them end; either way the history is complete.
    for (const s of sessions) await s.result().catch(() => undefined);
    await record(b, fixtureAgents, sessions.map((s) => s.sessionId), entries);
  } finally {
    await b.stop();
  }
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  writeFileSync(join(out, 'index.json'), `${JSON.stringify({ commit, recorded: new Date().toISOString(), histories: entries }, null, 2)}\n`);
  console.log(`${entries.length} histories → ${relative(ROOT, out)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
