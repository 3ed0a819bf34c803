/** Human-readable renderings of scope trees and action lists (the CLI's default output). */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import { misplacedRoot, type ScopeNode, type ScopeTree } from '../cim/scope-tree';
import { visible } from './visible-text';
import { LOST_RESULT_NOTE, lostResults } from '../cim/forensics/calls';

export interface RenderTreeOptions {
  /**
   * The session's actions (as `actionsUnder(sessionId, { descendants: true })` gives them), or
   * the same grouped by scope id; when given, each scope lists its actions.
   */
  actions?: ReadonlyMap<string, ActionRecord[]> | readonly ActionRecord[];
}

function isActionList(actions: RenderTreeOptions['actions']): actions is readonly ActionRecord[] {
  return Array.isArray(actions);
}

/** Actions grouped by their scope id, in the order given. */
export function actionsByScope(actions: readonly ActionRecord[]): Map<string, ActionRecord[]> {
  const map = new Map<string, ActionRecord[]>();
  for (const a of actions) {
    const list = map.get(a.scopeId);
    if (list) list.push(a);
    else map.set(a.scopeId, [a]);
  }
  return map;
}

function scopeIdsOf(tree: ScopeTree): Set<string> {
  const ids = new Set<string>();
  const stack = [...tree.roots];
  while (stack.length) {
    const node = stack.pop()!;
    if (ids.has(node.scope.scopeId)) continue;
    ids.add(node.scope.scopeId);
    stack.push(...node.children, ...node.handoffs);
  }
  return ids;
}

/** How many levels of a tree are drawn indented. */
const MAX_INDENT = 40;

export function renderTree(tree: ScopeTree, options: RenderTreeOptions = {}): string {
  const lines: string[] = [];
  const scopeCount = tree.size;
  const byScope = isActionList(options.actions) ? actionsByScope(options.actions) : options.actions;
  // Counted as drawn: an action under a scope the session has no row for is drawn nowhere (verify names it).
  const drawn = byScope && scopeIdsOf(tree);
  const actionCount = byScope ? [...byScope].reduce((n, [id, a]) => n + (drawn!.has(id) ? a.length : 0), 0) : undefined;
  const undrawn = byScope ? [...byScope].reduce((n, [id, a]) => n + (drawn!.has(id) ? 0 : a.length), 0) : 0;
  lines.push(
    `Session ${visible(tree.sessionId)} — ${scopeCount} scope${scopeCount === 1 ? '' : 's'}` +
      (actionCount === undefined ? '' : `, ${actionCount} action${actionCount === 1 ? '' : 's'}`) +
      (undrawn ? ` (and ${undrawn} action${undrawn === 1 ? '' : 's'} under no scope of the session, not drawn: scopetrail verify ${visible(tree.sessionId)} names them)` : ''),
  );
  // Depth first with a stack of its own: a chain thousands of delegations deep must not overflow the call stack.
  type Item = { node: ScopeNode; prefix: string; last: boolean; edge: 'root' | 'delegation' | 'handoff'; depth: number };
  const stack: Item[] = tree.roots.map((node, i) => ({ node, prefix: '', last: i === tree.roots.length - 1, edge: 'root' as const, depth: 0 })).reverse();
  while (stack.length) {
    const { node, prefix, last, edge, depth } = stack.pop()!;
    const s = node.scope;
    // Past MAX_INDENT levels the indent stops growing (each line would otherwise be as long
    // as the chain is deep) and the level is written out instead.
    const branch = (edge === 'root' ? '' : last ? '└─' : '├─') + (depth > MAX_INDENT ? `[level ${depth}] ` : '');
    const marker = edge === 'handoff' ? '⇢ ' : '';
    const misplaced = edge === 'root' ? misplacedRoot(tree, node) : undefined;
    lines.push(`${prefix}${branch}${marker}${scopeLine(s)}${misplaced ? visible(` — shown as a root: ${misplaced} (run scopetrail verify)`) : ''}`);
    const inner = edge === 'root' || depth >= MAX_INDENT ? prefix : prefix + (last ? '  ' : '│ ');
    const actions = byScope?.get(s.scopeId) ?? [];
    const kids: Array<{ node: ScopeNode; edge: 'delegation' | 'handoff' }> = [
      // A handoff inside a delegation sits among the delegator's children, marked as the handoff it was.
      ...node.children.map((n) => ({ node: n, edge: n.scope.kind === 'handoff' ? ('handoff' as const) : ('delegation' as const) })),
      ...node.handoffs.map((n) => ({ node: n, edge: 'handoff' as const })),
    ];
    const actionPrefix = inner + (kids.length ? '│   ' : '    ');
    const lost = lostResults(actions);
    for (const a of actions) lines.push(`${actionPrefix}· ${actionLine(a, lost.has(a.actionId))}`);
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i]!.node, prefix: inner, last: i === kids.length - 1, edge: kids[i]!.edge, depth: depth + 1 });
  }
  return lines.join('\n');
}

export function scopeLine(s: ScopeRecord): string {
  const status = s.recovered ? `${s.status} (recovered)` : s.status;
  const how =
    s.kind === 'delegation'
      ? `delegated by ${s.delegatedBy}`
      : s.kind === 'handoff'
        ? `handoff from ${s.handoffFromScopeId}`
        : 'root';
  const objective = s.objective ? ` "${truncate(s.objective, 60)}"` : '';
  return visible(`[${s.scopeId}] ${s.agent}@${s.agentVersion} · ${how} · ${status}${objective}`) + duration(s.startedAt, s.endedAt);
}

