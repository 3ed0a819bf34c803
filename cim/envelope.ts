/**
 * Result envelopes. An agent's workflow result carries its rolled-up status so the
 * delegator can fold it into its own roll-up without a store round trip; a tool's
 * activity result carries the attempt that produced it so a retried-then-successful
 * call is known to the workflow as a recovery. Both are unwrapped before user code
 * sees the value.
 */
import type { ResourceRef, ScopeStatus } from './schemas';
import type { BudgetUsage } from './budget';

export interface AgentMeta {
  scopeId: string;
  status: ScopeStatus;
  recovered: boolean;
  /** Model turns and tokens the scope's subtree spent (charged to the delegator's budget). */
  used?: BudgetUsage;
}

const AGENT_KEY = '$scopetrail';
const TOOL_KEY = '$scopetrailTool';

export function wrapAgentResult(value: unknown, meta: AgentMeta): unknown {
  return { [AGENT_KEY]: meta, value };
}

export function unwrapAgentResult(result: unknown): { value: unknown; meta?: AgentMeta } {
  if (result && typeof result === 'object' && AGENT_KEY in result) {
    const r = result as { [AGENT_KEY]: AgentMeta; value: unknown };
    return { value: r.value, meta: r[AGENT_KEY] };
  }
  return { value: result };
}

/**
 * A tool's envelope also carries the resources the attempt touched (declared and
 * reported), so Temporal history holds them: reconcile can then prove what the store
 * says a tool touched, not only that it ran.
 */
export function wrapToolResult(value: unknown, attempt: number, resources?: readonly ResourceRef[]): unknown {
  return { [TOOL_KEY]: resources ? { attempt, resources } : { attempt }, value };
}

export function unwrapToolResult(result: unknown): { value: unknown; attempt: number; resources?: ResourceRef[] } {
  if (result && typeof result === 'object' && TOOL_KEY in result) {
    const r = result as { [TOOL_KEY]: { attempt: number; resources?: ResourceRef[] }; value: unknown };
    return { value: r.value, attempt: r[TOOL_KEY].attempt, resources: r[TOOL_KEY].resources };
  }
  return { value: result, attempt: 1 };
}
