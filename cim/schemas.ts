/**
 * The common information model (CIM): every record scopetrail writes or reads is
 * one of these schemas. This module is pure (zod only) so it can run inside the
 * workflow sandbox, the worker, the store and the client alike.
 */
import { z } from 'zod';
import { Budget, BudgetSpec } from './budget';

export const ResourceMode = z.enum(['read', 'write', 'share']);
export type ResourceMode = z.infer<typeof ResourceMode>;

/** A resource an action touched, e.g. `{ uri: 'api:web-search', mode: 'read' }`. */
export const ResourceRef = z.object({
  uri: z.string().min(1, 'resource uri must not be empty'),
  mode: ResourceMode,
});
export type ResourceRef = z.infer<typeof ResourceRef>;

export const ScopeKind = z.enum(['root', 'delegation', 'handoff']);
export type ScopeKind = z.infer<typeof ScopeKind>;

/** Lifecycle state of a scope (a scope that handed off is judged by its own work, like any other). */
export const ScopeStatus = z.enum(['running', 'success', 'degraded', 'error', 'cancelled']);
export type ScopeStatus = z.infer<typeof ScopeStatus>;

export const ActionKind = z.enum(['tool_call', 'llm_call', 'delegate', 'handoff', 'signal', 'denied', 'budget_exceeded']);
export type ActionKind = z.infer<typeof ActionKind>;

export const ActionStatus = z.enum(['running', 'success', 'error', 'cancelled', 'denied']);
export type ActionStatus = z.infer<typeof ActionStatus>;

const Identifier = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:~@-]+$/, 'use letters, digits and _ . : ~ @ - only');

export const AgentName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'agent names are identifiers: a letter, then letters, digits or _');

/**
 * A session id, chosen by a caller or generated. It is also the root scope's id and the
 * prefix of every scope id in the session (`<session>.1`, `<session>~1`), so `.` and `~`
 * are refused: session `A.1` would otherwise be the same row as session A's first
 * delegation.
 */
export const SessionId = z
  .string()
  .regex(/^[A-Za-z0-9_:@-]{1,150}$/, 'use 1-150 letters, digits and _ : @ - (no . or ~: they separate the scope ids of a session)');

/**
 * A tool's name: its Temporal activity type and the `name` of its actions. Dotted,
 * dashed and slashed names (`db.read`, `github/search-issues`) are common for tools
 * that stand for a remote API; a leading letter keeps clear of Temporal's reserved
 * `__` prefixes.
 */
export const ToolName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.\/:-]{0,199}$/, 'a letter, then up to 199 letters, digits or _ . / : -');

/** A declared sub-agent: an agent name, optionally pinned to one version as `name@version`. */
export const SubAgentRef = z
  .string()
  .max(151)
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,99}(@[^@\s]{1,50})?$/, 'sub-agents are agent names, optionally pinned as name@version');
export type SubAgentRef = z.infer<typeof SubAgentRef>;

/** What an agent declares about itself; upserted into the store when a worker starts. */
export const Manifest = z.object({
  name: AgentName,
  version: z.string().min(1).max(50),
  description: z.string().max(2000).optional(),
  tools: z.array(z.string().min(1)).default([]),
  subAgents: z.array(SubAgentRef).default([]),
  /** Agents it may hand control to (declared by model-driven agents, which offer them to their model). */
  handoffs: z.array(AgentName).optional(),
  /** Model turns, tokens and wall time the agent's scope (with its delegates) may spend. */
  budget: BudgetSpec.optional(),
  /** The model a model-driven agent asks for (the worker's provider decides when absent). */
  model: z.string().min(1).max(200).optional(),
  /**
   * Resource URIs (or prefixes ending in `*`) the agent may touch. Omitted: unrestricted
   * (only narrowed by its delegators); `[]`: may touch nothing.
   */
  resources: z.array(z.string().min(1)).optional(),
});
export type Manifest = z.infer<typeof Manifest>;
export type ManifestInput = z.input<typeof Manifest>;

const IsoTime = z.string().datetime({ offset: true });
const Count = z.number().int().min(0);

/**
 * A scope that continues-as-new stays the same scope in its next run: its counters go
 * with it so ids stay unique and its status roll-up sees everything it did.
 */
export const ScopeContinuation = z.object({
  /** 1 for the scope's second run, and so on. */
  run: z.number().int().min(1),
  startedAt: IsoTime,
  actionSeq: Count,
  childSeq: Count,
  slotSeq: Count,
  llmTurns: Count,
  used: z.object({ turns: Count, tokens: Count }),
  /** A call of an earlier run succeeded after a failed attempt. */
  recoveredCalls: z.boolean(),
  /** Delegation outcomes of earlier runs, the final attempt of each slot. */
  delegations: z.array(z.object({ slot: z.string(), attempt: z.number().int().min(1), status: ScopeStatus, recovered: z.boolean() })),
});
export type ScopeContinuation = z.infer<typeof ScopeContinuation>;

