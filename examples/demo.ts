/**
 * `npm start`: a real Temporal dev server (or TEMPORAL_ADDRESS), a worker, the
 * example multi-agent session, then its scope tree and a forensic query.
 */
import { ensureTemporal } from '../devserver/dev-server';
import { openStore } from '../store';
import { createWorker } from '../worker/create-worker';
import { ScopeClient } from '../client/scope-client';
import { renderActions, renderTree } from '../client/format';
import { walkTree } from '../cim/scope-tree';
import type { ActionRecord } from '../cim/schemas';
import { createExampleTools } from './tools';
import { orchestrator } from './agents';
import { exampleLlm } from './llm-script';
import { quietTemporalLogs } from '../worker/runtime-logging';

const step = (msg: string) => console.error(`» ${msg}`);

export async function runDemo(options: { memory?: boolean } = {}): Promise<void> {
  const started = Date.now();
  // Tool failures are part of the example; the tree shows them, the log need not.
  quietTemporalLogs('ERROR');
  step('Starting Temporal…');
  const temporal = await ensureTemporal({ log: (l) => console.error(`  ${l}`) });
  step(`Temporal: ${temporal.description}`);
  const store = await openStore({ memory: process.env.DATABASE_URL ? undefined : options.memory });
  step(`Store: ${store.description}`);
  const taskQueue = `scopetrail-demo-${process.pid}`;
  const { tools } = createExampleTools({ latencyMs: 200 });
  step('Bundling agents and starting the worker…');
  const worker = await createWorker({
    agents: require.resolve('./agents'),
    tools: Object.values(tools),
    llm: exampleLlm(),
    store,
    taskQueue,
    address: temporal.address,
    namespace: temporal.namespace,
  });
  const running = worker.run();
  const client = await ScopeClient.connect({ address: temporal.address, namespace: temporal.namespace, taskQueue, store });
  try {
    step('Running the example session…');
    const session = await client.startSession(orchestrator, {
      input: { question: 'How do durable workflows make agent delegation auditable?' },
      objective: 'answer the user question with verified research',
    });
    const result = await session.result();
    await worker.recorder.drain();
    console.log(`\nResult: ${JSON.stringify(result)}\n`);

    const tree = await client.scopeTree(session.sessionId);
    const actions = new Map<string, ActionRecord[]>();
    for (const a of await client.actionsOfSession(session.sessionId)) {
      actions.set(a.scopeId, [...(actions.get(a.scopeId) ?? []), a]);
    }
    console.log(renderTree(tree, { actions }));

    const researcher = [...walkTree(tree)].find((n) => n.scope.agent === 'researcher');
    if (researcher) {
      const id = researcher.scope.scopeId;
      console.log(`\nForensic query — every action under scope ${id} (researcher) and its descendants:`);
      console.log(`  scopetrail actions ${id} --descendants\n`);
      console.log(renderActions(await client.actionsUnder(id, { descendants: true })));
      const searches = (await client.actionsOfSession(session.sessionId)).filter((a) => a.name === 'search');
      console.log(`\n${searches.length} search calls in the session, each bound to its own scope:`);
      for (const s of searches) console.log(`  ${s.scopeId.padEnd(24)} ${s.agent.padEnd(12)} ${s.inputDigest?.slice(0, 23)}…`);
    }
    console.error(`\n» Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } finally {
    await client.close();
    await worker.shutdown();
    await running.catch(() => undefined);
    await store.close();
    await temporal.stop();
  }
}

if (require.main === module) {
  runDemo({ memory: process.argv.includes('--memory') }).catch((err) => {
    console.error(`scopetrail demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
