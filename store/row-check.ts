/**
 * Fast checks of rows read back, for reads that return thousands of rows (actionsUnder
 * a wide root, the scopes of its session). Each answers the record only when the input
 * certainly passes its schema (`ActionRecord`, `ScopeRecord`) — the same rules, tested
 * field by field, built into the same record zod would build — and undefined for anything
 * else, so that zod then judges the row and names the bad field. A check may refuse a
 * valid row (zod then accepts it); it must never accept an invalid one.
 * test/unit/row-check.test.ts holds them to that against zod itself.
 */
import { ActionKind, ActionRecord, ActionStatus, ResourceMode, ScopeKind, ScopeRecord, ScopeStatus } from '../cim/schemas';
import type { FootprintAction } from '../cim/forensics/footprint';
import { agentName, identifier, isoTime, plainObject, text, textOrNull } from '../cim/certain-values';

const KINDS: ReadonlySet<unknown> = new Set(ActionKind.options);
const STATUSES: ReadonlySet<unknown> = new Set(ActionStatus.options);
const MODES: ReadonlySet<unknown> = new Set(ResourceMode.options);
const SCOPE_KINDS: ReadonlySet<unknown> = new Set(ScopeKind.options);
const SCOPE_STATUSES: ReadonlySet<unknown> = new Set(ScopeStatus.options);
/** ScopeRecord's bound on an objective (stored encoded, hence above MAX_OBJECTIVE). */
const OBJECTIVE_MAX = 200_000;

/** The fields `readAction` gives zod, as it gives them. */
export interface ActionInput {
  actionId: unknown;
  scopeId: unknown;
  sessionId: unknown;
  namespace: unknown;
  agent: unknown;
  kind: unknown;
  name: unknown;
  attempt: unknown;
  resources: unknown;
  inputDigest: unknown;
  outputDigest: unknown;
  status: unknown;
  error: unknown;
  startedAt: unknown;
  endedAt: unknown;
  workflowId: unknown;
  runId: unknown;
  activityId: unknown;
  targetScopeId: unknown;
  attributes: unknown;
  workerDeployment?: unknown;
  workerBuildId?: unknown;
}

/**
 * The record when `input` certainly passes ActionRecord, else undefined. The record is
 * `input` itself (its keys are in the schema's order, workers' fields only when set) with
 * its resources and attributes replaced by the copies zod would make: the caller gives up
 * `input`, and a wide read makes one object per row, not two.
 */
export function certainAction(i: ActionInput): ActionRecord | undefined {
  if (
    !text(i.actionId) ||
    !identifier(i.scopeId) ||
    !identifier(i.sessionId) ||
    !text(i.namespace) ||
    !agentName(i.agent) ||
    !KINDS.has(i.kind) ||
    !text(i.name) ||
    !(Number.isSafeInteger(i.attempt) && (i.attempt as number) >= 1) ||
    !textOrNull(i.inputDigest) ||
    !textOrNull(i.outputDigest) ||
    !STATUSES.has(i.status) ||
    !textOrNull(i.error) ||
    !isoTime(i.startedAt) ||
    !(i.endedAt === null || isoTime(i.endedAt)) ||
    !text(i.workflowId) ||
    !text(i.runId) ||
    !textOrNull(i.activityId) ||
    !textOrNull(i.targetScopeId) ||
    !(!('workerDeployment' in i) || workerField(i.workerDeployment)) ||
    !(!('workerBuildId' in i) || workerField(i.workerBuildId))
  ) {
    return undefined;
  }
  const resources = resourcesOf(i.resources);
  const attributes = attributesOf(i.attributes);
  if (!resources || !attributes) return undefined;
  i.resources = resources;
  i.attributes = attributes;
  return i as ActionRecord;
}

/** The fields footprint reads (cim/forensics FootprintAction), as `readFootprintAction` hands them over. */
export type FootprintInput = Pick<ActionInput, 'actionId' | 'scopeId' | 'sessionId' | 'agent' | 'kind' | 'name' | 'resources' | 'status' | 'startedAt' | 'endedAt'>;

/** certainAction for the fields footprint reads: `input` itself when they certainly pass, with its resources copied as zod copies them. */
export function certainFootprintAction(i: FootprintInput): FootprintAction | undefined {
  if (
    !text(i.actionId) ||
    !identifier(i.scopeId) ||
    !identifier(i.sessionId) ||
    !agentName(i.agent) ||
    !KINDS.has(i.kind) ||
    !text(i.name) ||
    !STATUSES.has(i.status) ||
    !isoTime(i.startedAt) ||
    !(i.endedAt === null || isoTime(i.endedAt))
  ) {
    return undefined;
  }
  const resources = resourcesOf(i.resources);
  if (!resources) return undefined;
  i.resources = resources;
  return i as FootprintAction;
}

/** The fields `readScope` gives zod, in the schema's order. */
export interface ScopeInput {
  sessionId: unknown;
  scopeId: unknown;
  parentScopeId: unknown;
  handoffFromScopeId: unknown;
  kind: unknown;
  agent: unknown;
  agentVersion: unknown;
  delegatedBy: unknown;
  allowance: unknown;
  depth: unknown;
  path: unknown;
  objective: unknown;
  namespace: unknown;
  status: unknown;
  recovered: unknown;
  error: unknown;
  startedAt: unknown;
  endedAt: unknown;
  workflowId: unknown;
  runId: unknown;
  workerDeployment?: unknown;
  workerBuildId?: unknown;
  failedBy?: unknown;
  openCalls?: unknown;
}

