/** The Keyword search attributes scopetrail publishes each scope under. */
export const SEARCH_ATTRIBUTES = ['ScopetrailSession', 'ScopetrailScope', 'ScopetrailAgent'] as const;
