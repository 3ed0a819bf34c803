/**
 * A session's CIM records as OpenTelemetry spans that follow the GenAI semantic
 * conventions: a scope is an `invoke_agent` span, a tool call (or a refused one) an
 * `execute_tool` span, an LLM call a `chat` span. Delegations, handoffs and signals
 * are moments in their scope's life, so they become span events, and the delegated
 * scope's own span nests under the delegator's.
 *
 * Pure: ids come from a hash the caller passes in (sha-256 in the exporter), so this
 * module needs no node:crypto. Ids are derived from the session and record ids, which
 * makes a re-export send the same spans again instead of a second copy.
 */
import { isEncodedText } from './encoded-text';
import type { ActionRecord, ScopeRecord } from './schemas';
import type { CallReceipt } from './forensics/receipts';
import { callReceiptKey } from './call-receipt-key';

export type GenAiOperation = 'invoke_agent' | 'execute_tool' | 'chat';
export type SpanAttributeValue = string | number | boolean | string[];
export type SpanAttributes = Record<string, SpanAttributeValue>;

export interface GenAiSpanEvent {
  name: string;
  time: string;
  attributes: SpanAttributes;
}

export interface GenAiSpanLink {
  traceId: string;
  spanId: string;
  attributes: SpanAttributes;
}

export interface GenAiSpan {
  operation: GenAiOperation;
  name: string;
  /** `client` for a call that leaves the process (the model), `internal` otherwise. */
  kind: 'internal' | 'client';
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  startTime: string;
  endTime: string;
  attributes: SpanAttributes;
  status: { code: 'unset' | 'error'; message?: string };
  events: GenAiSpanEvent[];
  links: GenAiSpanLink[];
  /** The CIM record this span describes. */
  source: { record: 'scope' | 'action'; id: string };
}

export interface GenAiTrace {
  sessionId: string;
  traceId: string;
  spans: GenAiSpan[];
}

export interface GenAiMappingOptions {
  /** Lowercase hex digest of a text, at least 32 characters (sha-256 in the exporter). */
  hash: (text: string) => string;
  /** End time for records still running: a span must end, and the store has no end yet. */
  now: string;
  /**
   * The session's MCP receipts by call (receiptsByCall): an MCP call's span then carries the
   * resources its server reports, as footprint counts them, and how the receipt stands
   * against its signature. The worker's live spans are made before any receipt is read.
   */
  receipts?: ReadonlyMap<string, CallReceipt>;
}

/** Actions that are moments in their scope's life: events on its span, not spans of their own. */
export const EVENT_ACTION_KINDS: ReadonlySet<ActionRecord['kind']> = new Set<ActionRecord['kind']>(['delegate', 'handoff', 'signal', 'budget_exceeded']);

/** Trace id of a session: 32 hex digits, the same on every export. */
export function sessionTraceId(namespace: string, sessionId: string, hash: GenAiMappingOptions['hash']): string {
  return nonZeroHex(hash(`scopetrail trace\n${namespace}\n${sessionId}`), 32);
}

/** Span id of a scope or an action: 16 hex digits, the same on every export. */
export function recordSpanId(record: 'scope' | 'action', namespace: string, id: string, hash: GenAiMappingOptions['hash']): string {
  return nonZeroHex(hash(`scopetrail span\n${record}\n${namespace}\n${id}`), 16);
}