/**
 * The scope context that travels in the `scopetrail-scope` Temporal header from a
 * delegator to its child workflow, from a workflow to each activity it schedules,
 * and across continue-as-new for handoffs. Payload codecs never see headers, so it
 * holds only identifiers, counters and the allowance the code declared: the user's
 * words (a delegation's objective, a handoff's reason) travel in the memo, which a
 * codec encodes (see OBJECTIVE_MEMO).
 */
export const ScopeContext = z.object({
  sessionId: Identifier,
  scopeId: Identifier,
  parentScopeId: Identifier.nullable(),
  handoffFromScopeId: Identifier.nullable(),
  kind: ScopeKind,
  agent: AgentName,
  agentVersion: z.string().min(1),
  delegatedBy: AgentName.nullable(),
  allowance: z.array(z.string()).nullable(),
  depth: z.number().int().min(0),
  /** Materialized path of scope ids from the top of this delegation tree, `/a/b/c/`. */
  path: z.string().min(3),
  /** Number of handoffs before this scope in its workflow's continue-as-new chain. */
  handoffIndex: z.number().int().min(0),
  /** Whether the server has scopetrail's search attributes, so scopes may set them. */
  visibility: z.boolean().default(false),
  /** What the scope may still spend (turns, tokens, a deadline); null: unlimited. */
  budget: Budget.nullable().default(null),
  /** Set when the scope continues in a later run of its workflow (a long-running agent): what it carries over. */
  continuation: ScopeContinuation.optional(),
  /**
   * When the session's root started: where the session's rows are kept (the store
   * partitions by its month). Absent in contexts of runs started before it existed.
   */
  sessionStartedAt: IsoTime.optional(),
});
export type ScopeContext = z.infer<typeof ScopeContext>;

/**
 * The Temporal Worker Deployment Version of the worker that wrote a record (see
 * docs/deployment.md, "Upgrading agents while sessions run"). Absent for a worker
 * without one, and in rows written before it was recorded: absent fields stay out of a
 * record's canonical JSON, so chains sealed before stay valid.
 */
const WorkerFields = {
  workerDeployment: z.string().min(1).max(255).optional(),
  workerBuildId: z.string().min(1).max(255).optional(),
};
/** Longest objective a caller may give (a delegation's objective, a handoff's reason). */
export const MAX_OBJECTIVE = 10_000;

export const ScopeRecord = ScopeContext.omit({ handoffIndex: true, visibility: true, budget: true, continuation: true }).extend({
  /**
   * What the scope was asked to do. Stored encoded with the workers' payload codec when
   * they have one (see cim/encoded-text.ts), hence the room above MAX_OBJECTIVE.
   */
  objective: z.string().max(20 * MAX_OBJECTIVE).nullable(),
  namespace: z.string().min(1),
  status: ScopeStatus,
  recovered: z.boolean(),
  error: z.string().nullable(),
  startedAt: IsoTime,
  endedAt: IsoTime.nullable(),
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  /** The worker that executed the run in `runId` (its workflow task that wrote this record). */
  ...WorkerFields,
});
export type ScopeRecord = z.infer<typeof ScopeRecord>;

export const ActionRecord = z.object({
  actionId: z.string().min(1),
  scopeId: Identifier,
  sessionId: Identifier,
  namespace: z.string().min(1),
  agent: AgentName,
  kind: ActionKind,
  /** Tool name, target agent, or signal name. */
  name: z.string().min(1),
  attempt: z.number().int().min(1),
  resources: z.array(ResourceRef),
  inputDigest: z.string().nullable(),
  outputDigest: z.string().nullable(),
  status: ActionStatus,
  error: z.string().nullable(),
  startedAt: IsoTime,
  endedAt: IsoTime.nullable(),
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  activityId: z.string().nullable(),
  /** Scope id this action created (a delegation's child scope, a handoff's target scope). */
  targetScopeId: z.string().nullable(),
  /** Kind-specific facts, e.g. an LLM call's model and token counts. */
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
  /**
   * The worker that did it: for a tool or LLM attempt the worker that ran the activity,
   * for a workflow-side action the worker whose workflow task emitted it.
   */
  ...WorkerFields,
  /** The session's start (see ScopeContext): where the row is kept, not part of what the hash chain covers. */
  sessionStartedAt: IsoTime.optional(),
});
export type ActionRecord = z.infer<typeof ActionRecord>;

/** What a `handoff` signal carries: which agent should take over, why, and with what input. */
export const HandoffRequest = z.object({
  to: AgentName,
  reason: z.string().min(1, 'say why control is handed off').max(2000),
  input: z.unknown().optional(),
});
export type HandoffRequest = z.infer<typeof HandoffRequest>;

export { HANDOFF_SIGNAL } from './names';
