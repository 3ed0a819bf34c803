/**
 * Mapping between CIM records and table rows: the column lists, the values written
 * (with NUL and lone surrogates made storable) and the validation of rows read back.
 */
import type { z } from 'zod';
import { ActionRecord, ScopeRecord } from '../cim/schemas';
import { certainAction, certainScope, type ActionInput, type ScopeInput } from './row-check';
import { isoTime as certainIsoTime } from '../cim/certain-values';
import { isoTime } from './row-times';
import { typedLengthChecks } from '../cim/typed-length-checks';
import type { ScopePlace } from '../cim/forensics/footprint';
import { ScopetrailError } from '../cim/errors';

/** A stored row that no longer parses as its record: written outside scopetrail, or tampered with. */
export interface InvalidRow {
  table: 'scopes' | 'actions' | 'mcp_receipts';
  id: string;
  scopeId: string;
  sessionId: string;
  field: string;
  message: string;
}

/** A stored row that does not read as its record; `field` names the field it got wrong, as every scopetrail error does. */
export class InvalidStoredRowError extends ScopetrailError {
  override name = 'InvalidStoredRowError';

  constructor(readonly row: InvalidRow) {
    const what = rowKind(row.table);
    super(
      `store: ${what} "${row.id}" has an invalid field "${row.field}": ${row.message} ` +
        `(the row was changed outside scopetrail; run scopetrail verify ${row.sessionId})`,
      row.field,
    );
  }
}

/** What a row of the table is called in messages. */
export function rowKind(table: InvalidRow['table']): string {
  return table === 'scopes' ? 'scope' : table === 'actions' ? 'action' : 'MCP receipt';
}

export function invalidRow(table: InvalidRow['table'], id: unknown, row: Record<string, unknown>, error: z.ZodError): InvalidStoredRowError {
  const issue = error.issues[0];
  return new InvalidStoredRowError({
    table,
    id: String(id),
    scopeId: String(row.scope_id),
    sessionId: String(row.session_id),
    field: issue?.path.join('.') || 'row',
    message: issue?.message ?? 'invalid',
  });
}

/** Reads a row, or says which field of which row is wrong instead of throwing. */
export function tryRead<T>(read: (row: Record<string, unknown>) => T, row: Record<string, unknown>): { ok: true; value: T } | { ok: false; invalid: InvalidRow } {
  try {
    return { ok: true, value: read(row) };
  } catch (err) {
    if (err instanceof InvalidStoredRowError) return { ok: false, invalid: err.row };
    throw err;
  }
}

export const SCOPE_COLUMNS = [
  'scope_id', 'session_id', 'namespace', 'parent_scope_id', 'handoff_from_scope_id', 'kind', 'agent',
  'agent_version', 'delegated_by', 'objective', 'allowance', 'depth', 'path', 'status', 'recovered', 'error',
  'started_at', 'ended_at', 'workflow_id', 'run_id', 'worker_deployment', 'worker_build_id', 'failed_by', 'open_calls', 'session_started_at',
] as const;

export const ACTION_COLUMNS = [
  'action_id', 'scope_id', 'session_id', 'namespace', 'agent', 'kind', 'name', 'attempt', 'resources',
  'input_digest', 'output_digest', 'status', 'error', 'started_at', 'ended_at', 'workflow_id', 'run_id',
  'activity_id', 'target_scope_id', 'attributes', 'worker_deployment', 'worker_build_id', 'session_started_at',
] as const;

/**
 * What `readAction` (`readScope`) reads of a row of `alias`: every column of the record,
 * times as text (store/row-times.ts reads them without a Date), not the partition key.
 * A list, not `*`: a prepared statement's result keeps its columns when a migration adds one.
 */
export function actionReadColumns(alias: string): string {
  return readColumns(ACTION_COLUMNS, alias);
}

export function scopeReadColumns(alias: string): string {
  return readColumns(SCOPE_COLUMNS, alias);
}

function readColumns(columns: readonly string[], alias: string): string {
  return columns
    .filter((c) => c !== 'session_started_at')
    .map((c) => (c === 'started_at' || c === 'ended_at' ? `${alias}.${c}::text AS ${c}` : `${alias}.${c}`))
    .join(', ');
}

import { storableText } from '../cim/storable-text';

export { storableText };

export function clean<T>(value: T): T {
  // Almost every record is storable as it is: checking is much cheaper than copying.
  if (!needsCleaning(value)) return value;
  return cleanCopy(value);
}