export function sessionToGenAiSpans(
  sessionId: string,
  scopes: readonly ScopeRecord[],
  actions: readonly ActionRecord[],
  options: GenAiMappingOptions,
): GenAiTrace {
  const namespace = scopes[0]?.namespace ?? actions[0]?.namespace ?? 'default';
  const traceId = sessionTraceId(namespace, sessionId, options.hash);
  const scopeSpanId = (id: string) => recordSpanId('scope', namespace, id, options.hash);
  const eventsOf = new Map<string, GenAiSpanEvent[]>();
  for (const a of actions) {
    if (!EVENT_ACTION_KINDS.has(a.kind)) continue;
    eventsOf.set(a.scopeId, [...(eventsOf.get(a.scopeId) ?? []), actionEvent(a)]);
  }
  const spans: GenAiSpan[] = [];
  for (const s of scopes) {
    spans.push({
      operation: 'invoke_agent',
      name: `invoke_agent ${s.agent}`,
      kind: 'internal',
      traceId,
      spanId: scopeSpanId(s.scopeId),
      // A session-level handoff target has no parent: control moved sideways, so it starts its own root
      // span. Inside a delegation its parent is the delegator, whose work it finishes.
      parentSpanId: s.parentScopeId ? scopeSpanId(s.parentScopeId) : null,
      startTime: s.startedAt,
      endTime: s.endedAt ?? options.now,
      attributes: scopeAttributes(s),
      // A scope in error with no error of its own returned normally, but every delegation it made failed (cim/status.ts).
      status: spanStatus(s.status, s.error, 'every delegation it made failed'),
      events: (eventsOf.get(s.scopeId) ?? []).sort((a, b) => a.time.localeCompare(b.time)),
      links: s.handoffFromScopeId
        ? [{ traceId, spanId: scopeSpanId(s.handoffFromScopeId), attributes: { 'scopetrail.link.kind': 'handoff', 'scopetrail.scope.id': s.handoffFromScopeId } }]
        : [],
      source: { record: 'scope', id: s.scopeId },
    });
  }
  for (const a of actions) {
    if (EVENT_ACTION_KINDS.has(a.kind)) continue;
    const operation: GenAiOperation = a.kind === 'llm_call' ? 'chat' : 'execute_tool';
    const attributes = actionAttributes(a, operation, sessionId, options.receipts?.get(callReceiptKey(a.scopeId, a.actionId)));
    spans.push({
      operation,
      name: operation === 'chat' ? `chat ${String(attributes['gen_ai.request.model'] ?? a.name)}` : `execute_tool ${a.name}`,
      kind: operation === 'chat' ? 'client' : 'internal',
      traceId,
      spanId: recordSpanId('action', namespace, a.actionId, options.hash),
      parentSpanId: scopeSpanId(a.scopeId),
      startTime: a.startedAt,
      endTime: a.endedAt ?? options.now,
      attributes,
      status: spanStatus(a.status, a.error),
      events: [],
      links: [],
      source: { record: 'action', id: a.actionId },
    });
  }
  return { sessionId, traceId, spans };
}

function scopeAttributes(s: ScopeRecord): SpanAttributes {
  return compact({
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': s.agent,
    'gen_ai.agent.id': s.scopeId,
    'gen_ai.agent.version': s.agentVersion,
    // The objective is what this agent instance was asked to do: the closest thing to its description.
    // Encoded with the workers' payload codec, it means nothing to a collector: left out.
    'gen_ai.agent.description': plainOrNull(s.objective),
    'gen_ai.conversation.id': s.sessionId,
    'scopetrail.session.id': s.sessionId,
    'scopetrail.scope.id': s.scopeId,
    'scopetrail.scope.parent_id': s.parentScopeId,
    'scopetrail.scope.handoff_from_id': s.handoffFromScopeId,
    'scopetrail.delegation.kind': s.kind,
    'scopetrail.delegated_by': s.delegatedBy,
    'scopetrail.scope.depth': s.depth,
    'scopetrail.scope.allowance': s.allowance,
    'scopetrail.status': s.status,
    'scopetrail.recovered': s.recovered,
    'scopetrail.temporal.workflow_id': s.workflowId,
    'scopetrail.temporal.run_id': s.runId,
    'error.type': s.status === 'error' ? '_OTHER' : null,
  });
}

