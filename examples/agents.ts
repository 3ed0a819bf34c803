/**
 * The example multi-agent system: an orchestrator delegates research and risk
 * analysis to two sub-agents in parallel; both call the same `search` tool at the
 * same moments; the researcher delegates claim verification further.
 * This module runs in the workflow sandbox: it imports no I/O.
 */
import { defineAgent, delegate, useTools } from '../workflows';
import type { ExampleTools } from './tools';

const tools = useTools<ExampleTools>();

export const verifier = defineAgent(
  { name: 'verifier', version: '1.0.0', tools: ['search'], resources: ['api:web-search'] },
  async (input: { claim: string }) => {
    const evidence = await tools.search({ query: `evidence: ${input.claim}`, limit: 2 });
    return { claim: input.claim, supported: evidence.length > 0, sources: evidence.map((e) => e.url) };
  },
);

export const researcher = defineAgent(
  { name: 'researcher', version: '1.0.0', tools: ['search'], subAgents: ['verifier'], resources: ['api:web-search'] },
  async (input: { topic: string }) => {
    const hits = await tools.search({ query: `background: ${input.topic}`, limit: 3 });
    const check = await delegate(verifier, {
      objective: `verify the top claim about ${input.topic}`,
      input: { claim: hits[0]?.title ?? input.topic },
    });
    return { topic: input.topic, findings: hits.map((h) => h.title), verified: check.supported };
  },
);

export const analyst = defineAgent(
  { name: 'analyst', version: '1.0.0', tools: ['search'], resources: ['api:web-search'] },
  async (input: { topic: string }) => {
    const hits = await tools.search({ query: `risks: ${input.topic}`, limit: 2 });
    return { topic: input.topic, risks: hits.map((h) => h.title) };
  },
);

export const orchestrator = defineAgent(
  {
    name: 'orchestrator',
    version: '1.0.0',
    description: 'Answers a question by delegating research and risk analysis',
    tools: ['saveNote'],
    subAgents: ['researcher', 'analyst'],
    resources: ['api:web-search', 'db:notes*'],
  },
  async (input: { question: string }) => {
    const [research, risks] = await Promise.all([
      delegate(researcher, { objective: `research: ${input.question}`, input: { topic: input.question } }),
      delegate(analyst, { objective: `analyse the risks of: ${input.question}`, input: { topic: input.question } }),
    ]);
    const note = await tools.saveNote({
      title: input.question,
      body: [...research.findings, ...risks.risks].join('\n'),
    });
    return { question: input.question, verified: research.verified, risks: risks.risks.length, note: note.id };
  },
);