/** certainAction for scopes: `input` itself (keys in the schema's order) with its allowance copied as zod copies it. */
export function certainScope(i: ScopeInput): ScopeRecord | undefined {
  if (
    !identifier(i.sessionId) ||
    !identifier(i.scopeId) ||
    !(i.parentScopeId === null || identifier(i.parentScopeId)) ||
    !(i.handoffFromScopeId === null || identifier(i.handoffFromScopeId)) ||
    !SCOPE_KINDS.has(i.kind) ||
    !agentName(i.agent) ||
    !text(i.agentVersion) ||
    !(i.delegatedBy === null || agentName(i.delegatedBy)) ||
    !(Number.isSafeInteger(i.depth) && (i.depth as number) >= 0) ||
    !(typeof i.path === 'string' && i.path.length >= 3) ||
    !(i.objective === null || (typeof i.objective === 'string' && i.objective.length <= OBJECTIVE_MAX)) ||
    !text(i.namespace) ||
    !SCOPE_STATUSES.has(i.status) ||
    typeof i.recovered !== 'boolean' ||
    !textOrNull(i.error) ||
    !isoTime(i.startedAt) ||
    !(i.endedAt === null || isoTime(i.endedAt)) ||
    !text(i.workflowId) ||
    !text(i.runId) ||
    !(!('workerDeployment' in i) || workerField(i.workerDeployment)) ||
    !(!('workerBuildId' in i) || workerField(i.workerBuildId)) ||
    !(!('failedBy' in i) || text(i.failedBy)) ||
    // Rare (a run that left calls running): zod checks it.
    'openCalls' in i
  ) {
    return undefined;
  }
  if (i.allowance !== null) {
    if (!Array.isArray(i.allowance)) return undefined;
    const allowance: string[] = [];
    for (let k = 0; k < i.allowance.length; k++) {
      const a: unknown = i.allowance[k];
      if (typeof a !== 'string') return undefined;
      allowance.push(a);
    }
    i.allowance = allowance;
  }
  return i as ScopeRecord;
}

let actionKeys: ReadonlySet<string> | undefined;
let scopeKeys: ReadonlySet<string> | undefined;

/**
 * certainAction for a record from anywhere (the workflow sandbox's sink, a tool's relay): the
 * record when it certainly passes ActionRecord, undefined otherwise. Beyond certainAction it
 * refuses any key the schema does not know (zod would drop it: zod judges), and checks the
 * session's start. Gives up `value` as certainAction does.
 */
export function certainActionRecord(value: unknown): ActionRecord | undefined {
  actionKeys ??= new Set(Object.keys(ActionRecord.shape));
  if (!knownKeysOnly(value, actionKeys)) return undefined;
  if (!optionalIsoTime(value, 'sessionStartedAt')) return undefined;
  return certainAction(value as unknown as ActionInput);
}

/** certainActionRecord for scopes: unknown keys, the session's start and the objective's bound checked, the rest by certainScope. */
export function certainScopeRecord(value: unknown): ScopeRecord | undefined {
  scopeKeys ??= new Set(Object.keys(ScopeRecord.shape));
  if (!knownKeysOnly(value, scopeKeys)) return undefined;
  if (!optionalIsoTime(value, 'sessionStartedAt')) return undefined;
  return certainScope(value as unknown as ScopeInput);
}

/** ActionRecord.safeParse, with the fast check first: zod judges only what it cannot vouch for (and names the bad field). */
export function parseActionRecord(value: unknown): ReturnType<typeof ActionRecord.safeParse> {
  const certain = certainActionRecord(value);
  return certain ? { success: true, data: certain } : ActionRecord.safeParse(value);
}

/** ScopeRecord.safeParse, with the fast check first. */
export function parseScopeRecord(value: unknown): ReturnType<typeof ScopeRecord.safeParse> {
  const certain = certainScopeRecord(value);
  return certain ? { success: true, data: certain } : ScopeRecord.safeParse(value);
}

/** A plain object whose every own key (and no symbol) is one of `keys`, each holding a value. */
function knownKeysOnly(value: unknown, keys: ReadonlySet<string>): value is Record<string, unknown> {
  if (!plainObject(value) || Object.getOwnPropertySymbols(value).length > 0) return false;
  for (const key of Object.keys(value)) if (!keys.has(key) || value[key] === undefined) return false;
  return true;
}

function optionalIsoTime(value: Record<string, unknown>, key: string): boolean {
  return !(key in value) || isoTime(value[key]);
}

function workerField(v: unknown): boolean {
  return typeof v === 'string' && v.length >= 1 && v.length <= 255;
}

function resourcesOf(v: unknown): Array<{ uri: string; mode: string }> | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Array<{ uri: string; mode: string }> = [];
  for (let k = 0; k < v.length; k++) {
    const r: unknown = v[k];
    if (!plainObject(r) || !text(r.uri) || !MODES.has(r.mode)) return undefined;
    // Keys the schema does not know are dropped, as zod drops them.
    out.push({ uri: r.uri as string, mode: r.mode as string });
  }
  return out;
}

function attributesOf(v: unknown): Record<string, string | number | boolean | null> | undefined {
  // zod refuses a symbol key (Object.keys does not list them).
  if (!plainObject(v) || Object.getOwnPropertySymbols(v).length > 0) return undefined;
  const out: Record<string, string | number | boolean | null> = {};
  for (const key of Object.keys(v)) {
    // zod never writes a `__proto__` key; the row goes to zod to say so.
    if (key === '__proto__') return undefined;
    const value = v[key];
    if (!(value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))) return undefined;
    out[key] = value;
  }
  return out;
}
