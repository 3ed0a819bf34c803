/** The same workload as scopetrail agents: each level is an agent, each delegation a scope. */
import { defineAgent, delegate, useLocalTools, useTools } from '../../workflows';
import { SHORT_TOOLS, TREE } from './shape';
import type { BenchTools } from './scopetrail-tools';

const tools = useTools<BenchTools>({ startToCloseTimeout: '1 minute' });
const localTools = useLocalTools<BenchTools>({ startToCloseTimeout: '1 minute' });

async function work(level: number, query: string): Promise<string[]> {
  const found: string[] = [];
  for (let i = 0; i < TREE[level]!.tools; i++) found.push(await tools.lookup({ query: `${query}/${level}/${i}` }));
  return found;
}

export const benchLeaf = defineAgent(
  { name: 'benchLeaf', version: '1.0.0', tools: ['lookup'] },
  async (input: { query: string }) => (await work(2, input.query)).join(','),
);

export const benchMiddle = defineAgent(
  { name: 'benchMiddle', version: '1.0.0', tools: ['lookup'], subAgents: ['benchLeaf'] },
  async (input: { query: string }) => {
    const found = await work(1, input.query);
    const children = await Promise.all(
      Array.from({ length: TREE[1].children }, (_, n) =>
        delegate(benchLeaf, { objective: `leaf ${n + 1}`, input: { query: `${input.query}.${n + 1}` } }),
      ),
    );
    return [...found, ...children].join(',').slice(0, 200);
  },
);

export const benchOrchestrator = defineAgent(
  { name: 'benchOrchestrator', version: '1.0.0', tools: ['lookup'], subAgents: ['benchMiddle'] },
  // `subAgentQueue`: the sub-agents' own task queue (the scale-out benchmark's agent groups);
  // a child inherits its parent's queue, so the leaves follow their middle agent there.
  async (input: { query: string; subAgentQueue?: string }) => {
    const found = await work(0, input.query);
    const workflowOptions = input.subAgentQueue ? { taskQueue: input.subAgentQueue } : undefined;
    const children = await Promise.all(
      Array.from({ length: TREE[0].children }, (_, n) =>
        delegate(benchMiddle, { objective: `part ${n + 1}`, input: { query: `${input.query}.${n + 1}` }, ...(workflowOptions ? { workflowOptions } : {}) }),
      ),
    );
    return [...found, ...children].join(',').slice(0, 200);
  },
);

export const benchShort = defineAgent(
  { name: 'benchShort', version: '1.0.0', tools: ['lookup'] },
  async (input: { query: string }) => {
    const found: string[] = [];
    for (let i = 0; i < SHORT_TOOLS; i++) found.push(await tools.lookup({ query: `${input.query}/${i}` }));
    return found.join(',');
  },
);

/** One tool call: the leaves of the reconcile benchmark's 1 000-scope session. */
export const benchTiny = defineAgent(
  { name: 'benchTiny', version: '1.0.0', tools: ['lookup'] },
  async (input: { query: string }) => tools.lookup({ query: input.query }),
);

/** Delegates to `count` tiny agents, `parallel` at a time: a session of count + 1 scopes. */
export const benchFanout = defineAgent(
  { name: 'benchFanout', version: '1.0.0', tools: ['lookup'], subAgents: ['benchTiny'] },
  async (input: { count: number; parallel: number }) => {
    let done = 0;
    for (let start = 0; start < input.count; start += input.parallel) {
      const wave = Array.from({ length: Math.min(input.parallel, input.count - start) }, (_, i) =>
        delegate(benchTiny, { objective: `item ${start + i + 1}`, input: { query: `item-${start + i + 1}` } }),
      );
      done += (await Promise.all(wave)).length;
    }
    return done;
  },
);

/** `calls` lookups one after another, as activities or as local activities (bench/local-tools.ts). */
export const benchSequence = defineAgent(
  { name: 'benchSequence', version: '1.0.0', tools: ['lookup'] },
  async (input: { query: string; calls: number; local: boolean }) => {
    const caller = input.local ? localTools : tools;
    let last = '';
    for (let i = 0; i < input.calls; i++) last = await caller.lookup({ query: `${input.query}/${i}` });
    return last;
  },
);
