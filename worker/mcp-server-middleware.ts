/**
 * The MCP server's side of a scopetrail call: a wrapper for `McpServer` tool handlers
 * (official SDK) that checks the signed `io.scopetrail/delegation` object in the
 * request's `_meta` and records the server's own receipt — tool, resources it reports,
 * outcome — under the caller's scope in the CIM store, signed under the same key.
 *
 *   const vouch = scopetrailMcp({ server: 'files', store });
 *   server.registerTool('read', { inputSchema }, vouch.tool('read', async (args, extra, receipt) => {
 *     receipt.reportResource({ uri: `file:${args.path}`, mode: 'read' });
 *     return { content: [...] };
 *   }));
 */
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { DELEGATION_REFUSED, verifyDelegation, type SignedDelegation } from '../cim/mcp-meta';
import { signReceipt, type McpReceipt } from '../cim/mcp-receipt';
import { ResourceRef } from '../cim/schemas';
import { invalidField } from '../cim/invalid-field';
import type { ReceiptStore } from '../store/receipt-store';
import { delegationSigner, loadDelegationKey, type DelegationKey } from '../store/delegation-key';

export interface ScopetrailMcpOptions {
  /** The name callers give this server in connectMcpServer(): delegations are signed for it. */
  server: string;
  /** Where receipts go: a scopetrail store (its receipts()) or a receipt store. */
  store: { receipts(): ReceiptStore } | ReceiptStore;
  /** Default: $SCOPETRAIL_DELEGATION_KEY, else derived from the deployment key (store/delegation-key.ts). */
  key?: DelegationKey;
  maxAgeMs?: number;
  clockSkewMs?: number;
  now?: () => Date;
  /** A receipt the store refused (the call is answered anyway; reconcile then reports the gap). */
  onReceiptError?: (err: Error, receipt: McpReceipt) => void;
}

export interface Receipt {
  /** The verified delegation the call arrived with. */
  readonly delegation: SignedDelegation;
  /** Adds a resource the server touched for this call to its receipt. */
  reportResource(resource: ResourceRef): void;
}

interface ToolResult {
  content?: Array<{ type: string; text?: unknown }>;
  isError?: boolean;
}

export { DELEGATION_REFUSED };

export function scopetrailMcp(options: ScopetrailMcpOptions) {
  const key = options.key ?? loadDelegationKey();
  const sign = delegationSigner(key);
  const receipts = 'receipts' in options.store ? options.store.receipts() : options.store;
  const now = options.now ?? (() => new Date());
  const report =
    options.onReceiptError ??
    ((err: Error, r: McpReceipt) => console.error(`scopetrail: could not record the receipt of ${r.actionId}: ${err.message}`));

  return {
    tool<A, E extends { _meta?: unknown }, R extends ToolResult>(
      tool: string,
      handler: (args: A, extra: E, receipt: Receipt) => R | Promise<R>,
      declared: { resources?: ResourceRef[] } = {},
    ): (args: A, extra: E) => Promise<R> {
      return async (args, extra) => {
        const verdict = verifyDelegation(extra._meta, { sign, keyId: key.id, server: options.server, tool, now: now(), maxAgeMs: options.maxAgeMs, clockSkewMs: options.clockSkewMs });
        // Nothing is recorded for a refused call: its claims are exactly what cannot be trusted.
        if (!verdict.ok) throw new McpError(ErrorCode.InvalidParams, `${DELEGATION_REFUSED}: ${verdict.reason}`);
        const d = verdict.delegation;
        const resources: ResourceRef[] = [...(declared.resources ?? [])];
        const receipt: Receipt = {
          delegation: d,
          reportResource(resource) {
            const parsed = ResourceRef.safeParse(resource);
            if (!parsed.success) throw new TypeError(invalidField('reportResource', parsed.error, 'resource'));
            resources.push(parsed.data);
          },
        };
        const startedAt = now().toISOString();
        const write = async (outcome: McpReceipt['outcome'], error: string | null) => {
          // Signed under the key the delegation was checked with: verify and touched hold the row to it.
          const record = signReceipt({
            namespace: d.namespace, sessionId: d.sessionId, scopeId: d.scopeId, actionId: d.actionId, attempt: d.attempt,
            agent: d.agent, server: options.server, tool, resources: dedupe(resources), outcome, error, startedAt, endedAt: now().toISOString(),
          }, sign, key.id);
          // Awaited before the answer: a caller that got a result can count on its receipt being there.
          await receipts.upsert([record]).catch((err: Error) => report(err, record));
        };
        let result: R;
        try {
          result = await handler(args, extra, receipt);
        } catch (err) {
          await write('error', err instanceof Error ? err.message : String(err));
          throw err;
        }
        await write(result.isError ? 'error' : 'success', result.isError ? errorText(result) : null);
        return result;
      };
    },
  };
}

function errorText(result: ToolResult): string {
  return (result.content ?? []).filter((c) => c.type === 'text' && typeof c.text === 'string').map((c) => c.text as string).join(' ') || 'error';
}

function dedupe(resources: ResourceRef[]): ResourceRef[] {
  return [...new Map(resources.map((r) => [`${r.mode} ${r.uri}`, r])).values()];
}
