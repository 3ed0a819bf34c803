/**
 * How many sessions a listing holds unless asked for another number: the CLI's
 * `sessions --limit`, ScopeClient.sessions() and the dashboard API's `limit`. Its own
 * module so that the help text can say it without loading the queries.
 */
export const SESSIONS_LIMIT = 50;
/** The most one listing may ask for. */
export const SESSIONS_MAX = 10_000;
