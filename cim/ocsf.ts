/**
 * CIM records as OCSF 1.9 events for security tooling: every action of a scope is one
 * API Activity event (class 6003), in chain order. Tool, LLM and MCP attempts and
 * refusals are the calls themselves; delegations, handoffs, signals and budget stops are
 * events too, so a SIEM can follow the chain of authority and so every link of the
 * scope's hash chain has its event (a verifier walking `prev_event` never meets a gap).
 *
 * Pure and deterministic: ids come from the records through the hash the caller passes
 * in, so exporting the same records again gives byte-identical lines, and trace and
 * span ids are the OpenTelemetry export's (cim/otel-genai.ts).
 */
import type { ActionRecord, ResourceRef, ScopeRecord } from './schemas';
import type { CallReceipt } from './forensics/receipts';
import { recordSpanId, sessionTraceId } from './otel-genai';
import { OCSF_VERSION, ocsfClass } from './ocsf-schema';

export type OcsfEvent = Record<string, unknown>;

/** A scope's link in its hash chain, as sealed by the store (store/chain.ts). */
export interface OcsfChainLink {
  seq: number;
  prevHash: string;
  hash: string;
}

export interface OcsfScopeInput {
  scope: ScopeRecord;
  /**
   * Actions with their chain link; the link is null while the scope is not sealed. An MCP
   * call's `receipt` (with how it stands against its signature) adds the resources the
   * server reports, as footprint counts them (cim/forensics/receipts.ts).
   */
  actions: ReadonlyArray<{ record: ActionRecord; link: OcsfChainLink | null; receipt?: CallReceipt }>;
}

export interface OcsfMappingOptions {
  /** Lowercase hex digest of a text, at least 32 characters (sha-256 in the exporter). */
  hash: (text: string) => string;
  /** The scopetrail version, reported as metadata.product.version. */
  productVersion: string;
  /** End time for records still running: a span must end, and the store has no end yet. */
  now: string;
}

export const API_ACTIVITY_CLASS_UID = 6003;
const API_ACTIVITY = ocsfClass(API_ACTIVITY_CLASS_UID)!;
/** How the chain hash is computed (store/chain.ts): sha-256 over the previous hash, "\n", and the canonical JSON of the CIM record. */
export const CHAIN_SERIALIZATION = 'scopetrail-chain-v1: sha256(prev_hash + "\\n" + canonical JSON of the CIM action record)';

const EVENT_KINDS = new Set<ActionRecord['kind']>(['delegate', 'handoff', 'signal', 'budget_exceeded']);

/** The uid of an action's event (metadata.uid): 32 hex digits, the same on every export. */
export function ocsfEventUid(namespace: string, actionId: string, hash: OcsfMappingOptions['hash']): string {
  return hash(`scopetrail ocsf\n${namespace}\n${actionId}`).slice(0, 32);
}

/** Who issued the delegations and sealed the chains: the scopetrail runtime of one Temporal namespace. */
export function ocsfIssuerUid(namespace: string): string {
  return `scopetrail:${namespace}`;
}

/** The chain_uid of a scope's hash chain. */
export function ocsfChainUid(scope: Pick<ScopeRecord, 'namespace' | 'scopeId'>): string {
  return `${scope.namespace}/${scope.scopeId}`;
}

/** Actions in chain order: the sealed sequence, else the order the store seals in (start, then id). */
function ordered(actions: OcsfScopeInput['actions']): OcsfScopeInput['actions'] {
  return [...actions].sort(
    (a, b) =>
      (a.link?.seq ?? Infinity) - (b.link?.seq ?? Infinity) ||
      Date.parse(a.record.startedAt) - Date.parse(b.record.startedAt) ||
      (a.record.actionId < b.record.actionId ? -1 : a.record.actionId > b.record.actionId ? 1 : 0),
  );
}

