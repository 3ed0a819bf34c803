/**
 * Records the histories in test/fixtures/histories/5ca00e3-unsendable-input: an agent
 * (badTimeout) that delegates, or hands off, with an input JSON changes on the way (a Map
 * sent as `{}`), which a build before the input check (workflows/sendable-result.ts
 * unsendableInput) started. Later builds refuse such inputs, and must still replay these as
 * they ran (the patch UNSENDABLE_INPUT_PATCH).
 * Run on that build, with this file and test/fixtures/agents.ts copied in:
 * npx tsx test/helpers/record-unsendable-input.ts <out folder> <commit>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { startTestRuntime } from './runtime';
import { createFixtureTools } from '../fixtures/tools';
import { badTimeout } from '../fixtures/agents';

const { History } = temporal.api.history.v1;
const out = process.argv[2]!;
const commit = process.argv[3]!;
async function main() {
  mkdirSync(out, { recursive: true });
  const rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
  try {
    const histories: Array<{ file: string; workflowId: string; agents: string }> = [];
    for (const how of ['mapDelegate', 'mapHandoff'] as const) {
      const s = await rt.client.startSession(badTimeout, { input: { how } });
      console.log(how, JSON.stringify(await s.result()));
      await rt.worker.recorder.drain();
      // Every run of the session: a handoff continues as new under the same id, and a delegation has a child.
      const ids = how === 'mapDelegate' ? [s.sessionId, `${s.sessionId}.1`] : [s.sessionId];
      for (const id of ids) {
        const runs = [];
        for await (const w of rt.client.temporal.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(w);
        for (const run of runs) {
          const history = await rt.client.temporal.workflow.getHandle(id, run.runId).fetchHistory();
          const file = `${String(histories.length).padStart(2, '0')}-badTimeout-${how}.json`;
          const message = History.decode(History.encode(history).finish());
          writeFileSync(join(out, file), `${JSON.stringify(History.toObject(message, { longs: String, enums: String, bytes: String }))}\n`);
          histories.push({ file, workflowId: id, agents: 'test/fixtures/agents.ts' });
        }
      }
    }
    writeFileSync(join(out, 'index.json'), `${JSON.stringify({ commit, recorded: new Date().toISOString(), histories }, null, 2)}\n`);
  } finally {
    await rt.stop();
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
