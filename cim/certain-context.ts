/**
 * Fast checks for what every workflow parses: the scope context in its start's
 * `scopetrail-scope` header (and in each activity's, in the worker) and its own agent's
 * manifest. Every workflow evaluates its modules again, so zod would build these schemas
 * for each child workflow before parsing one value with them, a few milliseconds of the
 * workflow thread each time. Each check answers the value zod would build when the input
 * certainly passes the schema, and undefined for anything else (a budget, a continuation,
 * a key present but undefined, another time format), which zod then judges and names
 * the bad field of. `delegate()`'s options are checked the same way: every workflow that
 * delegates would otherwise build their schema (and the budget's) for its first
 * delegation. A check may refuse a valid value; it must never accept an invalid one:
 * test/unit/certain-context.test.ts holds them to zod itself.
 */
import { DELEGATE_OPTION_KEYS, type ScopeContext } from './scope-context';
import type { Manifest } from './manifest';
import { SUB_AGENT_PATTERN, TOOL_NAME_PATTERN, VERSION_PATTERN } from './manifest';
import { agentName, boundedText, count, identifier, isoTime, plainObject, stringsOf, text } from './certain-values';

const SCOPE_KINDS: ReadonlySet<unknown> = new Set(['root', 'delegation', 'handoff']);

/** Not there at all (zod reads inherited keys too); a key present but undefined is not absent, and goes to zod. */
function absent(o: Record<string, unknown>, key: string): boolean {
  return !(key in o);
}

export function certainScopeContext(v: unknown): ScopeContext | undefined {
  if (!plainObject(v)) return undefined;
  const allowance = v.allowance === null ? null : stringsOf(v.allowance);
  if (
    allowance === undefined ||
    !identifier(v.sessionId) ||
    !identifier(v.scopeId) ||
    !(v.parentScopeId === null || identifier(v.parentScopeId)) ||
    !(v.handoffFromScopeId === null || identifier(v.handoffFromScopeId)) ||
    !SCOPE_KINDS.has(v.kind) ||
    !agentName(v.agent) ||
    !text(v.agentVersion) ||
    !(v.delegatedBy === null || agentName(v.delegatedBy)) ||
    !count(v.depth) ||
    !(typeof v.path === 'string' && v.path.length >= 3) ||
    !count(v.handoffIndex) ||
    !(absent(v, 'visibility') || typeof v.visibility === 'boolean') ||
    !(absent(v, 'budget') || v.budget === null) ||
    !absent(v, 'continuation') ||
    !(absent(v, 'sessionStartedAt') || isoTime(v.sessionStartedAt)) ||
    !(absent(v, 'chainRecovered') || v.chainRecovered === true)
  ) {
    return undefined;
  }
  // Built in the schema's order, unknown keys dropped and defaults filled, as zod builds it.
  const ctx: ScopeContext = {
    sessionId: v.sessionId,
    scopeId: v.scopeId,
    parentScopeId: v.parentScopeId as string | null,
    handoffFromScopeId: v.handoffFromScopeId as string | null,
    kind: v.kind as ScopeContext['kind'],
    agent: v.agent,
    agentVersion: v.agentVersion as string,
    delegatedBy: v.delegatedBy as string | null,
    allowance,
    depth: v.depth,
    path: v.path,
    handoffIndex: v.handoffIndex,
    visibility: (v.visibility as boolean | undefined) ?? false,
    budget: null,
  };
  if (!absent(v, 'sessionStartedAt')) ctx.sessionStartedAt = v.sessionStartedAt as string;
  if (!absent(v, 'chainRecovered')) ctx.chainRecovered = true;
  return ctx;
}

const DELEGATE_KEYS: ReadonlySet<string> = new Set(DELEGATE_OPTION_KEYS);

/**
 * True when delegateOptionsSchema certainly accepts `v`: an objective with words in it, an
 * input, and at most an allowance of non-empty strings, a whole number of attempts from 1
 * to 100 and workflow options as a plain object. A budget, a key present but undefined, an
 * input left out or anything else goes to zod. delegate() uses the options as given, so
 * only the answer matters, not a value zod would build.
 */
export function certainDelegateOptions(v: unknown): boolean {
  if (!plainObject(v) || !('input' in v)) return false;
  for (const key of Object.keys(v)) if (!DELEGATE_KEYS.has(key)) return false;
  return (
    boundedText(v.objective, 1, 10_000) &&
    v.objective.trim().length > 0 &&
    (absent(v, 'allowance') || stringsOf(v.allowance, (s) => s.length >= 1) !== undefined) &&
    absent(v, 'budget') &&
    (absent(v, 'attempts') || (count(v.attempts, 1) && v.attempts <= 100)) &&
    (absent(v, 'workflowOptions') || (plainObject(v.workflowOptions) && Object.getOwnPropertySymbols(v.workflowOptions).length === 0))
  );
}

export function certainManifest(v: unknown): Manifest | undefined {
  if (!plainObject(v)) return undefined;
  const tools = absent(v, 'tools') ? [] : stringsOf(v.tools, (s) => TOOL_NAME_PATTERN.test(s));
  const subAgents = absent(v, 'subAgents') ? [] : stringsOf(v.subAgents, (s) => s.length <= 151 && SUB_AGENT_PATTERN.test(s));
  const handoffs = absent(v, 'handoffs') ? null : stringsOf(v.handoffs, agentName);
  const resources = absent(v, 'resources') ? null : stringsOf(v.resources, (s) => s.length >= 1);
  if (
    tools === undefined ||
    subAgents === undefined ||
    handoffs === undefined ||
    resources === undefined ||
    !agentName(v.name) ||
    !(typeof v.version === 'string' && VERSION_PATTERN.test(v.version)) ||
    !(absent(v, 'description') || boundedText(v.description, 0, 2000)) ||
    !absent(v, 'budget') ||
    !(absent(v, 'model') || boundedText(v.model, 1, 200))
  ) {
    return undefined;
  }
  // Built in the schema's order, unknown keys dropped and defaults filled, as zod builds it.
  const manifest = { name: v.name, version: v.version } as Manifest;
  if (!absent(v, 'description')) manifest.description = v.description as string;
  manifest.tools = tools;
  manifest.subAgents = subAgents;
  if (handoffs) manifest.handoffs = handoffs;
  if (!absent(v, 'model')) manifest.model = v.model as string;
  if (resources) manifest.resources = resources;
  return manifest;
}