/** The events of one scope, in chain order. */
export function scopeToOcsfEvents(input: OcsfScopeInput, options: OcsfMappingOptions): OcsfEvent[] {
  const { scope } = input;
  let previous: { uid: string; typeUid: number; hash: string } | null = null;
  return ordered(input.actions).map(({ record, link, receipt }) => {
    const event = actionEvent(scope, record, link, receipt, previous, options);
    previous = link ? { uid: (event.metadata as { uid: string }).uid, typeUid: event.type_uid as number, hash: link.hash } : null;
    return event;
  });
}

/** Every event of a session: scopes in start order, each scope's actions in chain order. */
export function sessionToOcsfEvents(scopes: readonly OcsfScopeInput[], options: OcsfMappingOptions): OcsfEvent[] {
  return [...scopes]
    .sort((a, b) => Date.parse(a.scope.startedAt) - Date.parse(b.scope.startedAt) || (a.scope.scopeId < b.scope.scopeId ? -1 : 1))
    .flatMap((s) => scopeToOcsfEvents(s, options));
}

function actionEvent(
  scope: ScopeRecord,
  a: ActionRecord,
  link: OcsfChainLink | null,
  receipt: CallReceipt | undefined,
  previous: { uid: string; typeUid: number; hash: string } | null,
  options: OcsfMappingOptions,
): OcsfEvent {
  const { hash } = options;
  const ns = scope.namespace;
  const [activityId, activityName] = activity(a, receipt);
  const [statusId, status] = outcome(a);
  const [severityId, severity] = a.status === 'denied' ? [3, 'Medium'] : a.status === 'error' ? [2, 'Low'] : [1, 'Informational'];
  const uid = ocsfEventUid(ns, a.actionId, hash);
  const isSpanEvent = EVENT_KINDS.has(a.kind);
  const ms = (iso: string) => Date.parse(iso);
  const scopeSpan = recordSpanId('scope', ns, scope.scopeId, hash);
  const span = isSpanEvent
    ? compact({
        // Delegations, handoffs and signals are events on the scope's span in the OTel export.
        uid: scopeSpan,
        parent_uid: scope.parentScopeId ? recordSpanId('scope', ns, scope.parentScopeId, hash) : null,
        operation: 'invoke_agent',
        start_time: ms(scope.startedAt),
        end_time: ms(scope.endedAt ?? options.now),
      })
    : compact({
        uid: recordSpanId('action', ns, a.actionId, hash),
        parent_uid: scopeSpan,
        operation: a.kind === 'llm_call' ? 'chat' : 'execute_tool',
        start_time: ms(a.startedAt),
        end_time: Math.max(ms(a.endedAt ?? options.now), ms(a.startedAt)),
      });
  const failed = a.status === 'error' || a.status === 'denied';
  const code = failed ? statusCode(a) : null;
  const { service, operation } = apiTarget(a);
  const model = text(a, 'model') ?? text(a, 'requestedModel');
  const provider = text(a, 'provider');
  return compact({
    class_uid: API_ACTIVITY.uid,
    class_name: API_ACTIVITY.caption,
    category_uid: API_ACTIVITY.categoryUid,
    category_name: API_ACTIVITY.categoryName,
    activity_id: activityId,
    activity_name: activityName,
    type_uid: API_ACTIVITY.uid * 100 + activityId,
    // The type is named by the schema's caption ("Other" for 99); activity_name keeps the specific label.
    type_name: `${API_ACTIVITY.caption}: ${API_ACTIVITY.attributes.get('activity_id')!.enum![activityId]!.caption}`,
    severity_id: severityId,
    severity,
    time: ms(a.startedAt),
    message: describe(a),
    status_id: statusId,
    status,
    status_code: code,
    status_detail: failed ? (a.error ?? a.status) : null,
    metadata: compact({
      version: OCSF_VERSION,
      uid,
      product: { name: 'scopetrail', vendor_name: 'scopetrail', version: options.productVersion },
      profiles: link ? ['ai_operation', 'trace', 'record_integrity'] : ['ai_operation', 'trace'],
      log_name: 'scopetrail',
      event_code: a.kind,
      correlation_uid: a.sessionId,
      tenant_uid: ns,
    }),
    actor: { app_name: a.agent, app_uid: scope.scopeId, session: { uid: a.sessionId } },
    api: compact({
      operation,
      service,
      request: { uid: a.actionId },
      response: failed ? compact({ error: code, error_message: a.error }) : null,
    }),
    resources: resources(a, receipt),
    src_endpoint: { svc_name: `temporal:${ns}`, uid: `${a.workflowId}/${a.runId}` },
    ai_agent: compact({
      uid: scope.agent,
      name: scope.agent,
      version: scope.agentVersion,
      instance_uid: scope.scopeId,
      type_id: 99,
      type: 'scopetrail',
      ai_model: a.kind === 'llm_call' && model && provider ? { name: model, ai_provider: provider } : null,
    }),
    delegation: compact({
      uid: scope.scopeId,
      parent_uid: scope.parentScopeId,
      created_time: ms(scope.startedAt),
      issuer_uid: ocsfIssuerUid(ns),
    }),
    trace: { uid: sessionTraceId(ns, a.sessionId, hash), span },
    attestation_list: link
      ? [
          compact({
            uid: `${ocsfChainUid(scope)}#${link.seq}`,
            chain_uid: ocsfChainUid(scope),
            authority_uid: ocsfIssuerUid(ns),
            fingerprint: fingerprint(link.hash),
            // The first link's previous hash is the chain's genesis, not an event: OCSF leaves prev_event out there.
            prev_event: previous ? { uid: previous.uid, type_uid: previous.typeUid, fingerprint: fingerprint(previous.hash) } : null,
          }),
        ]
      : null,
    unmapped: {
      scopetrail: compact({
        action_id: a.actionId,
        action_kind: a.kind,
        attempt: a.attempt,
        scope_id: a.scopeId,
        scope_kind: scope.kind,
        handoff_from_scope_id: scope.handoffFromScopeId,
        delegated_by: scope.delegatedBy,
        target_scope_id: a.targetScopeId,
        input_digest: a.inputDigest,
        output_digest: a.outputDigest,
        action_status: a.status,
        workflow_id: a.workflowId,
        run_id: a.runId,
        activity_id: a.activityId,
        chain_seq: link?.seq ?? null,
        chain_prev_hash: link?.prevHash ?? null,
        attributes: Object.keys(a.attributes).length > 0 ? a.attributes : null,
        // What the MCP server's receipt says of the call, and whether its signature vouches for it.
        receipt: receipt
          ? {
              server: receipt.receipt.server,
              tool: receipt.receipt.tool,
              outcome: receipt.receipt.outcome,
              signature: receipt.signature,
              resources: receipt.receipt.resources.map((r) => `${r.mode} ${r.uri}`),
            }
          : null,
      }),
    },
  });
}