function actionAttributes(a: ActionRecord, operation: GenAiOperation, sessionId: string, receipt?: CallReceipt): SpanAttributes {
  const attrs = a.attributes;
  const text = (...keys: string[]) => keys.map((k) => attrs[k]).find((v): v is string => typeof v === 'string' && v !== '') ?? null;
  const count = (key: string) => {
    const v = attrs[key];
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
  };
  const llm =
    operation === 'chat'
      ? {
          'gen_ai.request.model': text('requestedModel', 'model'),
          'gen_ai.response.model': text('model'),
          'gen_ai.provider.name': text('provider'),
          'gen_ai.usage.input_tokens': count('inputTokens'),
          'gen_ai.usage.output_tokens': count('outputTokens'),
          'gen_ai.response.finish_reasons': text('finishReason') ? [text('finishReason')!] : null,
        }
      : { 'gen_ai.tool.name': a.name, 'gen_ai.tool.call.id': a.actionId, 'gen_ai.tool.type': 'function' };
  // Keys the mapping does not name still reach the backend, under their own prefix.
  const mapped = new Set(['requestedModel', 'model', 'provider', 'inputTokens', 'outputTokens', 'finishReason']);
  const rest = Object.fromEntries(
    Object.entries(attrs)
      .filter(([k, v]) => v !== null && !(operation === 'chat' && mapped.has(k)))
      .map(([k, v]) => [`scopetrail.action.attributes.${k}`, v]),
  );
  return compact({
    'gen_ai.operation.name': operation,
    ...llm,
    'gen_ai.agent.name': a.agent,
    'gen_ai.agent.id': a.scopeId,
    'gen_ai.conversation.id': sessionId,
    'scopetrail.session.id': a.sessionId,
    'scopetrail.scope.id': a.scopeId,
    'scopetrail.action.id': a.actionId,
    'scopetrail.action.kind': a.kind,
    'scopetrail.attempt': a.attempt,
    'scopetrail.status': a.status,
    // What the caller declared and, for an MCP call, what its server's receipt reports (labelled below).
    'scopetrail.resources': [...new Set([...a.resources, ...(receipt?.receipt.resources ?? [])].map((r) => `${r.mode} ${r.uri}`))],
    'scopetrail.mcp.receipt.server': receipt?.receipt.server ?? null,
    'scopetrail.mcp.receipt.outcome': receipt?.receipt.outcome ?? null,
    'scopetrail.mcp.receipt.resources': receipt ? receipt.receipt.resources.map((r) => `${r.mode} ${r.uri}`) : null,
    // `verified` when the server's signature vouches for the receipt; else forged, unsigned or unchecked: its claim only.
    'scopetrail.mcp.receipt.signature': receipt?.signature ?? null,
    'scopetrail.input_digest': a.inputDigest,
    'scopetrail.output_digest': a.outputDigest,
    'scopetrail.temporal.workflow_id': a.workflowId,
    'scopetrail.temporal.run_id': a.runId,
    'scopetrail.temporal.activity_id': a.activityId,
    'error.type': errorType(a),
    ...rest,
  });
}

function errorType(a: ActionRecord): string | null {
  if (a.status === 'denied') return 'denied';
  if (a.status !== 'error') return null;
  // An HTTP status from the model provider is the low-cardinality class the conventions ask for.
  const http = a.attributes.httpStatus;
  return typeof http === 'number' || typeof http === 'string' ? String(http) : '_OTHER';
}

function actionEvent(a: ActionRecord): GenAiSpanEvent {
  return {
    name: `scopetrail.${a.kind}`,
    time: a.startedAt,
    attributes: compact({
      'scopetrail.action.id': a.actionId,
      'scopetrail.action.kind': a.kind,
      'scopetrail.action.name': a.name,
      'scopetrail.attempt': a.attempt,
      'scopetrail.status': a.status,
      'scopetrail.target_scope.id': a.targetScopeId,
      'scopetrail.ended_at': a.endedAt,
      'scopetrail.error': plainOrNull(a.error),
    }),
  };
}

/** Text the workers encoded with their payload codec is not exported (a collector has no codec). */
function plainOrNull(text: string | null): string | null {
  return isEncodedText(text) ? null : text;
}

function spanStatus(status: string, error: string | null, unsaid: string = status): GenAiSpan['status'] {
  if (status === 'error' || status === 'denied') return { code: 'error', message: plainOrNull(error) ?? unsaid };
  return { code: 'unset' };
}

/** OTel attributes have no null: absent facts are left out rather than sent empty. */
function compact(attrs: Record<string, SpanAttributeValue | null | undefined>): SpanAttributes {
  const out: SpanAttributes = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

/** The first `width` hex digits of a digest; OTel treats an all-zero id as invalid. */
function nonZeroHex(digest: string, width: number): string {
  if (!/^[0-9a-f]+$/.test(digest) || digest.length < width) {
    throw new Error(`the id hash must return at least ${width} lowercase hex digits, got "${digest.slice(0, 40)}"`);
  }
  const id = digest.slice(0, width);
  return /^0+$/.test(id) ? `${id.slice(0, -1)}1` : id;
}
