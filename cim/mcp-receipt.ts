/**
 * A receipt: an MCP server's own record of a call it served under a verified delegation
 * (worker/mcp-server-middleware.ts writes it). The caller's action row says what the
 * caller asked for; the receipt says what the server did — which resources it touched
 * and how the call ended. Both are kept, each in its own table, so neither side's word
 * can overwrite the other's.
 */
import { z } from 'zod';
import { ResourceRef } from './schemas';
import { canonicalJson } from './canonical-json';
import type { Sign } from './mcp-meta';
import { KeyedSignature, signatureState, type Signer } from './keyed-signature';

/**
 * The server's HMAC-SHA256 over the receipt, under the delegation key (the key it checks
 * delegations with): see cim/keyed-signature.ts.
 */
export const ReceiptSignature = KeyedSignature;
export type ReceiptSignature = KeyedSignature;

export const McpReceipt = z.object({
  namespace: z.string().min(1),
  sessionId: z.string().min(1),
  scopeId: z.string().min(1),
  /** The caller's action id for the attempt (from the verified delegation). */
  actionId: z.string().min(1),
  attempt: z.number().int().min(1),
  agent: z.string().min(1),
  server: z.string().min(1),
  tool: z.string().min(1),
  resources: z.array(ResourceRef),
  outcome: z.enum(['success', 'error']),
  error: z.string().nullable(),
  startedAt: z.iso.datetime({ offset: true }),
  endedAt: z.iso.datetime({ offset: true }),
  /** Absent or null: a receipt written before receipts were signed, or by something else than the middleware. */
  signature: ReceiptSignature.nullable().optional(),
  /** Read from a row whose signature columns hold something that is not a signature: it vouches for nothing. */
  signatureInvalid: z.literal(true).optional(),
});
export type McpReceipt = z.infer<typeof McpReceipt>;

/**
 * The exact text signed: a domain tag (no delegation's signed text can equal it), then the
 * receipt as canonical JSON, its times as the store gives them back (UTC, milliseconds), so
 * the text is the same before the write and after any read.
 */
export function receiptSigningText(r: Omit<McpReceipt, 'signature'>): string {
  const { signature: _unsigned, signatureInvalid: _invalid, ...fields } = r as McpReceipt;
  return `scopetrail receipt v1\n${canonicalJson({
    ...fields,
    error: fields.error ?? null,
    startedAt: new Date(fields.startedAt).toISOString(),
    endedAt: new Date(fields.endedAt).toISOString(),
  })}`;
}

export function signReceipt(r: Omit<McpReceipt, 'signature'>, sign: Sign, keyId: string): McpReceipt {
  return { ...r, signature: { keyId, mac: sign(receiptSigningText(r)) } };
}

/** What a signature check of one receipt found (`checked` under the key the reader holds). */
export type ReceiptSignatureFinding =
  | { receipt: McpReceipt; problem: 'unsigned' | 'forged' }
  | { receipt: McpReceipt; problem: 'other_key'; keyId: string };

/**
 * The receipts whose signature does not vouch for them under `key`: none, one that does not
 * match its fields, or one signed under another key (which this reader cannot check).
 */
export function receiptSignatureFindings(receipts: readonly McpReceipt[], key: Signer): ReceiptSignatureFinding[] {
  const out: ReceiptSignatureFinding[] = [];
  for (const receipt of receipts) {
    const state = receipt.signatureInvalid ? 'forged' : signatureState(receiptSigningText(receipt), receipt.signature, key);
    if (state === 'unsigned' || state === 'forged') out.push({ receipt, problem: state });
    else if (state === 'other_key') out.push({ receipt, problem: 'other_key', keyId: receipt.signature!.keyId });
  }
  return out;
}

/** One sentence for a finding, naming the receipt. */
export function receiptFindingText(f: ReceiptSignatureFinding, readerKeyId: string): string {
  const what = `MCP receipt of ${f.receipt.server}/${f.receipt.tool} for ${f.receipt.actionId}`;
  switch (f.problem) {
    case 'unsigned':
      return `${what} carries no signature (written before receipts were signed, or not by a scopetrail MCP server): it vouches for nothing`;
    case 'forged':
      return `${what} does not match its signature: changed after the server wrote it, or not written by the server`;
    case 'other_key':
      return `${what} is signed under key ${f.keyId} (as its row says), this reader holds key ${readerKeyId}: give it the servers' delegation key (SCOPETRAIL_DELEGATION_KEY) to check it; if no server signs under ${f.keyId}, the row was rewritten`;
  }
}

/**
 * Attributes the caller's MCP tool puts on its action row. `mcp.receipt` is `expected`
 * only once a server declared with `receipts: true` has answered: a call that never
 * reached the server owes no receipt.
 */
export const MCP_SERVER_ATTRIBUTE = 'mcp.server';
export const MCP_TOOL_ATTRIBUTE = 'mcp.tool';
export const MCP_RECEIPT_ATTRIBUTE = 'mcp.receipt';
export const RECEIPT_EXPECTED = 'expected';
/**
 * Set on the caller's row once the server answered (a result or a deliberate error). A call
 * without it that did not succeed never heard back: the server may have acted before it
 * died or the caller gave up, and only a receipt could say what it did.
 */
export const MCP_ANSWERED_ATTRIBUTE = 'mcp.answered';

/** The resource every call of an MCP tool declares on the caller's side. */
export function mcpToolResource(server: string, tool: string): string {
  return `mcp:${server}/${tool}`;
}