/** One scope in full: its line, then who gave it its mandate, what it may touch, and how it ended. */
/** What `failedBy` names, in words: the scope's own code, a delegation, or a call (by its activity id). */
function failedByText(s: ScopeRecord): string | undefined {
  const by = s.failedBy;
  if (by === undefined) return undefined;
  if (by === s.scopeId) return `its own code (${by})`;
  // Delegations' scopes are named under the session's id; a call goes by its activity id.
  if (by === s.sessionId || by.startsWith(`${s.sessionId}.`) || by.startsWith(`${s.sessionId}~`)) return `delegation ${by}`;
  return `a tool or model call (activity id ${by}; scopetrail actions ${s.scopeId} lists it)`;
}

export function renderScope(s: ScopeRecord): string {
  const allowance = s.allowance === null ? 'unrestricted (no resources declared on the way down)' : s.allowance.length ? s.allowance.join(', ') : 'nothing';
  const rows: Array<[string, string | null | undefined]> = [
    ['session', s.sessionId],
    ['kind', s.kind],
    ['parent', s.parentScopeId],
    ['delegated by', s.delegatedBy],
    ['handed off from', s.handoffFromScopeId],
    ['objective', s.objective === null ? null : clipped(s.objective)],
    ['allowance', allowance],
    ['status', s.recovered ? `${s.status} (recovered)` : s.status],
    ['error', s.error === null ? null : clipped(s.error)],
    ['failed by', failedByText(s)],
    ['started', s.startedAt],
    ['ended', s.endedAt],
    ['workflow', `${s.workflowId} (run ${s.runId})`],
  ];
  const shown = rows.filter((r): r is [string, string] => r[1] !== null && r[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length));
  return [scopeLine(s), ...shown.map(([k, v]) => visible(`  ${k.padEnd(width)}  ${v}`))].join('\n');
}

/** `lost`: a success Temporal never heard of, which it ran again (cim/forensics/calls.ts lostResults). */
export function actionLine(a: ActionRecord, lost = false): string {
  const attempt = a.kind === 'tool_call' || a.kind === 'llm_call' ? ` #${a.attempt}` : '';
  const target = a.targetScopeId ? ` → ${a.targetScopeId}` : '';
  const resources = a.resources.length ? ` {${a.resources.map((r) => `${r.mode} ${r.uri}`).join(', ')}}` : '';
  const error = a.error ? ` — ${truncate(a.error, 80)}` : lost ? ` — ${LOST_RESULT_NOTE}` : '';
  return visible(`${a.kind} ${a.name}${attempt}${target} · ${a.status}${resources}${llmUsage(a)}${duration(a.startedAt, a.endedAt)}${error}`);
}

/** An LLM call's served model and tokens in → out, e.g. ` [gpt-4o-mini-2024-07-18, 412→57 tokens]`. */
function llmUsage(a: ActionRecord): string {
  const { model, inputTokens, outputTokens } = a.attributes;
  if (a.kind !== 'llm_call' || typeof model !== 'string') return '';
  const tokens = typeof inputTokens === 'number' && typeof outputTokens === 'number' ? `, ${inputTokens}→${outputTokens} tokens` : '';
  return ` [${model}${tokens}]`;
}

/** A fixed-width table; `rows` are already strings, shown with their control characters escaped. */
/** The longest cell a table for people shows whole; `--json` keeps every value as stored. */
const MAX_CELL = 2_000;

export function renderTable(headers: string[], raw: string[][]): string {
  const rows = raw.map((r) => r.map((c) => cell(c ?? '')));
  // A loop, not Math.max(...column): a column of 200 000 rows would overflow the call stack.
  const widths = headers.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length);
  const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function cell(text: string): string {
  return visible(clipped(text));
}

/** Text for people: its first 2 000 characters, saying how many more `--json` has. */
export function clipped(text: string): string {
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL)}… (${text.length - MAX_CELL} more characters; --json has them all)` : text;
}

export function renderActions(actions: readonly ActionRecord[]): string {
  const lost = lostResults(actions);
  const table = renderTable(
    ['started', 'scope', 'agent', 'kind', 'name', 'try', 'status', 'resources'],
    actions.map((a) => [
      a.startedAt.slice(11, 23),
      a.scopeId,
      a.agent,
      a.kind,
      a.name,
      String(a.attempt),
      lost.has(a.actionId) ? `${a.status} !` : a.status,
      a.resources.map((r) => `${r.mode}:${r.uri}`).join(' '),
    ]),
  );
  const n = lost.size;
  return n ? `${table}\n! ${n === 1 ? 'a success' : `${n} successes`} Temporal never heard of: it ran the call again, so the tool's work was done twice` : table;
}

function duration(start: string, end: string | null): string {
  if (!end) return '';
  const ms = Date.parse(end) - Date.parse(start);
  return ms >= 1000 ? ` (${(ms / 1000).toFixed(2)} s)` : ` (${ms} ms)`;
}

/** `text` cut to `max` characters for a line of a table; `--json` carries it whole. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
