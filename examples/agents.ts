/**
 * The example multi-agent system. An orchestrator delegates, in parallel, research
 * (which delegates claim verification, which delegates finding a citation), risk analysis (whose page fetch
 * fails once and recovers) and translation (which fails for good: the orchestrator
 * carries on degraded). Both the researcher and the analyst call `search` at the
 * same moments. The orchestrator then summarizes with an LLM and hands off to a
 * reviewer, a peer that finishes the session.
 * This module runs in the workflow sandbox: it imports no I/O.
 */
import { DelegationError, checkpoint, defineAgent, delegate, handoff, llm, useTools } from '../workflows';
import type { ExampleTools } from './tools';

// Short timeouts: every tool answers in well under a second, so an attempt lost with
// its worker is retried after 10 s rather than the default minute.
const tools = useTools<ExampleTools>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '100ms', backoffCoefficient: 1 },
});
const LLM_OPTIONS = { startToCloseTimeout: '10s' } as const;

export const citer = defineAgent(
  { name: 'citer', version: '1.0.0', tools: ['fetchPage'], resources: ['api:http-fetch', 'web:*'] },
  async (input: { url: string }) => {
    const page = await tools.fetchPage({ url: input.url });
    return { citation: page.url };
  },
);

export const verifier = defineAgent(
  {
    name: 'verifier',
    version: '1.0.0',
    tools: ['search'],
    subAgents: ['citer'],
    resources: ['api:web-search', 'api:http-fetch', 'web:*'],
  },
  async (input: { claim: string }) => {
    const evidence = await tools.search({ query: `evidence: ${input.claim}`, limit: 2 });
    const cited = await delegate(citer, { objective: 'find a citable source', input: { url: evidence[0]!.url } });
    return { claim: input.claim, supported: evidence.length > 0, sources: [cited.citation] };
  },
);

export const researcher = defineAgent(
  {
    name: 'researcher',
    version: '1.0.0',
    tools: ['search'],
    subAgents: ['verifier'],
    resources: ['api:web-search', 'api:http-fetch', 'web:*'],
  },
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
  {
    name: 'analyst',
    version: '1.0.0',
    tools: ['search', 'fetchPage'],
    resources: ['api:web-search', 'api:http-fetch', 'web:*'],
  },
  async (input: { topic: string }) => {
    const hits = await tools.search({ query: `risks: ${input.topic}`, limit: 2 });
    const page = await tools.fetchPage({ url: hits[0]!.url });
    return { topic: input.topic, risks: hits.map((h) => h.title), read: page.bytes };
  },
);

export const translator = defineAgent(
  { name: 'translator', version: '1.0.0', tools: ['translate'], resources: ['api:translation'] },
  async (input: { text: string; to: string }) => {
    return tools.translate({ text: input.text, to: input.to });
  },
);

export const reviewer = defineAgent(
  { name: 'reviewer', version: '1.0.0', tools: ['saveNote', 'llm'], resources: ['db:notes*', 'llm:*'] },
  async (input: { question: string; draft: string }) => {
    const review = await llm({
      activity: LLM_OPTIONS,
      messages: [
        { role: 'system', content: 'You review answers for accuracy.' },
        { role: 'user', content: input.draft },
      ],
    });
    const note = await tools.saveNote({ title: input.question, body: review.text });
    return { question: input.question, answer: review.text, note: note.id };
  },
);

export const orchestrator = defineAgent(
  {
    name: 'orchestrator',
    version: '1.0.0',
    description: 'Answers a question by delegating research, risk analysis and translation',
    tools: ['llm'],
    subAgents: ['researcher', 'analyst', 'translator'],
    handoffs: ['reviewer'],
    resources: ['api:web-search', 'api:http-fetch', 'web:*', 'api:translation', 'db:notes*', 'llm:*'],
  },
  async (input: { question: string; language?: string }) => {
    const [research, risks, translation] = await Promise.all([
      delegate(researcher, { objective: `research: ${input.question}`, input: { topic: input.question } }),
      delegate(analyst, { objective: `analyse the risks of: ${input.question}`, input: { topic: input.question } }),
      delegate(translator, {
        objective: `translate the question into ${input.language ?? 'de'}`,
        input: { text: input.question, to: input.language ?? 'de' },
      }).catch((err: unknown) => {
        // A failed delegation is an outcome the orchestrator can live with: the session degrades.
        if (err instanceof DelegationError) return undefined;
        throw err;
      }),
    ]);
    const summary = await llm({
      activity: LLM_OPTIONS,
      messages: [
        { role: 'system', content: 'Summarize findings for the user.' },
        { role: 'user', content: [...research.findings, ...risks.risks].join('\n') },
      ],
    });
    await checkpoint();
    return handoff(reviewer, {
      reason: 'final review before answering',
      input: {
        question: input.question,
        draft: `${summary.text}${translation ? `\n(${translation.text})` : ''}${research.verified ? '' : ' [unverified]'}`,
      },
    });
  },
);
