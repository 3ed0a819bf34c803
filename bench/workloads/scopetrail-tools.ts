/** The workload's tool as a scopetrail tool (zod-checked, declared resource). */
import { z } from 'zod';
import { defineTool } from '../../activities';

export const lookup = defineTool(
  {
    name: 'lookup',
    description: 'Look a query up (answers at once: the benchmark measures the runtime, not the tool)',
    input: z.object({ query: z.string().min(1) }),
    output: z.string(),
    resources: [{ uri: 'db:bench', mode: 'read' }],
  },
  async (input) => `r:${input.query.length}`,
);
export const benchTools = { lookup };
export type BenchTools = typeof benchTools;
