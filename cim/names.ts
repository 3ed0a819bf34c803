/**
 * Every name scopetrail gives a Temporal object, in one place: the header that carries
 * the scope, the memo and search-attribute keys, the handoff signal and the `llm`
 * activity (the shape of its result is in cim/llm-result.ts). Workflow code, workers,
 * clients and reconcile all meet on these strings, so none of them spells one itself.
 */

/** The header every child workflow start, activity schedule and signal carries the scope in. */
export const SCOPE_HEADER = 'scopetrail-scope';

/** Memo keys a session's root workflow is started with, and each scope's own record. */
export const OBJECTIVE_MEMO = 'scopetrail.objective';
export const VISIBILITY_MEMO = 'scopetrail.visibility';
export const SCOPE_MEMO = 'scopetrail.scope';
/**
 * Which store the session's client reads (store/store-mark.ts): a worker that finds the session's
 * root closed before any of its code ran writes its row only into that store, not into every store
 * whose workers share the namespace.
 */
export const STORE_MEMO = 'scopetrail.store';

/**
 * The agent version a scope's context carries until its own run says which version it is
 * (a delegator or a handoff cannot know), and that a row written from history keeps for a
 * scope whose run Temporal closed before any of its code ran.
 */
export const UNKNOWN_AGENT_VERSION = 'unknown';

/** The Keyword search attributes scopetrail publishes each scope under. */
export const SEARCH_ATTRIBUTES = ['ScopetrailSession', 'ScopetrailScope', 'ScopetrailAgent'] as const;

/**
 * The KeywordList search attribute seal anchors list their sessions under, so that one
 * anchor can hold the seals of several sessions (cim/seal-sets.ts). Optional: without it
 * each session's seals have anchors of their own.
 */
export const SEALED_SESSIONS_ATTRIBUTE = 'ScopetrailSealedSessions';

/** temporal.api.enums.v1.IndexedValueType values of the types scopetrail registers. */
export const INDEXED_VALUE_TYPE = { Keyword: 2, KeywordList: 7 } as const;

/** Every search attribute scopetrail registers where it sets up a namespace, with its type. */
export const REGISTERED_SEARCH_ATTRIBUTES: ReadonlyArray<{ name: string; type: 'Keyword' | 'KeywordList' }> = [
  ...SEARCH_ATTRIBUTES.map((name) => ({ name, type: 'Keyword' as const })),
  { name: SEALED_SESSIONS_ATTRIBUTE, type: 'KeywordList' },
];

/**
 * The error a signal's action records when no handler took it before its run ended
 * (workflows/unhandled-signals.ts). History shows such a signal delivered like any other,
 * so reconcile accepts this record in place of a handled one.
 */
export const UNHANDLED_SIGNAL_ERROR = 'no handler was registered for this signal before the run ended; the agent never received it';

/** The signal that asks a running agent to hand off at its next checkpoint. */
export const HANDOFF_SIGNAL = 'scopetrail.handoff';

/** The activity type of the model call; its attempts are recorded as `llm_call`s. */
export const LLM_ACTIVITY = 'llm';

/** The activity type of a model-driven agent's step; recorded as an `llm_call` like `llm`. */
export const MODEL_STEP_ACTIVITY = 'llm.generate';

/** Activity types whose attempts are `llm_call`s. */
export const LLM_ACTIVITY_TYPES: ReadonlySet<string> = new Set([LLM_ACTIVITY, MODEL_STEP_ACTIVITY]);
