/** What a person sees: agent-supplied text never drives the terminal, and --json keeps it exact. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildScopeTree } from '../../cim/scope-tree';
import { actionLine, renderActions, renderScope, renderTable, renderTree, scopeLine } from '../../client/format';
import { renderDrift, renderRootCause, renderSessions, renderStatus, renderTimeline, renderTouched } from '../../client/format-forensics';
import type { TimelineEvent } from '../../cim/forensics';
import type { SessionListing } from '../../client/forensic-queries';
import { treeJson } from '../../client/tree-json';
import { action, scope } from './fixtures';

const CLEAR_AND_TITLE = '\u001b[2J\u001b[H\u001b]0;owned\u0007';
const REWRITE_LINE = 'ok\r\u001b[1Aforged line\nsecond';
const C1_AND_DEL = 'csi\u009b31m del\u007f bidi\u202e';
/** Every character a terminal acts on, apart from the newlines between rendered lines. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/;

const root = scope('r', { sessionId: 'r', objective: CLEAR_AND_TITLE, status: 'error', error: REWRITE_LINE });
const child = scope('r.1', { sessionId: 'r', parentScopeId: 'r', path: '/r/r.1/', objective: C1_AND_DEL });
const act = action('r/a#1', 'r', {
  sessionId: 'r',
  name: `search${C1_AND_DEL}`,
  status: 'error',
  error: REWRITE_LINE,
  resources: [{ uri: `db:${CLEAR_AND_TITLE}`, mode: 'write' }],
});

test('tree and scope lines show control characters as escapes, one line per scope and action', () => {
  const text = renderTree(buildScopeTree('r', [root, child]), { actions: new Map([['r', [act]]]) });
  assert.doesNotMatch(text, CONTROL);
  assert.equal(text.split('\n').length, 4, 'session line, two scopes, one action: an embedded newline adds no line');
  assert.match(text, /\\x1b\[2J\\x1b\[H\\x1b\]0;owned\\x07/);
  assert.match(text, /ok\\x0d\\x1b\[1Aforged line\\x0asecond/);
  assert.match(text, /csi\\x9b31m del\\x7f bidi\\u202e/);
  assert.doesNotMatch(scopeLine(root), CONTROL);
  assert.doesNotMatch(actionLine(act), CONTROL);
});

test('a tree takes the actions of a session as a list too, each under its own scope, and counts them', () => {
  const other = action('r.1/a1#1', 'r.1', { sessionId: 'r' });
  const tree = buildScopeTree('r', [root, child]);
  const listed = renderTree(tree, { actions: [act, other] });
  assert.equal(listed, renderTree(tree, { actions: new Map([['r', [act]], ['r.1', [other]]]) }));
  assert.match(listed.split('\n')[0]!, /2 scopes, 2 actions$/);
  assert.doesNotMatch(renderTree(tree).split('\n')[0]!, /action/);
  // An action under a scope the session has no row for is drawn nowhere, so it is not counted as drawn.
  const orphan = action('r.9/a1#1', 'r.9', { sessionId: 'r' });
  const withOrphan = renderTree(tree, { actions: [act, other, orphan] });
  assert.match(withOrphan.split('\n')[0]!, /2 scopes, 2 actions \(and 1 action under no scope of the session, not drawn: scopetrail verify r names them\)$/);
  assert.doesNotMatch(withOrphan.split('\n').slice(1).join('\n'), /r\.9/);
});

test('tables escape every cell and stay aligned', () => {
  const text = renderActions([act, action('r/b#1', 'r', { sessionId: 'r' })]);
  assert.doesNotMatch(text, CONTROL);
  const [header, rule] = text.split('\n');
  assert.equal(text.split('\n').length, 4);
  assert.ok(header!.length <= rule!.length + 'resources'.length);
});

test('root cause, touched and status show errors and resources escaped', () => {
  const rc = renderRootCause('r', {
    agent: 'agent', scope: root, action: act, attempts: [act], chain: [root], links: [], impact: [], recoveredFailures: 0, otherFailures: [],
  } as unknown as Parameters<typeof renderRootCause>[1]);
  assert.doesNotMatch(rc, CONTROL);
  const status = renderStatus({ scope: root, children: [{
    scopeId: 'r.1', agent: C1_AND_DEL, status: 'success', recovered: false,
    handoffs: [{ scopeId: 'r.1~1', agent: CLEAR_AND_TITLE, status: 'error', recovered: false }],
    outcome: { scopeId: 'r.1~1', agent: CLEAR_AND_TITLE, status: 'error', recovered: false },
    attempt: 1, retryOf: null, retriedAs: null,
  }], calls: { total: 1, failedAttempts: 1, denied: 0, lostResults: 0 } });
  assert.doesNotMatch(status, CONTROL);
  const touched = renderTouched({
    scopeId: 'r', resource: `db:${CLEAR_AND_TITLE}`, touched: true, actions: [act], receipts: [], denied: [], unanswered: [], source: 'caller', sealProblems: [], receiptProblems: [], complete: true,
    outsideAllowance: [{ scopeId: 'r', uri: `db:${CLEAR_AND_TITLE}`, actionId: 'r/a1#1', source: 'caller' }],
    evidence: { sessionId: 'r', runs: 1, expected: { scopes: 1, actions: 1 }, stored: { scopes: 1, actions: 1 }, differences: [] },
  } as unknown as Parameters<typeof renderTouched>[0]);
  assert.doesNotMatch(touched, CONTROL);
  assert.match(touched, /WARNING: 1 touch\(es\) outside the allowance/);
});

test('--json keeps the exact values', () => {
  const doc = JSON.parse(JSON.stringify(treeJson(buildScopeTree('r', [root, child]), [act])));
  assert.ok(JSON.stringify(doc).includes(JSON.stringify(CLEAR_AND_TITLE).slice(1, -1)), 'the objective is unchanged');
  assert.ok(JSON.stringify(doc).includes(JSON.stringify(REWRITE_LINE).slice(1, -1)), 'the error is unchanged');
});

test('a table of 200 000 rows renders (no spread of a column into one call), and a cell past 2 000 characters is cut, saying how much', () => {
  const rows = Array.from({ length: 200_000 }, (_, i) => [String(i), 'x']);
  const out = renderTable(['n', 'v'], rows);
  assert.equal(out.split('\n').length, 200_002);
  assert.match(out.split("\n")[0]!, /^n {7}v$/, "the widest number sets the column");
  const long = renderTable(['error'], [['E'.repeat(50_000)]]);
  assert.ok(long.length < 4_300, `${long.length} characters: the cell and the rule under its header`);
  assert.match(long, /E… \(48000 more characters; --json has them all\)$/);
});

test('root cause shows an error of 50 000 characters as its first 2 000, saying how much more there is', () => {
  const long = { ...act, error: 'E'.repeat(50_000) };
  const rc = renderRootCause('r', {
    agent: 'agent', scope: root, action: long, attempts: [long, long], chain: [root], links: [], impact: [], recoveredFailures: 0, otherFailures: [],
  } as unknown as Parameters<typeof renderRootCause>[1]);
  assert.ok(rc.length < 10_000, `${rc.length} characters`);
  assert.equal(rc.match(/… \(48000 more characters; --json has them all\)/g)?.length, 3, 'the cause and both attempts');
});

test('one scope in full shows its mandate: who delegated it, its objective and what it may touch', () => {
  const s = scope('r.2', { parentScopeId: 'r', kind: 'delegation', delegatedBy: 'lead', objective: 'write the records', allowance: ['db:records/*'], status: 'error', error: 'disk full', failedBy: 'r.2' });
  const text = renderScope(s);
  assert.match(text, /^\[r\.2\] agent@1\.0\.0 · delegated by lead · error "write the records"/);
  assert.match(text, /\n {2}allowance +db:records\/\*\n/);
  assert.match(text, /\n {2}error +disk full\n/);
  assert.doesNotMatch(text, /handed off from/, 'only what the scope has');
  assert.match(renderScope(scope('r')), /allowance +unrestricted/);
  assert.match(renderScope(scope('r', { allowance: [] })), /allowance +nothing/);
  assert.doesNotMatch(renderScope(scope('r', { objective: `x${C1_AND_DEL}` })), CONTROL);
});

test('drift of an agent nothing was observed of says so for that agent, not that no agents were observed', () => {
  assert.equal(renderDrift([]), 'no agents observed');
  assert.match(renderDrift([], 'ghost'), /^ghost: nothing observed to judge yet \(drift counts the sealed scopes that ran its code/);
});

test('a scope shows what failed it in words: its own code, a delegation, or a call by its activity id', () => {
  const failed = (failedBy: string) => renderScope(scope('r.1', { sessionId: 'r', parentScopeId: 'r', path: '/r/r.1/', status: 'error', failedBy }));
  assert.match(failed('r.1'), /failed by +its own code \(r\.1\)$/m);
  assert.match(failed('r.1.2'), /failed by +delegation r\.1\.2$/m);
  assert.match(failed('3'), /failed by +a tool or model call \(activity id 3; scopetrail actions r\.1 lists it\)$/m);
});

test('a sessions table whose Temporal column could not be filled says why, rather than leaving a bare "?"', () => {
  const listing = (inTemporal: boolean | null) =>
    ({ sessionId: 's1', rootAgent: 'a', finalAgent: 'a', status: 'success', scopes: 1, actions: 1, failedActions: 0, startedAt: '2026-01-01T00:00:00.000Z', endedAt: null, inTemporal }) as SessionListing;
  assert.match(renderSessions([listing(null)]), /\n\ntemporal \?: Temporal did not answer \(check --address or TEMPORAL_ADDRESS\); the sessions are listed from the store alone$/);
  assert.doesNotMatch(renderSessions([listing(true)]), /did not answer/);
});

test('a success Temporal never heard of, whose call ran again, is said so in the tree and the actions table', () => {
  const first = action('s/a1#1', 's', { sessionId: 's', name: 'slowTool', activityId: '1', attempt: 1 });
  const second = action('s/a1#2', 's', { sessionId: 's', name: 'slowTool', activityId: '1', attempt: 2 });
  const tree = renderTree(buildScopeTree('s', [scope('s', { sessionId: 's' })]), { actions: [first, second] });
  const lines = tree.split('\n').filter((l) => l.includes('slowTool'));
  assert.match(lines[0]!, /slowTool #1 · success .*— its result never reached Temporal, which ran the call again$/);
  assert.doesNotMatch(lines[1]!, /never reached/);
  const table = renderActions([first, second]);
  assert.match(table, /\n! a success Temporal never heard of: it ran the call again, so the tool's work was done twice$/);
  assert.equal(table.split('\n').filter((l) => / success !/.test(l)).length, 1);
  // A single successful attempt is nothing of the kind.
  assert.doesNotMatch(renderActions([first]), /never heard/);
});

test('a long objective is cut in a timeline row and in a scope in full, saying how much more --json has', () => {
  const objective = `o${'x'.repeat(9_999)}`;
  const s = scope('r', { objective, error: 'e'.repeat(5_000), status: 'error' });
  const full = renderScope(s);
  assert.match(full, /objective +ox{1999}… \(8000 more characters; --json has them all\)/);
  assert.match(full, /error +e{2000}… \(3000 more characters/);
  const events: TimelineEvent[] = [
    { at: s.startedAt, type: 'scope_started', scopeId: 'r', agent: s.agent, actionId: null, text: `${s.agent}@1.0.0 started (root): ${objective}` },
    { at: s.startedAt, type: 'scope_ended', scopeId: 'r', agent: s.agent, actionId: null, text: `${s.agent} ended success` },
  ];
  const lines = renderTimeline(events).split('\n');
  // Every row is padded to the widest event: one objective must not make each row 10 000 characters.
  for (const line of lines) assert.ok(line.length < 250, `a row of ${line.length} characters`);
  assert.match(lines[2]!, /started \(root\): ox+…$/);
});
