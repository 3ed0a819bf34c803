/** The key of a call's MCP receipt (receiptsByCall, cim/forensics/receipts.ts): its scope and action id. Kept apart: the span mapping imports it without the receipt checks. */
export function callReceiptKey(scopeId: string, actionId: string): string {
  return `${scopeId}\u0000${actionId}`;
}
