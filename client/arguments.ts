/** What every client method checks its arguments with, and the errors it raises. */
import { ScopetrailError } from '../cim/errors';
import { z } from 'zod';
import { typedLengthChecks } from '../cim/typed-length-checks';
import { formatBytes } from '../cim/payload-size';
import { fieldOf, likeliest } from '../cim/invalid-field';
import { agentNameSchema } from '../cim/scope-context';

/** Ids and names from outside: printable text only (Postgres rejects NUL; control characters are never ids). */
export function printableText(max: number) {
  return z.string().min(1).max(max).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');
}

export const Id = printableText(1000);

/**
 * A moment as ISO 8601 with an offset, or a date alone (its midnight in UTC), as `prune
 * --before` takes it, in years 0001 to 9999: ISO's year 0000 (and any calendar-impossible
 * date) passes the format but is out of range for Postgres, which would answer a query
 * with an error instead of an empty list. `formatMessage`: what a command that has long
 * said it its own way says of a malformed value; the forms taken are the same everywhere.
 */
export function isoTimeArg(formatMessage = 'use an ISO date (2026-12-05) or time with its offset (2026-12-05T10:00:00Z)') {
  return z
    .string()
    .transform((v) => (/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00.000Z` : v))
    .pipe(
      z.iso
        .datetime({ offset: true, message: formatMessage })
        .refine((v) => !Number.isNaN(Date.parse(v)) && Number(v.slice(0, 4)) >= 1, 'use a time from 0001-01-01 to 9999-12-31'),
    );
}

/** A time, or a date alone (its midnight in UTC): what every time argument takes. */
export const IsoTime = isoTimeArg();

/** An agent's name as a manifest gives it: a name no agent can have is refused, not answered with nothing. */
export const AgentNameArg = agentNameSchema();

export class UnknownIdError extends ScopetrailError {
  /** `message`: why the store has no such id, where that is known (see SessionPrunedError). */
  /** `field`: the argument that named the id, where it is not the usual one for `what`. */
  constructor(what: 'session' | 'scope' | 'agent', id: string, message?: string, field?: string) {
    super(
      message ??
        (what === 'agent'
          ? `no agent "${id}" in the store: no manifest registers it and no scope ran it; check the name (scopetrail roles lists them)`
          : `no ${what} "${id}" in the store; check the id (scopetrail sessions lists them)`),
      field ?? (what === 'session' ? 'sessionId' : what === 'scope' ? 'scopeId' : 'agent'),
    );
    this.name = 'UnknownIdError';
  }
}

/** An agent to start: one made with defineAgent or defineModelAgent (a workflow function with its manifest), or its name. */
export const AgentArg = z.custom<unknown>(
  (v) => typeof v === 'string' || (typeof v === 'function' && 'manifest' in v),
  'give an agent made with defineAgent or defineModelAgent, or its name',
);

/** A session's question asked of a delegation inside a session: `sessionOf` is that session. */
export class NotASessionError extends UnknownIdError {
  constructor(id: string, readonly sessionOf: string, message: string) {
    super('session', id, message);
    this.name = 'NotASessionError';
  }
}

/** A query named a store no worker has prepared (a mistyped --schema or --database-url, or a data folder that is not there). */
export class NoStoreError extends ScopetrailError {
  override name = 'NoStoreError';
}

/** startSession was given the id of a session that exists (running, closed, or only in the store). */
export class SessionIdTakenError extends ScopetrailError {
  constructor(sessionId: string, why: string) {
    super(`startSession: invalid field "sessionId": session "${sessionId}" already exists (${why}); give a new id, or none for a generated one`, 'sessionId');
    this.name = 'SessionIdTakenError';
  }
}

/** startSession was given an id, and the store that must say whether it is free does not answer. */
export class SessionIdUncheckedError extends ScopetrailError {
  constructor(sessionId: string, cause: string) {
    super(
      `startSession: session id "${sessionId}" cannot be checked, because the store does not answer (${cause}): ` +
        `start without a sessionId (a generated id needs no check), or retry once the store is back`,
      'sessionId',
    );
    this.name = 'SessionIdUncheckedError';
  }
}

/** A request for a run that has ended: nothing is left to take it (requestHandoff to a closed session, say). */
export class RunClosedError extends ScopetrailError {
  constructor(method: string, workflowId: string, status: string) {
    super(`${method}: invalid field "workflowId": workflow "${workflowId}" has ended (${status.toLowerCase()}); a handoff can be requested only while its agent runs`, 'workflowId');
    this.name = 'RunClosedError';
  }
}

/**
 * startSession named an agent no worker has registered while workers have registered
 * others: Temporal would wait for a worker that never comes, and `result()` with it.
 */
export class UnknownAgentError extends ScopetrailError {
  constructor(agent: string, readonly knownAgents: readonly string[]) {
    const shown = knownAgents.length > 20 ? `${knownAgents.slice(0, 20).join(', ')} and ${knownAgents.length - 20} more` : knownAgents.join(', ');
    super(
      `startSession: invalid field "agent": no worker has registered an agent "${agent}"; the store knows ${shown}. ` +
        'Check the name, or start the worker that runs it before the session',
      'agent',
    );
    this.name = 'UnknownAgentError';
  }
}

/**
 * A value a client method would send to Temporal is larger than a payload Temporal
 * takes: nothing was started or signalled. `limitBytes` is null when only the server
 * knew its (lower) limit.
 */
export class PayloadTooLargeError extends ScopetrailError {
  constructor(method: string, field: string, readonly bytes: number, readonly limitBytes: number | null) {
    super(
      `${method}: invalid field "${field}": it is ${formatBytes(bytes)} encoded, over Temporal's payload limit` +
        `${limitBytes === null ? ' (the server\'s, set lower than the default)' : ` of ${formatBytes(limitBytes)}`}; ` +
        'pass a reference to the data (a file, a URL, a row id) instead of the data itself',
      field,
    );
    this.name = 'PayloadTooLargeError';
  }
}

