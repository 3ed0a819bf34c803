/**
 * `scopetrail run research`: a model-driven multi-agent session. Each agent's model
 * (scripted here, or any OpenAI-compatible server via SCOPETRAIL_LLM_PROVIDER=openai)
 * chooses its tools, sub-agents and handoff; the tree shows every choice bound to its
 * delegation scope, and the queries below answer who did what.
 */
import { renderTable, renderTree } from '../client/format';
import { renderFootprint } from '../client/format-forensics';
import { treeJson } from '../client/tree-json';
import { modelProviderFromEnv } from '../activities/llm-env';
import { createExampleTools } from './tools';
import { lead } from './research-agents';
import { researchModel } from './research-model';
import type { DemoOptions } from './demo';
import { step, withExampleRuntime } from './example-runtime';

export async function runResearch(options: DemoOptions = {}): Promise<void> {
  const log = options.log ?? ((text: string) => console.log(text));
  const started = Date.now();
  const model = modelProviderFromEnv(process.env, { scripted: researchModel });
  const { tools } = createExampleTools({ latencyMs: 150 });
  step(`Model: ${model.name} (default model ${model.defaultModel})`);
  await withExampleRuntime(
    { name: 'research', memory: options.memory, agents: require.resolve('./research-agents'), tools: Object.values(tools), model },
    async ({ client, worker }) => {
      step('Running the model-driven research session…');
      const session = await client.startSession(lead, {
        input: { prompt: 'How do durable workflows make agent delegation auditable?' },
        objective: 'answer with researched, checked sources',
      });
      const result = await session.result();
      await worker.recorder.drain();
      const id = session.sessionId;
      const [tree, actions, footprint] = await Promise.all([
        client.scopeTree(id),
        client.actionsOfSession(id),
        client.footprint(id, { descendants: true }),
      ]);
      if (options.json) {
        log(JSON.stringify({ sessionId: id, result, model: { provider: model.name, defaultModel: model.defaultModel }, tree: treeJson(tree, actions), footprint }, null, 2));
        return;
      }
      log(`\nResult: ${JSON.stringify(result)}\n`);
      log(renderTree(tree, { actions }));

      log('\nWhat each model step chose (the llm.generate calls, in order):');
      const steps = actions.filter((a) => a.kind === 'llm_call');
      log(renderTable(['scope', 'agent', 'asked for', 'finish', 'tokens'], steps.map((a) => [
        a.scopeId,
        a.agent,
        String(a.attributes.toolCalls ?? '(answered)'),
        String(a.attributes.finishReason ?? ''),
        `${a.attributes.inputTokens ?? '?'}→${a.attributes.outputTokens ?? '?'}`,
      ])));

      const searches = actions.filter((a) => a.name === 'search');
      log(`\n${searches.length} search calls from sibling scopes, each bound to the scope whose model chose it:`);
      for (const s of searches) log(`  ${s.scopeId.padEnd(24)} ${s.agent.padEnd(12)} ${s.status}`);

      log(`\nFootprint of the whole session (scopetrail footprint ${id}):`);
      log(renderFootprint(footprint));
      console.error(`\n» Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    },
  );
}

if (require.main === module) {
  runResearch({ memory: process.argv.includes('--memory'), json: process.argv.includes('--json') }).catch((err) => {
    console.error(`scopetrail research example failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