/**
 * Write wins over share over read: the event is classed by the strongest thing the call did,
 * as the caller declared it or a receipt its server signed reports it.
 */
function activity(a: ActionRecord, receipt: CallReceipt | undefined): [number, string] {
  if (a.kind === 'delegate') return [1, 'Create'];
  if (a.kind === 'handoff') return [99, 'Handoff'];
  if (a.kind === 'signal') return [99, 'Signal'];
  if (a.kind === 'budget_exceeded') return [99, 'Budget Exceeded'];
  const vouched = receipt?.signature === 'verified' ? receipt.receipt.resources : [];
  const modes = new Set([...a.resources, ...vouched].map((r) => r.mode));
  if (modes.has('write')) return [3, 'Update'];
  if (modes.has('share')) return [99, 'Share'];
  if (modes.has('read')) return [2, 'Read'];
  return [99, 'Call'];
}

function outcome(a: ActionRecord): [number, string] {
  switch (a.status) {
    case 'success':
      return [1, 'Success'];
    case 'error':
    case 'denied':
      return [2, 'Failure'];
    case 'running':
      return [99, 'Running'];
    case 'cancelled':
      return [99, 'Cancelled'];
  }
}

function statusCode(a: ActionRecord): string {
  if (a.status === 'denied') return 'denied';
  const http = a.attributes.httpStatus;
  return typeof http === 'number' || typeof http === 'string' ? String(http) : 'error';
}

