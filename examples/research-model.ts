/** The scripted model behind `scopetrail run research`: what each agent's model chooses, turn by turn. */
import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { ScriptedModelProvider, callTool, delegateTo, handoffTo } from '../activities/scripted-model';

/** The first user message: a prompt, or the objective a delegate was given. */
function objective(prompt: LanguageModelV3Prompt): string {
  const first = prompt.find((m) => m.role === 'user');
  return first && Array.isArray(first.content) ? first.content.map((p) => (p.type === 'text' ? p.text : '')).join('') : '';
}

/** The last tool result's value, as the model saw it. */
function lastResult(prompt: LanguageModelV3Prompt): unknown {
  const tool = [...prompt].reverse().find((m) => m.role === 'tool');
  const part = tool?.role === 'tool' ? tool.content.at(-1) : undefined;
  const output = part && part.type === 'tool-result' ? part.output : undefined;
  return output && 'value' in output ? output.value : undefined;
}

export function researchModel(): ScriptedModelProvider {
  return new ScriptedModelProvider({
    lead: [
      (req) => ({
        text: 'I will split the research three ways.',
        calls: [
          delegateTo('scout', `find background on: ${objective(req.prompt)}`),
          delegateTo('scout', `find counter-arguments to: ${objective(req.prompt)}`),
          delegateTo('factChecker', 'check the claim that replaying a workflow re-makes every model decision'),
        ],
      }),
      (req) => ({ calls: [callTool('translate', { text: objective(req.prompt), to: 'de' })] }),
      { text: 'The translation service is down; English sources will do.', calls: [handoffTo('editor', 'the research is in: write the answer')] },
    ],
    scout: [
      (req) => ({ calls: [callTool('search', { query: objective(req.prompt), limit: 2 })] }),
      (req) => {
        const hits = lastResult(req.prompt) as Array<{ url: string }> | undefined;
        return { calls: [callTool('fetchPage', { url: hits?.[0]?.url ?? 'https://example.org/' })] };
      },
      (req) => `Summary for "${objective(req.prompt)}": the best source says delegation scopes make each action attributable.`,
    ],
    factChecker: [
      (req) => ({ calls: [callTool('search', { query: objective(req.prompt), limit: 3 })] }),
      'The claim holds: model steps are activities, so replay re-reads their recorded results.',
    ],
    editor: [
      { calls: [callTool('saveNote', { title: 'durable delegation', body: 'Each model-chosen step is bound to its delegation scope.' })] },
      'Durable workflows make delegation auditable: every model-chosen tool call, delegation and handoff runs as a Temporal step bound to its scope.',
    ],
  });
}
