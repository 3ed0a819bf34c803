/** The workload's tool as a scopetrail tool (zod-checked, declared resource). */
import { z } from 'zod';
import { defineTool as sourcesDefineTool } from '../../activities';

/** The tools made with `defineTool` of the package the worker runs (sources, or compiled: bench/lib/compiled-sandbox.ts). */
export function makeBenchTools(defineTool: typeof sourcesDefineTool) {
  const lookup = defineTool(
  {
    name: 'lookup',
    description: 'Look a query up (answers at once: the benchmark measures the runtime, not the tool)',
    input: z.object({ query: z.string().min(1) }),
    output: z.string(),
    resources: [{ uri: 'db:bench', mode: 'read' }],
  },
  async (input) => `r:${input.query.length}`,
  );
  return { lookup };
}
export const benchTools = makeBenchTools(sourcesDefineTool);
export type BenchTools = typeof benchTools;
