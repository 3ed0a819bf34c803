/**
 * Records the histories in test/fixtures/histories/99eae23-model-inputs: runs of a build before
 * the handoff to a hand-written agent gave it `{ prompt }` (HANDOFF_PROMPT_PATCH: mToHand handed
 * hPrompted the conversation by reference) and before a model agent refused `{ prompt, messages }`
 * (it used the messages) and `{ messages: [] }` (the AI SDK refused it) (MODEL_INPUT_PATCH).
 * Later builds must still replay them as they ran.
 * Run on that build: npx tsx test/helpers/record-model-inputs.ts <out folder> <commit>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { startTestRuntime } from './runtime';
import { createFixtureTools } from '../fixtures/tools';
import { mFinisher, mToHand } from '../fixtures/model-agents';
import { ScriptedModelProvider, callTool, handoffTo } from '../../activities/scripted-model';

const { History } = temporal.api.history.v1;
const out = process.argv[2]!;
const commit = process.argv[3]!;
const model = new ScriptedModelProvider({
  mToHand: [{ calls: [callTool('echo', { text: 'case notes' })] }, { calls: [handoffTo('hPrompted', 'Refund order 42: the customer was charged twice.')] }],
  mFinisher: [(req) => `finisher saw ${req.prompt.length} messages`],
});

async function main() {
  mkdirSync(out, { recursive: true });
  const rt = await startTestRuntime({ agents: require.resolve('../fixtures/model-agents'), tools: Object.values(createFixtureTools().tools), model });
  try {
    const sessions = [
      await rt.client.startSession(mToHand, { input: { prompt: 'triage this' } }),
      await rt.client.startSession(mFinisher, { input: { prompt: 'PROMPT-FIELD', messages: [{ role: 'user', content: 'MESSAGES-FIELD' }] } as never }),
      await rt.client.startSession(mFinisher, { input: { messages: [] } }),
    ];
    for (const s of sessions) console.log(s.sessionId, await s.result().then((r) => JSON.stringify(r), (e: Error) => `failed: ${e.cause instanceof Error ? e.cause.message : e.message}`));
    await rt.worker.recorder.drain();
    const histories: Array<{ file: string; workflowId: string; agents: string }> = [];
    for (const s of sessions) {
      for (const scope of await rt.store.scopesOfSession(s.sessionId)) {
        const history = await rt.client.temporal.workflow.getHandle(scope.workflowId, scope.runId).fetchHistory();
        const file = `${String(histories.length).padStart(2, '0')}-${scope.agent}.json`;
        const message = History.decode(History.encode(history).finish());
        writeFileSync(join(out, file), `${JSON.stringify(History.toObject(message, { longs: String, enums: String, bytes: String }))}\n`);
        histories.push({ file, workflowId: scope.workflowId, agents: 'test/fixtures/model-agents.ts' });
      }
    }
    writeFileSync(join(out, 'index.json'), `${JSON.stringify({ commit, recorded: new Date().toISOString(), histories }, null, 2)}\n`);
  } finally {
    await rt.stop();
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
