/**
 * Result envelopes. An agent's workflow result carries its rolled-up status so the
 * delegator can fold it into its own roll-up without a store round trip; a tool's
 * activity result carries the attempt that produced it so a retried-then-successful
 * call is known to the workflow as a recovery. Both are unwrapped before user code
 * sees the value.
 */
import type { ActionRecord, ResourceRef, ScopeStatus } from './schemas';
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
const RELAY_KEY = '$scopetrailRelay';

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
 * An attempt's records that went to its worker's spool instead of the store. The
 * workflow writes them again through its own worker (emitRelay in workflows/scope-state.ts): a scope is
 * sealed once its end reaches the store, and the end is written by the workflow's
 * worker, which may reach the store while the tool's worker is still cut off from it.
 * Written by both, they are one row with the same content.
 */
export interface ToolRelay {
  actions?: ActionRecord[];
  gaps?: ActionRecord[];
  /** Set for a local activity's attempt: what the workflow cannot learn from Temporal about it. */
  local?: LocalCallEnd;
}

export interface LocalCallEnd {
  /**
   * The attempt's end as its row has it. Temporal moves the workflow's clock on by the
   * call's run time only, from the workflow task's start, so without it what the agent
   * records next could be timed before the call it followed (workflows/scope-state.ts now()).
   */
  endedAt: string;
  /**
   * The attempt's activity id as Temporal gave it: a local call's failure reaches the
   * workflow as the tool's own, naming no activity, and a retry after a timer runs under
   * a new id, so the workflow learns which id failed from here.
   */
  activityId: string;
}

/**
 * A tool's envelope also carries the resources the attempt touched (declared and
 * reported), so Temporal history holds them: reconcile can then prove what the store
 * says a tool touched, not only that it ran.
 */
export function wrapToolResult(value: unknown, attempt: number, resources?: readonly ResourceRef[], relay?: ToolRelay): unknown {
  const meta: { attempt: number; resources?: readonly ResourceRef[]; relay?: ToolRelay } = resources ? { attempt, resources } : { attempt };
  if (relay) meta.relay = relay;
  return { [TOOL_KEY]: meta, value };
}

export function unwrapToolResult(result: unknown): { value: unknown; attempt: number; resources?: ResourceRef[]; relay?: ToolRelay } {
  if (result && typeof result === 'object' && TOOL_KEY in result) {
    const r = result as { [TOOL_KEY]: { attempt: number; resources?: ResourceRef[]; relay?: ToolRelay }; value: unknown };
    const { attempt, resources, relay } = r[TOOL_KEY];
    return { value: r.value, attempt, resources, ...(relay ? { relay } : {}) };
  }
  return { value: result, attempt: 1 };
}

/**
 * A failed attempt's relay travels as one more detail of the failure Temporal records
 * (an ApplicationFailure's `details`), since a failure has no result to wrap. The
 * workflow takes it off before user code sees the failure (workflows/failure-relay.ts).
 */
export function relayDetail(relay: ToolRelay): unknown {
  return { [RELAY_KEY]: relay };
}

export function isRelayDetail(detail: unknown): detail is { [RELAY_KEY]: ToolRelay } {
  return detail !== null && typeof detail === 'object' && RELAY_KEY in detail;
}

/** The relay among a failure's details, and the details without it (and without any other relay). */
export function splitRelayDetails(details: readonly unknown[]): { relay?: ToolRelay; rest: unknown[] } {
  let relay: ToolRelay | undefined;
  const rest: unknown[] = [];
  for (const d of details) {
    if (!isRelayDetail(d)) rest.push(d);
    else if (relay === undefined) relay = d[RELAY_KEY];
  }
  return relay ? { relay, rest } : { rest };
}
