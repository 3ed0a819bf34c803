/** The scripted model answers the example uses: deterministic, per agent. */
import { ScriptedProvider } from '../activities/llm';

export function exampleLlm(): ScriptedProvider {
  return new ScriptedProvider({
    orchestrator: [
      'Durable workflows bind each delegation to its own scope, so every tool call can be traced to the mandate that caused it.',
    ],
    reviewer: [(req) => `Reviewed and approved: ${req.messages.at(-1)?.content.split('\n')[0] ?? ''}`],
  });
}
