/**
 * A session of three MCP calls whose server reports notes the caller's rows do not name:
 * one receipt its server signed, one rewritten after signing (forged), one unsigned. The
 * caller declares only the server's tool, read; the receipts say the server wrote a note.
 */
import type { Store } from '../../store/types';
import { signReceipt, type McpReceipt } from '../../cim/mcp-receipt';
import { delegationSigner, parseDelegationKey, type DelegationKey } from '../../store/delegation-key';
import { action, scope } from '../unit/fixtures';

export const RECEIPT_SESSION = 'mcp-receipts';

export async function writeReceiptSession(store: Store): Promise<{ key: DelegationKey }> {
  const key = parseDelegationKey('11'.repeat(32), 'test');
  const s = RECEIPT_SESSION;
  const at = { startedAt: '2026-03-01T10:00:00.000Z', endedAt: '2026-03-01T10:05:00.000Z' };
  const call = (n: number) => ({ startedAt: `2026-03-01T10:0${n}:00.000Z`, endedAt: `2026-03-01T10:0${n}:01.000Z` });
  await store.upsertScopes([scope(s, { sessionId: s, path: `/${s}/`, workflowId: s, ...at, allowance: ['mcp:notes/save', 'note:*'] })]);
  await store.upsertActions(
    [1, 2, 3].map((n) =>
      action(`${s}/a${n}#1`, s, {
        ...call(n), sessionId: s, workflowId: s, name: 'notes/save', agent: 'agent',
        resources: [{ uri: 'mcp:notes/save', mode: 'read' }], attributes: { 'mcp.server': 'notes', 'mcp.tool': 'save' },
      }),
    ),
  );
  const receipt = (n: number, uri: string): Omit<McpReceipt, 'signature'> => ({
    namespace: 'default', sessionId: s, scopeId: s, actionId: `${s}/a${n}#1`, attempt: 1, agent: 'agent', server: 'notes', tool: 'save',
    resources: [{ uri, mode: 'write' }], outcome: 'success', error: null, ...call(n),
  });
  const sign = delegationSigner(key);
  await store.receipts().upsert([
    signReceipt(receipt(1, 'note:k1'), sign, key.id),
    // Rewritten after the server signed it: it claims another note than the one the server reported.
    { ...signReceipt(receipt(2, 'note:k2'), sign, key.id), resources: [{ uri: 'note:forged', mode: 'write' }] },
    { ...receipt(3, 'note:k3'), signature: null },
  ]);
  return { key };
}
