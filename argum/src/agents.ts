// Agents run in Temporal's deterministic sandbox: import only scopetrail/workflow here.
import { defineAgent, delegate, llm, useTools, DelegationError } from 'scopetrail/workflow';
import type { StarterTools } from './tools.js';

const tools = useTools<StarterTools>({ retry: { maximumAttempts: 3 } });

export const escalator = defineAgent(
  { name: 'escalator', version: '0.1.0', tools: ['notifyOnCall'], resources: ['api:pager'] },
  async (input: { ticket: string }) => (await tools.notifyOnCall({ ticket: input.ticket, note: 'high priority' })).sent,
);

export const triage = defineAgent(
  { name: 'triage', version: '0.1.0', tools: ['lookupTicket', 'llm'], subAgents: ['escalator'] },
  async (input: { ticket: string }) => {
    const found = await tools.lookupTicket({ ticket: input.ticket });
    let escalated = false;
    if (found.priority === 'high') {
      try {
        escalated = await delegate(escalator, { objective: `page on-call for ${found.ticket}`, input: { ticket: found.ticket } });
      } catch (err) {
        if (!(err instanceof DelegationError)) throw err;
      }
    }
    const summary = await llm({ messages: [{ role: 'user', content: `summarize ${found.ticket}` }] });
    return { ticket: found.ticket, escalated, summary: summary.text };
  },
);
