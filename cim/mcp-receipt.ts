/**
 * A receipt: an MCP server's own record of a call it served under a verified delegation
 * (worker/mcp-server-middleware.ts writes it). The caller's action row says what the
 * caller asked for; the receipt says what the server did — which resources it touched
 * and how the call ended. Both are kept, each in its own table, so neither side's word
 * can overwrite the other's.
 */
import { z } from 'zod';
import { ResourceRef } from './schemas';

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
});
export type McpReceipt = z.infer<typeof McpReceipt>;

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
