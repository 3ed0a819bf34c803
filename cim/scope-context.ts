/**
 * The schemas workflow code checks values with: the scope context in the
 * `scopetrail-scope` header, a handoff signal's request and the names they hold. They
 * sit apart from the record schemas (cim/schemas.ts), and each is built when first
 * used (see cim/lazy-schema.ts), because every workflow evaluates the modules it imports
 * again: a workflow builds only the schemas it uses. cim/schemas.ts exports them built.
 */
import { z } from 'zod';
import { budgetSchema, budgetSpecSchema } from './budget';
import { lazySchema } from './lazy-schema';

/** Agent names; the store's fast row check (store/row-check.ts) tests the same pattern. */
export const AGENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;

export const agentNameSchema = lazySchema(() =>
  z.string().min(1).max(100).regex(AGENT_NAME_PATTERN, 'agent names are identifiers: a letter, then letters, digits or _'),
);

export const scopeKindSchema = lazySchema(() => z.enum(['root', 'delegation', 'handoff']));
export type ScopeKind = z.infer<ReturnType<typeof scopeKindSchema>>;

/** Lifecycle state of a scope (a scope that handed off is judged by its own work, like any other). */
export const scopeStatusSchema = lazySchema(() => z.enum(['running', 'success', 'degraded', 'error', 'cancelled']));
export type ScopeStatus = z.infer<ReturnType<typeof scopeStatusSchema>>;

export const IDENTIFIER_PATTERN = /^[A-Za-z0-9_.:~@-]+$/;

/** Scope, session and action ids (see cim/ids.ts for how they are made). */
export const identifierSchema = lazySchema(() =>
  z.string().min(1).max(200).regex(IDENTIFIER_PATTERN, 'use letters, digits and _ . : ~ @ - only'),
);

/**
 * A session id, chosen by a caller or generated. It is also the root scope's id and the
 * prefix of every scope id in the session (`<session>.1`, `<session>~1`), so `.` and `~`
 * are refused: session `A.1` would otherwise be the same row as session A's first
 * delegation.
 */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_:@-]{1,150}$/;

export const sessionIdSchema = lazySchema(() =>
  z.string().regex(SESSION_ID_PATTERN, 'use 1-150 letters, digits and _ : @ - (no . or ~: they separate the scope ids of a session)'),
);

export const isoTimeSchema = lazySchema(() => z.string().datetime({ offset: true }));

/**
 * A scope that continues-as-new stays the same scope in its next run: its counters go
 * with it so ids stay unique and its status roll-up sees everything it did.
 */
export const scopeContinuationSchema = lazySchema(() => {
  const Count = z.number().int().min(0);
  return z.object({
    /** 1 for the scope's second run, and so on. */
    run: z.number().int().min(1),
    startedAt: isoTimeSchema(),
    actionSeq: Count,
    childSeq: Count,
    slotSeq: Count,
    llmTurns: Count,
    used: z.object({ turns: Count, tokens: Count }),
    /** A call of an earlier run succeeded after a failed attempt. */
    recoveredCalls: z.boolean(),
    /** Delegation outcomes of earlier runs, the final attempt of each slot. */
    delegations: z.array(z.object({ slot: z.string(), attempt: z.number().int().min(1), status: scopeStatusSchema(), recovered: z.boolean() })),
  });
});
export type ScopeContinuation = z.infer<ReturnType<typeof scopeContinuationSchema>>;

/**
 * The scope context that travels in the `scopetrail-scope` Temporal header from a
 * delegator to its child workflow, from a workflow to each activity it schedules,
 * and across continue-as-new for handoffs. Payload codecs never see headers, so it
 * holds only identifiers, counters and the allowance the code declared: the user's
 * words (a delegation's objective, a handoff's reason) travel in the memo, which a
 * codec encodes (see OBJECTIVE_MEMO).
 */
export const scopeContextSchema = lazySchema(() => {
  const Identifier = identifierSchema();
  const AgentName = agentNameSchema();
  return z.object({
    sessionId: Identifier,
    scopeId: Identifier,
    parentScopeId: Identifier.nullable(),
    handoffFromScopeId: Identifier.nullable(),
    kind: scopeKindSchema(),
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
    budget: budgetSchema().nullable().default(null),
    /** Set when the scope continues in a later run of its workflow (a long-running agent): what it carries over. */
    continuation: scopeContinuationSchema().optional(),
    /**
     * When the session's root started: where the session's rows are kept (the store
     * partitions by its month). Absent in contexts of runs started before it existed.
     */
    sessionStartedAt: isoTimeSchema().optional(),
    /**
     * An earlier scope of this handoff chain recovered from a failure: the chain's result says
     * so to whoever delegated it, which sees only the last scope's. Absent when none did.
     */
    chainRecovered: z.literal(true).optional(),
  });
});
export type ScopeContext = z.infer<ReturnType<typeof scopeContextSchema>>;

/** What a `handoff` signal carries: which agent should take over, why, and with what input. */
export const handoffRequestSchema = lazySchema(() =>
  z.object({
    to: agentNameSchema(),
    reason: z.string().min(1, 'say why control is handed off').max(2000),
    input: z.unknown().optional(),
  }),
);
export type HandoffRequest = z.infer<ReturnType<typeof handoffRequestSchema>>;

/** The fields `delegate()` takes: delegateOptionsSchema's, named without building it. */
export const DELEGATE_OPTION_KEYS: readonly string[] = ['objective', 'input', 'allowance', 'budget', 'attempts', 'workflowOptions'];

/**
 * What `delegate()` is asked for, checked before anything starts: agent code in plain
 * JavaScript (or a model's arguments) can pass anything, and an allowance given as a
 * string would otherwise be read character by character, `*` among them.
 */
export const delegateOptionsSchema = lazySchema(() =>
  // Strict: a mistyped `atempts` or `alowance` would otherwise run the delegation without it.
  z.strictObject({
    // The scope's mandate in the delegator's words: an empty one records a delegation nobody can read.
    objective: z.string().max(10_000).refine((o) => o.trim().length > 0, 'say what the delegate is to achieve'),
    input: z.unknown(),
    allowance: z.array(z.string().min(1)).optional(),
    budget: budgetSpecSchema().optional(),
    attempts: z.number().int().min(1).max(100).optional(),
    workflowOptions: z.record(z.string(), z.unknown()).optional(),
  }),
);
