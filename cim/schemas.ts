/**
 * The common information model (CIM): every record scopetrail writes or reads is
 * one of these schemas. This module is pure (zod only) so it can run inside the
 * workflow sandbox, the worker, the store and the client alike. Workflow code imports
 * only the parts it checks values with (cim/scope-context.ts, cim/manifest.ts): every
 * workflow evaluates its modules anew, and the record schemas are for the worker.
 */
import { z } from 'zod';
import {
  agentNameSchema,
  handoffRequestSchema,
  identifierSchema,
  isoTimeSchema,
  scopeContextSchema,
  scopeContinuationSchema,
  scopeKindSchema,
  scopeStatusSchema,
  sessionIdSchema,
} from './scope-context';
import { manifestSchema, subAgentRefSchema, toolNameSchema } from './manifest';
import { typedLengthChecks } from './typed-length-checks';

export const AgentName = agentNameSchema();
export const SessionId = sessionIdSchema();
export const ToolName = toolNameSchema();

export const SubAgentRef = subAgentRefSchema();
export type SubAgentRef = z.infer<typeof SubAgentRef>;

export const Manifest = manifestSchema();
export type Manifest = z.infer<typeof Manifest>;
export type ManifestInput = z.input<typeof Manifest>;

export const ScopeKind = scopeKindSchema();
export type ScopeKind = z.infer<typeof ScopeKind>;

export const ScopeStatus = scopeStatusSchema();
export type ScopeStatus = z.infer<typeof ScopeStatus>;

export const ScopeContinuation = scopeContinuationSchema();
export type ScopeContinuation = z.infer<typeof ScopeContinuation>;

export const ScopeContext = scopeContextSchema();
export type ScopeContext = z.infer<typeof ScopeContext>;

export const HandoffRequest = handoffRequestSchema();
export type HandoffRequest = z.infer<typeof HandoffRequest>;

const Identifier = identifierSchema();
const IsoTime = isoTimeSchema();

export const ResourceMode = z.enum(['read', 'write', 'share']);
export type ResourceMode = z.infer<typeof ResourceMode>;

/** A resource an action touched, e.g. `{ uri: 'api:web-search', mode: 'read' }`. */
export const ResourceRef = z.object({
  uri: z.string().min(1, 'resource uri must not be empty'),
  mode: ResourceMode,
});
export type ResourceRef = z.infer<typeof ResourceRef>;

export const ActionKind = z.enum(['tool_call', 'llm_call', 'delegate', 'handoff', 'signal', 'denied', 'budget_exceeded']);
export type ActionKind = z.infer<typeof ActionKind>;

export const ActionStatus = z.enum(['running', 'success', 'error', 'cancelled', 'denied']);
export type ActionStatus = z.infer<typeof ActionStatus>;

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

/** Calls a run left running when it ended (ScopeRecord.openCalls). */
export const OpenCalls = z.object({
  activityIds: z.array(z.string().min(1).max(1_000)).min(1).max(10_000),
  until: IsoTime,
});
export type OpenCalls = z.infer<typeof OpenCalls>;

export const ScopeRecord = typedLengthChecks(ScopeContext.omit({ handoffIndex: true, visibility: true, budget: true, continuation: true, chainRecovered: true }).extend({
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
  /**
   * What failed the scope, bound when it failed (workflows/failure-source.ts): the scope's own id
   * when its agent's code threw, a delegation's scope id when that delegation's failure
   * passed up, a call's activity id when a tool or model call's did. Absent when the scope
   * did not fail by itself, and in rows written before it was recorded.
   */
  failedBy: z.string().min(1).optional(),
  /**
   * Tool and model calls the run left running when it ended (its code returned, failed or
   * handed off without awaiting them): their activity ids, and the latest time the attempt
   * in flight can end (its start-to-close deadline counted from the run's end, or its call's
   * schedule-to-close deadline if sooner). Their ends are recorded after the scope's, so the
   * scope is sealed once each has one, or from that time on (store/seal.ts). Absent when the
   * run awaited every call it made.
   */
  openCalls: OpenCalls.optional(),
}));
export type ScopeRecord = z.infer<typeof ScopeRecord>;

export const ActionRecord = typedLengthChecks(z.object({
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
}));
export type ActionRecord = z.infer<typeof ActionRecord>;

export { HANDOFF_SIGNAL } from './names';
