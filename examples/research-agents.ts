/**
 * A model-driven research team (`scopetrail run research`): the model of each agent
 * decides which tools to call, whom to delegate to and when to hand off. The lead
 * splits the question among scouts and a fact checker running in parallel, tries a
 * translation service that is down, and hands the conversation to the editor.
 */
import { defineModelAgent } from '../workflows/model-agent';

const tools = { retry: { maximumAttempts: 3, initialInterval: '100ms', backoffCoefficient: 1 } };

export const lead = defineModelAgent({
  name: 'lead',
  version: '1.0.0',
  description: 'Leads the research: splits the question, checks facts, hands over to the editor',
  instructions:
    'You lead a research team. Delegate background research to scouts and claim checking to the fact checker, ' +
    'in parallel where you can. Translate the question for international sources if possible. ' +
    'When the research is in, hand the conversation to the editor.',
  tools: ['translate'],
  subAgents: ['scout', 'factChecker'],
  handoffs: ['editor'],
  maxTurns: 6,
  budget: { turns: 40 },
  toolActivity: tools,
});

export const scout = defineModelAgent({
  name: 'scout',
  version: '1.0.0',
  description: 'Searches and reads sources for one objective',
  instructions: 'Search for sources on your objective, read the best one, and summarise what it says.',
  tools: ['search', 'fetchPage'],
  maxTurns: 5,
  resources: ['api:web-search', 'api:http-fetch', 'web:*', 'llm:*'],
  toolActivity: tools,
});

export const factChecker = defineModelAgent({
  name: 'factChecker',
  version: '1.0.0',
  description: 'Checks one claim against the search index',
  instructions: 'Check the claim you are given against independent sources and say whether it holds.',
  tools: ['search'],
  maxTurns: 3,
  toolActivity: tools,
});

export const editor = defineModelAgent({
  name: 'editor',
  version: '1.0.0',
  description: 'Writes the final answer from the conversation and files it',
  instructions: 'Write the final answer from the research in the conversation and save it as a note.',
  tools: ['saveNote'],
  maxTurns: 3,
  toolActivity: tools,
});