function apiTarget(a: ActionRecord): { service: { name: string }; operation: string } {
  if (a.kind === 'llm_call') return { service: { name: text(a, 'provider') ?? 'llm' }, operation: 'chat' };
  // MCP tools are named <server>/<tool> and declare the resource mcp:<server>/<tool>.
  if (a.resources.some((r) => r.uri === `mcp:${a.name}`) && a.name.includes('/')) {
    const slash = a.name.indexOf('/');
    return { service: { name: `mcp:${a.name.slice(0, slash)}` }, operation: a.name.slice(slash + 1) };
  }
  if (EVENT_KINDS.has(a.kind)) return { service: { name: 'scopetrail' }, operation: a.kind };
  return { service: { name: 'scopetrail' }, operation: a.name };
}

/**
 * The call's targets: what the caller declared, and what its MCP server's receipt reports
 * (as footprint counts it), labelled `reported_by:mcp:<server>` and `receipt:<state>`:
 * `receipt:verified` when the server's signature vouches for the receipt, else `forged`,
 * `unsigned` or `unchecked` (the exporter lacks the servers' delegation key) — the
 * receipt's claim, not a verified touch.
 */
function resources(a: ActionRecord, receipt: CallReceipt | undefined): OcsfEvent[] | null {
  const target = (r: ResourceRef): OcsfEvent & { labels: string[] } => ({
    uid: r.uri,
    name: r.uri,
    type: r.uri.includes(':') ? r.uri.slice(0, r.uri.indexOf(':')) : 'resource',
    role_id: 1,
    role: 'Target',
    labels: [`mode:${r.mode}`],
  });
  const list: OcsfEvent[] = a.resources.map(target);
  if (receipt) {
    const byKey = new Map(a.resources.map((r, i) => [`${r.mode}\u0000${r.uri}`, list[i] as ReturnType<typeof target>]));
    const labels = [`reported_by:mcp:${receipt.receipt.server}`, `receipt:${receipt.signature}`];
    for (const r of receipt.receipt.resources) {
      const key = `${r.mode}\u0000${r.uri}`;
      const entry = byKey.get(key) ?? target(r);
      if (!byKey.has(key)) {
        byKey.set(key, entry);
        list.push(entry);
      }
      entry.labels.push(...labels.filter((l) => !entry.labels.includes(l)));
    }
  }
  if ((a.kind === 'delegate' || a.kind === 'handoff') && a.targetScopeId) {
    list.push({ uid: a.targetScopeId, name: a.name, type: a.kind === 'delegate' ? 'delegation' : 'handoff', role_id: 1, role: 'Target' });
  }
  return list.length > 0 ? list : null;
}

function describe(a: ActionRecord): string {
  const outcomeText = a.status === 'denied' ? `refused: ${a.error ?? 'outside its allowance'}` : a.error ? `${a.status}: ${a.error}` : a.status;
  switch (a.kind) {
    case 'delegate':
      return `${a.agent} delegated to ${a.name} (${outcomeText})`;
    case 'handoff':
      return `${a.agent} handed off to ${a.name} (${outcomeText})`;
    case 'signal':
      return `${a.agent} received signal ${a.name} (${outcomeText})`;
    case 'budget_exceeded':
      return `${a.agent} stopped at its budget (${a.name})`;
    case 'llm_call':
      return `${a.agent} called model ${text(a, 'requestedModel') ?? text(a, 'model') ?? a.name}, attempt ${a.attempt} (${outcomeText})`;
    default:
      return `${a.agent} called ${a.name}, attempt ${a.attempt} (${outcomeText})`;
  }
}

function fingerprint(value: string): OcsfEvent {
  return { algorithm_id: 3, algorithm: 'SHA-256', value, encoding_id: 1, encoding: 'Hex', serialization_id: 99, serialization: CHAIN_SERIALIZATION };
}

function text(a: ActionRecord, key: string): string | null {
  const v = a.attributes[key];
  return typeof v === 'string' && v !== '' ? v : null;
}

/** OCSF leaves absent facts out rather than sending null. */
function compact(obj: Record<string, unknown>): OcsfEvent {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== null && v !== undefined));
}
