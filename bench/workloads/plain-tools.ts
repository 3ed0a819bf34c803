/** The workload's tool as a plain activity. */
export async function lookup(query: string): Promise<string> {
  return `r:${query.length}`;
}
export const plainTools = { lookup };
export type PlainTools = typeof plainTools;
