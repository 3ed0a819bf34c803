/**
 * `npm start`: a real Temporal dev server (or TEMPORAL_ADDRESS), a worker, the
 * example multi-agent session, then its scope tree and a forensic query.
 */
import { renderActions, renderTree } from '../client/format';
import { treeJson } from '../client/tree-json';
import { walkTree } from '../cim/scope-tree';
import { createExampleTools } from './tools';
import { orchestrator } from './agents';
import { exampleLlm } from './llm-script';
import { describeLlmProvider, llmProviderFromEnv } from '../activities/llm-env';
import { step, withExampleRuntime } from './example-runtime';

export interface DemoOptions {
  memory?: boolean;
  /** Print one JSON document (session id, result, the `tree --json` document, the forensic query) instead of text. */
  json?: boolean;
  /** Where the report goes (default: stdout); progress always goes to stderr. */
  log?: (text: string) => void;
}

export async function runDemo(options: DemoOptions = {}): Promise<void> {
  const log = options.log ?? ((text: string) => console.log(text));
  const started = Date.now();
  // Checked before anything starts: a bad SCOPETRAIL_LLM_* / OPENAI_* variable is named at once.
  const llm = llmProviderFromEnv(process.env, { scripted: exampleLlm });
  const { tools } = createExampleTools({ latencyMs: 200 });
  step(`LLM: ${describeLlmProvider(llm)}`);
  await withExampleRuntime({ name: 'demo', memory: options.memory, agents: require.resolve('./agents'), tools: Object.values(tools), llm }, async ({ client, worker }) => {
    step('Running the example session…');
    const session = await client.startSession(orchestrator, {
      input: { question: 'How do durable workflows make agent delegation auditable?' },
      objective: 'answer the user question with verified research',
    });
    const result = await session.result();
    await worker.recorder.drain();
    const tree = await client.scopeTree(session.sessionId);
    const sessionActions = await client.actionsOfSession(session.sessionId);
    const researcher = [...walkTree(tree)].find((n) => n.scope.agent === 'researcher');
    if (options.json) {
      const id = researcher?.scope.scopeId;
      log(
        JSON.stringify(
          {
            sessionId: session.sessionId,
            result,
            llm: { provider: llm.name, defaultModel: llm.defaultModel },
            tree: treeJson(tree, sessionActions),
            forensicQuery: id ? { scopeId: id, descendants: true, actions: await client.actionsUnder(id, { descendants: true }) } : null,
          },
          null,
          2,
        ),
      );
      console.error(`\n» Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
      return;
    }
    log(`\nResult: ${JSON.stringify(result)}\n`);
    log(renderTree(tree, { actions: sessionActions }));

    if (researcher) {
      const id = researcher.scope.scopeId;
      log(`\nForensic query — every action under scope ${id} (researcher) and its descendants:`);
      log(`  scopetrail actions ${id} --descendants\n`);
      log(renderActions(await client.actionsUnder(id, { descendants: true })));
      const searches = sessionActions.filter((a) => a.name === 'search');
      log(`\n${searches.length} search calls in the session, each bound to its own scope:`);
      for (const s of searches) log(`  ${s.scopeId.padEnd(24)} ${s.agent.padEnd(12)} ${s.inputDigest?.slice(0, 23)}…`);
    }
    console.error(`\n» Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  });
}

if (require.main === module) {
  runDemo({ memory: process.argv.includes('--memory'), json: process.argv.includes('--json') }).catch((err) => {
    console.error(`scopetrail demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
