/**
 * Records the histories in test/fixtures/histories/0b8f6ec-unsendable: agents (oddResult)
 * whose results a build before workflows/sendable-result.ts let JSON change (a Uint8Array
 * sent as `{"0":5,"1":6}`, a Map as `{}`) and completed. Later builds refuse such results,
 * and must still replay these as they ran (the patch UNSENDABLE_RESULT_PATCH).
 * Run on that build: npx tsx test/helpers/record-unsendable.ts <out folder> <commit>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { startTestRuntime } from './runtime';
import { oddResult } from '../fixtures/agents';

const { History } = temporal.api.history.v1;
const out = process.argv[2]!;
const commit = process.argv[3]!;
async function main() {
  mkdirSync(out, { recursive: true });
  const rt = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: [] });
  try {
    const histories: Array<{ file: string; workflowId: string; agents: string }> = [];
    for (const kind of ['bytes', 'map'] as const) {
      const s = await rt.client.startSession(oddResult, { input: { kind } });
      console.log(kind, JSON.stringify(await s.result()));
      await rt.worker.recorder.drain();
      const history = await rt.client.temporal.workflow.getHandle(s.sessionId).fetchHistory();
      const file = `${String(histories.length).padStart(2, '0')}-oddResult-${kind}.json`;
      const message = History.decode(History.encode(history).finish());
      writeFileSync(join(out, file), `${JSON.stringify(History.toObject(message, { longs: String, enums: String, bytes: String }))}\n`);
      histories.push({ file, workflowId: s.sessionId, agents: 'test/fixtures/agents.ts' });
    }
    writeFileSync(join(out, 'index.json'), `${JSON.stringify({ commit, recorded: new Date().toISOString(), histories }, null, 2)}\n`);
  } finally {
    await rt.stop();
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