/** Whether `cleanCopy` could return something other than an equal value (other objects than plain ones are always copied). */
function needsCleaning(value: unknown): boolean {
  if (typeof value === 'string') return storableText(value) !== value;
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!(i in value) || needsCleaning(value[i])) return true;
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return true;
  for (const k of Object.keys(value)) {
    if (storableText(k) !== k || needsCleaning((value as Record<string, unknown>)[k])) return true;
  }
  return false;
}

function cleanCopy<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) return value.map(cleanCopy) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [cleanCopy(k), cleanCopy(v)])) as T;
  }
  return value;
}

/** A scope's row; `sessionStartedAt` is its partition key (store/partitions.ts). */
export function scopeRow(record: ScopeRecord, sessionStartedAt: string): unknown[] {
  const r = clean(record);
  return [
    r.scopeId, r.sessionId, r.namespace, r.parentScopeId, r.handoffFromScopeId, r.kind, r.agent, r.agentVersion,
    r.delegatedBy, r.objective, r.allowance === null ? null : JSON.stringify(r.allowance), r.depth, r.path,
    r.status, r.recovered, r.error, r.startedAt, r.endedAt, r.workflowId, r.runId,
    r.workerDeployment ?? null, r.workerBuildId ?? null, r.failedBy ?? null,
    r.openCalls === undefined ? null : JSON.stringify(r.openCalls), sessionStartedAt,
  ];
}

/**
 * Records written as they are (no text needed repair): the sealer hashes the records its
 * worker committed (actionAsStored), and the same scan need not run twice for them.
 */
const storableAsIs = new WeakSet<ActionRecord>();

export function actionRow(record: ActionRecord, sessionStartedAt: string): unknown[] {
  const r = clean(record);
  if (r === record) storableAsIs.add(record);
  return [
    r.actionId, r.scopeId, r.sessionId, r.namespace, r.agent, r.kind, r.name, r.attempt,
    JSON.stringify(r.resources), r.inputDigest, r.outputDigest, r.status, r.error, r.startedAt, r.endedAt,
    r.workflowId, r.runId, r.activityId, r.targetScopeId, JSON.stringify(r.attributes ?? {}),
    r.workerDeployment ?? null, r.workerBuildId ?? null, sessionStartedAt,
  ];
}

export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A null column is an absent field: the record (and its canonical JSON, which seals hash) has no such key. */
function addWorker(input: { workerDeployment?: unknown; workerBuildId?: unknown }, row: Record<string, unknown>): void {
  if (row.worker_deployment !== null && row.worker_deployment !== undefined) input.workerDeployment = row.worker_deployment;
  if (row.worker_build_id !== null && row.worker_build_id !== undefined) input.workerBuildId = row.worker_build_id;
}

/**
 * A jsonb column as a value. A string is parsed when it is JSON text; one that is not (a
 * JSON string value, as someone writing the table may leave) stays a string, for the
 * schema to name the field, rather than failing the whole read.
 */
