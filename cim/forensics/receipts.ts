/**
 * Forensics with both sides' word: footprint and "was R touched?" say for each answer
 * whether it comes from the caller's action rows, from MCP servers' receipts, or both;
 * reconcile lists calls a server owed a receipt for and never recorded.
 */
import type { ActionRecord } from '../schemas';
import {
  MCP_ANSWERED_ATTRIBUTE, MCP_RECEIPT_ATTRIBUTE, MCP_SERVER_ATTRIBUTE, RECEIPT_EXPECTED, receiptFindingText, receiptSignatureFindings, type McpReceipt,
} from '../mcp-receipt';
import type { SignatureChecker } from '../keyed-signature';
import { footprint, matchesResource, scopesCovered, type FootprintAction, type FootprintEntry, type FootprintOptions, type ScopePlace } from './footprint';
import { byResource, earlier, later, uniqueSorted } from './shared';
import { allowancesOf, scopesOutsideAllowance } from './outside-allowance';
import { callReceiptKey } from '../call-receipt-key';

export type EvidenceSource = 'caller' | 'receipt' | 'both';

export interface SourcedFootprintEntry extends FootprintEntry {
  /** Whose record names this (resource, mode): the caller's actions, servers' receipts, or both. */
  source: EvidenceSource;
  /** Receipts that report it (each attempt's receipt counts). */
  receipts: number;
  /** MCP servers whose receipts report it, sorted. */
  servers: string[];
}

export function footprintWithReceipts(
  scopeId: string,
  scopes: readonly ScopePlace[],
  actions: readonly FootprintAction[],
  receipts: readonly McpReceipt[],
  options: FootprintOptions,
): SourcedFootprintEntry[] {
  // Built field by field: a spread per entry cost as much as the rest of a wide footprint.
  const caller = footprint(scopeId, scopes, actions, options).map(
    (e): SourcedFootprintEntry => ({
      uri: e.uri, mode: e.mode, actions: e.actions, tools: e.tools, scopes: e.scopes, agents: e.agents,
      firstAt: e.firstAt, lastAt: e.lastAt, outsideAllowance: e.outsideAllowance, outsideAllowanceScopes: e.outsideAllowanceScopes,
      source: 'caller', receipts: 0, servers: [],
    }),
  );
  const covered = scopesCovered(scopeId, scopes, options);
  const vouching = receipts.filter((r) => covered.has(r.scopeId));
  // Most scopes have no receipt: the caller's footprint is already in order.
  if (vouching.length === 0) return caller;
  const entries = new Map<string, SourcedFootprintEntry>(caller.map((e) => [`${e.mode}\u0000${e.uri}`, e]));
  const vouched = new Set<SourcedFootprintEntry>();
  for (const r of vouching) {
    const reported = new Map(r.resources.map((res) => [`${res.mode}\u0000${res.uri}`, res]));
    for (const [key, res] of reported) {
      const tool = `${r.server}/${r.tool}`;
      const e = entries.get(key);
      if (!e) {
        const added: SourcedFootprintEntry = {
          uri: res.uri, mode: res.mode, actions: 0, tools: [tool], scopes: [r.scopeId], agents: [r.agent],
          firstAt: r.startedAt, lastAt: r.endedAt, outsideAllowance: false, outsideAllowanceScopes: [],
          source: 'receipt', receipts: 1, servers: [r.server],
        };
        entries.set(key, added);
        vouched.add(added);
        continue;
      }
      vouched.add(e);
      e.source = e.actions > 0 ? 'both' : 'receipt';
      e.receipts += 1;
      e.tools = uniqueSorted([...e.tools, tool]);
      e.scopes = uniqueSorted([...e.scopes, r.scopeId]);
      e.agents = uniqueSorted([...e.agents, r.agent]);
      e.servers = uniqueSorted([...e.servers, r.server]);
      e.firstAt = earlier(e.firstAt, r.startedAt);
      e.lastAt = later(e.lastAt, r.endedAt);
    }
  }
  // A server's word counts as a touch: the scopes it names are held to their allowances too.
  const allowances = allowancesOf(scopes);
  for (const e of vouched) {
    e.outsideAllowanceScopes = scopesOutsideAllowance(e.uri, e.scopes, allowances);
    e.outsideAllowance = e.outsideAllowanceScopes.length > 0;
  }
  return [...entries.values()].sort(byResource);
}

/** Receipts under `scopeIds` reporting a resource that matches the pattern (exact uri or `prefix*`). */
export function receiptsTouching(receipts: readonly McpReceipt[], resource: string, scopeIds: ReadonlySet<string>): McpReceipt[] {
  return receipts.filter((r) => scopeIds.has(r.scopeId) && r.resources.some((res) => matchesResource(resource, res.uri)));
}

export function evidenceSource(callerHits: number, receiptHits: number): EvidenceSource | null {
  if (callerHits && receiptHits) return 'both';
  if (callerHits) return 'caller';
  return receiptHits ? 'receipt' : null;
}

export interface ReceiptDifference {
  kind: 'missing' | 'mismatched' | 'extra';
  record: 'receipt';
  id: string;
  scopeId: string;
  detail: string;
}

/**
 * Calls a server declared `receipts: true` answered, without a receipt under the same
 * action id — or with one that names another scope or tool than the caller's row.
 */
