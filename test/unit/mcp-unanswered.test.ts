/**
 * An MCP call that never heard back from its server: what it did is unknown, and `touched`
 * says so instead of a "no" that would not cover it. The human answer also shows the
 * receipts a "yes" rests on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { receiptDifferences, unansweredMcpCalls } from '../../cim/forensics';
import type { McpReceipt } from '../../cim/mcp-receipt';
import { renderTouched } from '../../client/format-forensics';
import { touchedProved } from '../../client/forensic-queries';
import type { TouchedReport } from '../../client/forensic-queries';
import { action } from './fixtures';

const mcp = (id: string, fields: Parameters<typeof action>[2] = {}) =>
  action(id, 's', { name: 'files/write', resources: [{ uri: 'mcp:files/write', mode: 'write' }], ...fields, attributes: { 'mcp.server': 'files', 'mcp.tool': 'write', ...(fields.attributes ?? {}) } });

const receipt = (actionId: string): McpReceipt => ({
  namespace: 'default', sessionId: 's', scopeId: 's', actionId, attempt: 1, agent: 'agent', server: 'files', tool: 'write',
  resources: [{ uri: 'file:/docs/d.txt', mode: 'write' }], outcome: 'success', error: null,
  startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:00:01.000Z',
});

test('a failed or running MCP call with no answer and no receipt is unanswered; an answer, a receipt, a read-only tool or a plain tool is not', () => {
  const died = mcp('s/a1#1', { status: 'error', error: 'fetch failed' });
  const waiting = mcp('s/a2#1', { status: 'running', endedAt: null });
  const refusedByServer = mcp('s/a3#1', { status: 'error', error: 'MCP tool files/write failed: no', attributes: { 'mcp.answered': true } });
  const receipted = mcp('s/a4#1', { status: 'error', error: 'timed out' });
  const readOnly = mcp('s/a5#1', { status: 'error', resources: [{ uri: 'mcp:files/read', mode: 'read' }] });
  const answered = mcp('s/a6#1', { attributes: { 'mcp.answered': true } });
  const plain = action('s/a7#1', 's', { status: 'error', resources: [{ uri: 'db:x', mode: 'write' }] });
  const found = unansweredMcpCalls([died, waiting, refusedByServer, receipted, readOnly, answered, plain], [receipt('s/a4#1')]);
  assert.deepEqual(found.map((a) => a.actionId), ['s/a1#1', 's/a2#1']);
});

const evidence = { sessionId: 's', runs: 1, expected: { scopes: 1, actions: 2 }, stored: { scopes: 1, actions: 2 }, differences: [] };

test('touched says UNKNOWN, not NO, when an unanswered MCP call could have touched the resource, and lists it', () => {
  const died = mcp('s/a1#1', { status: 'error', error: 'fetch failed' });
  const text = renderTouched({ scopeId: 's', resource: 'file:*', touched: false, actions: [], receipts: [], source: null, denied: [], outsideAllowance: [], unanswered: [died], running: [], evidence, sealProblems: [], receiptProblems: [], complete: true } as unknown as TouchedReport);
  assert.match(text, /^UNKNOWN — nothing recorded under s touched file:\*, but 1 MCP call\(s\) never heard back from their server and have no receipt/);
  assert.match(text, /Unanswered MCP calls[^\n]*\n {2}s agent: .*files\/write/);
  const none = renderTouched({ scopeId: 's', resource: 'file:*', touched: false, actions: [], receipts: [], source: null, denied: [], outsideAllowance: [], unanswered: [], running: [], evidence, sealProblems: [], receiptProblems: [], complete: true } as unknown as TouchedReport);
  assert.match(none, /^NO — nothing under s touched file:\*\./);
});

test('a NO the record cannot prove is UNKNOWN, and only a proved answer exits 0', () => {
  const base = { scopeId: 's', resource: 'db:notes', actions: [], receipts: [], source: null, denied: [], outsideAllowance: [], unanswered: [], running: [] as string[], receiptProblems: [] };
  const differences = [{ kind: 'missing', record: 'action', id: 's/a1#1', scopeId: 's', detail: 'history shows it' }];
  const contradicted = { ...base, touched: false, evidence: { ...evidence, differences }, sealProblems: [], complete: false } as unknown as TouchedReport;
  assert.match(renderTouched(contradicted), /^UNKNOWN — nothing stored under s touched db:notes, but the stored record disagrees with Temporal history or with its seals \(below\): it cannot show that db:notes was never touched\.\nWARNING: reconcile found 1 difference/);
  assert.equal(touchedProved(contradicted), false);
  assert.equal(touchedProved({ ...contradicted, complete: true }), true, 'a complete no');
  assert.equal(touchedProved({ ...contradicted, complete: true, unanswered: [mcp('s/a1#1', { status: 'error' })] }), false, 'a no with a call that never heard back');
  assert.equal(touchedProved({ ...contradicted, complete: true, touched: true, unanswered: [mcp('s/a1#1', { status: 'error' })] }), true, 'a yes stands');
  assert.equal(touchedProved({ ...contradicted, touched: true }), false, 'a yes from a contradicted record is not proved either');
  // A scope still running may yet touch it: a no is only "not yet", a yes stands.
  const running = { ...contradicted, complete: true, evidence, running: ['s.1'] } as unknown as TouchedReport;
  assert.equal(touchedProved(running), false);
  assert.equal(touchedProved({ ...running, touched: true }), true);
  assert.match(renderTouched(running), /^NOT YET — nothing under s has touched db:notes so far, but 1 scope\(s\) under it are still running \(s\.1\)/);
});

test('a yes resting on a server\'s receipt shows the receipt and says whose record it is', () => {
  const text = renderTouched({ scopeId: 's', resource: 'file:/docs/*', touched: true, actions: [], receipts: [receipt('s/a4#1')], source: 'receipt', denied: [], outsideAllowance: [], unanswered: [], evidence, sealProblems: [], receiptProblems: [], complete: true } as unknown as TouchedReport);
  assert.match(text, /^YES — file:\/docs\/\* was touched under s by 1 MCP server receipt\(s\) \(the servers' record\):/);
  assert.match(text, /receipt of MCP server files for write \(attempt 1, success\): write file:\/docs\/d\.txt/);
});

test('reconcile reports a call the caller never heard back from that the server carried out', () => {
  const gaveUp = mcp('s/a1#1', { status: 'error', error: 'MCP error -32001: Request timed out' });
  const answeredFailure = mcp('s/a2#1', { status: 'error', attributes: { 'mcp.answered': true, 'mcp.receipt': 'expected' } });
  const stillWaiting = mcp('s/a3#1', { status: 'running', endedAt: null });
  const diffs = receiptDifferences([gaveUp, answeredFailure, stillWaiting], [receipt('s/a1#1'), receipt('s/a2#1'), receipt('s/a3#1')]);
  assert.deepEqual(diffs.map((d) => [d.kind, d.id]), [['mismatched', 's/a1#1']]);
  assert.match(diffs[0]!.detail, /^outcome: caller error without an answer from MCP server files, receipt success: the server carried out files\/write \(attempt 1\) though the caller never heard back$/);
});
