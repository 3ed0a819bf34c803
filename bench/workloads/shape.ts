/**
 * The benchmark workload's shape, shared by the plain-Temporal and scopetrail versions
 * so both do the same work: an orchestrator delegating to sub-agents that call tools
 * and delegate further (depth 3, 10 scopes, 51 actions), and a short session.
 */
export const TREE = [
  { tools: 3, children: 3 },
  { tools: 3, children: 2 },
  { tools: 5, children: 0 },
] as const;

/** Actions per tree session: tool calls plus delegations. */
export const TREE_ACTIONS = 3 + 3 + 3 * (3 + 2) + 6 * 5;
export const SHORT_TOOLS = 2;
export const SHORT_ACTIONS = SHORT_TOOLS;