export function json(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** Rows read back are validated like any other input: a corrupted row is an error naming it, not a guess. */
export function readScope(row: Record<string, unknown>): ScopeRecord {
  // Keys in the schema's order (see row-check.ts).
  const input: ScopeInput = {
    sessionId: row.session_id,
    scopeId: row.scope_id,
    parentScopeId: row.parent_scope_id,
    handoffFromScopeId: row.handoff_from_scope_id,
    kind: row.kind,
    agent: row.agent,
    agentVersion: row.agent_version,
    delegatedBy: row.delegated_by,
    allowance: json(row.allowance) ?? null,
    depth: Number(row.depth),
    path: row.path,
    objective: row.objective,
    namespace: row.namespace,
    status: row.status,
    recovered: row.recovered,
    error: row.error,
    startedAt: isoTime(row.started_at),
    endedAt: isoTime(row.ended_at),
    workflowId: row.workflow_id,
    runId: row.run_id,
  };
  addWorker(input, row);
  // A null column is an absent field, as for the worker's.
  if (row.failed_by !== null && row.failed_by !== undefined) input.failedBy = row.failed_by;
  if (row.open_calls !== null && row.open_calls !== undefined) input.openCalls = json(row.open_calls);
  const certain = certainScope(input);
  if (certain) return certain;
  return parseRow(ScopeRecord, 'scopes', row.scope_id, row, input);
}

/** `input` (read from `row`) as `schema` gives it, or an error naming the row and the bad field. */
export function parseRow<T>(schema: z.ZodType<T>, table: InvalidRow['table'], id: unknown, row: Record<string, unknown>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalidRow(table, id, row, parsed.error);
  return parsed.data;
}

/** Where a scope sits in its session and what it was allowed: all a footprint needs of it. */
const ScopePlaceSchema = typedLengthChecks(ScopeRecord.pick({ sessionId: true, scopeId: true, path: true, allowance: true }));

export function readScopePlace(row: Record<string, unknown>): ScopePlace {
  const input = { sessionId: row.session_id, scopeId: row.scope_id, path: row.path, allowance: json(row.allowance) ?? null };
  return parseRow(ScopePlaceSchema, 'scopes', row.scope_id, row, input);
}

export function readAction(row: Record<string, unknown>): ActionRecord {
  // Keys in the schema's order (see row-check.ts).
  const input: ActionInput = {
    actionId: row.action_id,
    scopeId: row.scope_id,
    sessionId: row.session_id,
    namespace: row.namespace,
    agent: row.agent,
    kind: row.kind,
    name: row.name,
    attempt: Number(row.attempt),
    resources: json(row.resources),
    inputDigest: row.input_digest,
    outputDigest: row.output_digest,
    status: row.status,
    error: row.error,
    startedAt: isoTime(row.started_at),
    endedAt: isoTime(row.ended_at),
    workflowId: row.workflow_id,
    runId: row.run_id,
    activityId: row.activity_id,
    targetScopeId: row.target_scope_id,
    attributes: json(row.attributes) ?? {},
  };
  addWorker(input, row);
  // Wide reads return thousands of rows: the fast check takes those that certainly pass, zod
  // judges the rest (and names the bad field). A refused input is left as it was.
  const certain = certainAction(input);
  if (certain) return certain;
  return parseRow(ActionRecord, 'actions', row.action_id, row, input);
}

/**
 * The record exactly as reading its row back would give it (text made storable, JSON
 * through jsonb, validated), without the round trip; undefined where that cannot be
 * known here: a time not in the millisecond UTC form the store reads back (the store
 * keeps microseconds and another offset), or a record that would not read back at all.
 * It is `readAction(actionRow(record))` with the steps that are the identity here left
 * out: the row's cells are the cleaned record's fields, and `iso` gives such a time back
 * unchanged.
 */
export function actionAsStored(record: ActionRecord): ActionRecord | undefined {
  // The store gives a time back as it was written exactly when it is in that form.
  if (!certainIsoTime(record.startedAt) || !(record.endedAt === null || certainIsoTime(record.endedAt))) return undefined;
  const r = storableAsIs.has(record) ? record : clean(record);
  // Keys in the schema's order, as readAction builds them (see row-check.ts).
  const input: ActionInput = {
    actionId: r.actionId,
    scopeId: r.scopeId,
    sessionId: r.sessionId,
    namespace: r.namespace,
    agent: r.agent,
    kind: r.kind,
    name: r.name,
    attempt: Number(r.attempt),
    resources: throughJson(r.resources),
    inputDigest: r.inputDigest,
    outputDigest: r.outputDigest,
    status: r.status,
    error: r.error,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    workflowId: r.workflowId,
    runId: r.runId,
    activityId: r.activityId,
    targetScopeId: r.targetScopeId,
    attributes: throughJson(r.attributes ?? {}) ?? {},
  };
  addWorker(input, { worker_deployment: r.workerDeployment ?? null, worker_build_id: r.workerBuildId ?? null });
  // As readAction: the fast check takes what certainly passes, zod judges the rest.
  const certain = certainAction(input);
  if (certain) return certain;
  const parsed = ActionRecord.safeParse(input);
  return parsed.success ? parsed.data : undefined;
}

/** What a JSON column gives back for a value written as `JSON.stringify(value)`. */
function throughJson(value: unknown): unknown {
  return jsonAsIs(value, 0) ? value : json(JSON.stringify(value));
}

/**
 * Whether `JSON.parse(JSON.stringify(value))` equals `value` as it is: plain objects and
 * arrays of strings, finite numbers, booleans and null, with no undefined, no holes and
 * no toJSON. Almost every record's resources and attributes are, and the copy is then
 * not made. Key order may differ through jsonb either way; what is hashed sorts keys.
 */
function jsonAsIs(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth > 64) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!(i in value) || !jsonAsIs(value[i], depth + 1)) return false;
        return Object.getPrototypeOf(value) === Array.prototype;
      }
      const proto = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || 'toJSON' in value) return false;
      for (const k in value) if (!Object.hasOwn(value, k) || !jsonAsIs((value as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}