export function receiptDifferences(actions: readonly ActionRecord[], receipts: readonly McpReceipt[]): ReceiptDifference[] {
  const byAction = new Map(receipts.map((r) => [r.actionId, r]));
  const out: ReceiptDifference[] = [];
  for (const a of actions) {
    const r = byAction.get(a.actionId);
    const server = String(a.attributes[MCP_SERVER_ATTRIBUTE] ?? 'the server');
    // A call the caller gave up on (or whose server it lost) that the server carried out: the
    // caller's row says it failed, and its retries may have done the same work again.
    if (r && r.outcome === 'success' && a.status !== 'success' && a.status !== 'running' && a.attributes[MCP_ANSWERED_ATTRIBUTE] !== true && a.attributes[MCP_RECEIPT_ATTRIBUTE] !== RECEIPT_EXPECTED) {
      out.push({
        kind: 'mismatched', record: 'receipt', id: a.actionId, scopeId: a.scopeId,
        detail: `outcome: caller ${a.status} without an answer from MCP server ${server}, receipt success: the server carried out ${a.name} (attempt ${a.attempt}) though the caller never heard back`,
      });
      continue;
    }
    if (a.attributes[MCP_RECEIPT_ATTRIBUTE] !== RECEIPT_EXPECTED) continue;
    if (!r) {
      out.push({
        kind: 'missing', record: 'receipt', id: a.actionId, scopeId: a.scopeId,
        detail: `MCP server ${server} answered ${a.name} (attempt ${a.attempt}) but the store holds no receipt of it: the server recorded none, or its row was removed or moved`,
      });
      continue;
    }
    const diffs: string[] = [];
    if (r.scopeId !== a.scopeId) diffs.push(`scope: caller ${a.scopeId}, receipt ${r.scopeId}`);
    if (`${r.server}/${r.tool}` !== a.name) diffs.push(`tool: caller ${a.name}, receipt ${r.server}/${r.tool}`);
    if (diffs.length) out.push({ kind: 'mismatched', record: 'receipt', id: a.actionId, scopeId: a.scopeId, detail: diffs.join('; ') });
  }
  // A receipt of a call the session's records do not hold: a server's word nobody asked for, or a forged row.
  const called = new Set(actions.map((a) => a.actionId));
  for (const r of receipts) {
    if (called.has(r.actionId)) continue;
    out.push({
      kind: 'extra', record: 'receipt', id: r.actionId, scopeId: r.scopeId,
      detail: `MCP receipt of ${r.server}/${r.tool} names action ${r.actionId} under ${r.scopeId}, which the session's records do not hold`,
    });
  }
  return out;
}

export interface ReceiptSignatureProblem {
  /** `receipt_unchecked`: the reader has no key, or not the one the receipt was signed under. */
  kind: 'receipt_forged' | 'receipt_unsigned' | 'receipt_unchecked';
  id: string;
  scopeId: string;
  detail: string;
}

/**
 * The receipts that do not vouch for what they say: unsigned, not matching their signature,
 * or not checkable with the key the reader holds (`{ missing }`: none, and why).
 */
export function receiptSignatureProblems(
  receipts: readonly McpReceipt[],
  checker: SignatureChecker,
): ReceiptSignatureProblem[] {
  if ('missing' in checker) {
    return receipts.map((r) => ({
      kind: 'receipt_unchecked', id: r.actionId, scopeId: r.scopeId,
      detail: `MCP receipt of ${r.server}/${r.tool} for ${r.actionId} cannot be checked against its signature: ${checker.missing}`,
    }));
  }
  const kinds = { forged: 'receipt_forged', unsigned: 'receipt_unsigned', other_key: 'receipt_unchecked' } as const;
  return receiptSignatureFindings(receipts, checker).map((f) => ({
    kind: kinds[f.problem], id: f.receipt.actionId, scopeId: f.receipt.scopeId, detail: receiptFindingText(f, checker.keyId),
  }));
}

/**
 * MCP calls whose reach is unknown: they did not succeed, the server never answered (it
 * died, or the caller gave up waiting), and no receipt says what it did. The server may
 * have acted before it stopped, on anything: "nothing touched it" cannot rest on them. A
 * call that only reads (its tool says so) is left out; so is one the server answered,
 * deliberately failing, and one whose receipt arrived. `running`: still waiting.
 */
export function unansweredMcpCalls(actions: readonly ActionRecord[], receipts: readonly McpReceipt[]): ActionRecord[] {
  const receipted = new Set(receipts.map((r) => r.actionId));
  return actions.filter(
    (a) =>
      a.attributes[MCP_SERVER_ATTRIBUTE] !== undefined &&
      a.status !== 'success' &&
      a.status !== 'denied' &&
      a.attributes[MCP_ANSWERED_ATTRIBUTE] !== true &&
      !receipted.has(a.actionId) &&
      a.resources.some((r) => r.mode !== 'read'),
  );
}

/** How a receipt stands against its server's signature: `verified`, or why it vouches for nothing. */
export type ReceiptSignatureState = 'verified' | 'forged' | 'unsigned' | 'unchecked';

/** A call's receipt, with how it stands against its signature: what the exports carry of it. */
export interface CallReceipt {
  receipt: McpReceipt;
  signature: ReceiptSignatureState;
}

export { callReceiptKey };

/**
 * Each receipt under its call (`callReceiptKey`), checked against its signature as footprint and
 * touched check them (`receiptSignatureProblems`), so an export says what they say of it.
 */
export function receiptsByCall(receipts: readonly McpReceipt[], checker: SignatureChecker): Map<string, CallReceipt> {
  const states = { receipt_forged: 'forged', receipt_unsigned: 'unsigned', receipt_unchecked: 'unchecked' } as const;
  const problems = new Map(receiptSignatureProblems(receipts, checker).map((p) => [callReceiptKey(p.scopeId, p.id), states[p.kind]]));
  return new Map(
    receipts.map((r) => {
      const key = callReceiptKey(r.scopeId, r.actionId);
      return [key, { receipt: r, signature: problems.get(key) ?? 'verified' }];
    }),
  );
}