/**
 * The store has nothing of the id because retention dropped its session's month (recorded
 * in the store and anchored in Temporal). An unknown id with its reason: code that handles
 * UnknownIdError handles this one too, and the CLI answers it the same way (exit 1, not_found).
 */
export class SessionPrunedError extends UnknownIdError {
  constructor(
    /** The session id, or a scope id of the session, as asked for. */
    readonly id: string,
    readonly pruned: { sessionId: string; month: string; prunedAt: string; before: string; anchor: string },
    what: 'session' | 'scope' = 'session',
  ) {
    const which = what === 'scope' && id !== pruned.sessionId ? `scope "${id}" of session "${pruned.sessionId}"` : `session "${id}"`;
    super(
      what,
      id,
      `${which} was pruned: retention dropped its month, ${pruned.month}, at ${pruned.prunedAt} ` +
        `(scopetrail prune --before ${pruned.before}; anchored in Temporal as ${pruned.anchor}), and the store keeps nothing of it`,
    );
    this.name = 'SessionPrunedError';
  }
}

export class InvalidArgumentError extends ScopetrailError {
  /**
   * `argument`: the parameter's name, for a value that is one argument rather than an object of fields.
   * `known`: the fields the object takes, to name the one a key it does not take most likely meant.
   */
  constructor(method: string, error: z.ZodError, argument?: string, known?: readonly string[]) {
    // A key the options do not take is the field (`descendents`), not the object it was found in.
    const path = fieldOf(error, '');
    const field = [argument, path].filter(Boolean).join('.');
    const issue = error.issues[0];
    const meant = issue?.code === 'unrecognized_keys' && issue.path.length === 0 && known ? likeliest(issue.keys[0] ?? '', known) : undefined;
    const reason = issue?.code === 'unrecognized_keys' ? `not a field it takes${meant ? ` (did you mean "${meant}"?)` : ''}` : (issue?.message ?? 'invalid');
    // A whole options object of the wrong type (`null`, a string) is named as the parameter it is.
    const named = field || (known ? 'options' : 'arguments');
    super(`${method}: invalid field "${named}": ${reason}`, named);
    this.name = 'InvalidArgumentError';
  }
}

/** A value the data converter (the workers', codecs included) cannot turn into a payload: a BigInt, a cycle. */
export class UnencodableValueError extends ScopetrailError {
  /** `byConverter`: the reason is the data converter's own words; otherwise it names the value's place and what to send instead. */
  constructor(method: string, field: string, reason: string, byConverter = true) {
    super(
      byConverter
        ? `${method}: invalid field "${field}": it cannot be sent to Temporal (the data converter says: ${reason}); give plain JSON values`
        : `${method}: invalid field "${field}": it cannot be sent to Temporal: ${reason}`,
      field,
    );
    this.name = 'UnencodableValueError';
  }
}

/** Checks one argument of a client method; `argument` names it when it is a single value (an id, a resource). */
export function parse<T extends z.ZodType>(method: string, schema: T, value: unknown, argument?: string): z.output<T> {
  const parsed = typedLengthChecks(schema).safeParse(value);
  if (parsed.success) return parsed.data;
  // A misspelt key is reported before the field it left missing (`inputs` before `input`): zod
  // lists a strict object's unknown keys after its fields' issues, and the first issue is the one named.
  const issues = parsed.error.issues;
  const unknown = issues.filter((i) => i.code === 'unrecognized_keys');
  const error = unknown.length ? new z.ZodError([...unknown, ...issues.filter((i) => i.code !== 'unrecognized_keys')]) : parsed.error;
  throw new InvalidArgumentError(method, error, argument, schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined);
}
