/**
 * Forensic queries over CIM rows. Every fixture is parsed by the real zod schemas
 * (see ./fixtures and `manifest` below), so these rows are rows the store could hold.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Manifest, SubAgentRef, type ActionRecord, type ManifestInput, type ScopeRecord } from '../../cim/schemas';
import { handoffPath } from '../../cim/ids';
import {
  deniedUnder,
  delegationOutcomes,
  drift,
  footprint,
  groupCalls,
  lostResults,
  matchesResource,
  parseSubAgentRef,
  roles,
  rootCause,
  scopeChain,
  sessionSummary,
  timeline,
  touches,
} from '../../cim/forensics';
import { action, scope } from './fixtures';
import { renderRootCause, renderStatus } from '../../client/format-forensics';

// ───────────────────────────── fixtures ─────────────────────────────

const BASE = Date.UTC(2026, 0, 1);
/** An instant `n` milliseconds into the session. */
const t = (n: number) => new Date(BASE + n).toISOString();

const PinnedManifest = Manifest;

function manifest(input: ManifestInput): Manifest {
  const pinned = (input.subAgents ?? []).some((s) => s.includes('@'));
  return pinned ? PinnedManifest.parse(input) : Manifest.parse(input);
}

/** A delegation scope `id` under `parent`, with the path and depth the runtime would give it. */
function child(id: string, parent: ScopeRecord, fields: Partial<ScopeRecord> = {}): ScopeRecord {
  return scope(id, {
    parentScopeId: parent.scopeId,
    kind: 'delegation',
    delegatedBy: parent.agent,
    path: `${parent.path}${id}/`,
    depth: parent.depth + 1,
    ...fields,
  });
}

/** A handoff scope `id` that took over from `from`. */
/** A handoff keeps the parent of the scope it took over from (none at the top of a session). */
function handedTo(id: string, from: ScopeRecord, fields: Partial<ScopeRecord> = {}): ScopeRecord {
  return scope(id, {
    kind: 'handoff',
    parentScopeId: from.parentScopeId,
    handoffFromScopeId: from.scopeId,
    delegatedBy: null,
    path: handoffPath(from, id),
    depth: from.depth,
    workflowId: from.workflowId,
    ...fields,
  });
}

/** One attempt of a tool call, with the id the recorder gives it. */
function attempt(
  s: ScopeRecord,
  activityId: string,
  n: number,
  name: string,
  status: ActionRecord['status'],
  start: number,
  fields: Partial<ActionRecord> = {},
): ActionRecord {
  return action(`${s.scopeId}/a${activityId}#${n}`, s.scopeId, {
    agent: s.agent,
    kind: 'tool_call',
    name,
    attempt: n,
    activityId,
    status,
    error: status === 'error' ? `${name} failed` : null,
    startedAt: t(start),
    endedAt: t(start + 5),
    ...fields,
  });
}

/** A workflow-side action (delegate, handoff, signal) numbered per scope. */
function wf(s: ScopeRecord, seq: number, fields: Partial<ActionRecord>): ActionRecord {
  return action(`${s.scopeId}/w${seq}`, s.scopeId, { agent: s.agent, activityId: null, ...fields });
}

/**
 * The example session from test/integration/example-session.test.ts, as rows: the
 * orchestrator delegates research (which delegates verification), risk analysis
 * (whose page fetch fails once and recovers) and translation (which fails three
 * times), summarizes with an LLM and hands off to a reviewer.
 */
function exampleSession() {
  const root = scope('s', {
    agent: 'orchestrator', objective: 'answer Q1', status: 'degraded', recovered: true,
    startedAt: t(0), endedAt: t(1000),
  });
  const research = child('s.1', root, { agent: 'researcher', startedAt: t(10), endedAt: t(300) });
  const verify = child('s.1.1', research, { agent: 'verifier', startedAt: t(120), endedAt: t(250) });
  const analyse = child('s.2', root, { agent: 'analyst', recovered: true, startedAt: t(10), endedAt: t(400) });
  const translate = child('s.3', root, {
    agent: 'translator', status: 'error', error: 'translate: quota exceeded', startedAt: t(10), endedAt: t(350),
  });
  const review = handedTo('s~1', root, { agent: 'reviewer', objective: 'final review before answering', startedAt: t(1000), endedAt: t(1300) });
  const scopes = [root, research, verify, analyse, translate, review];

  const web = [{ uri: 'api:web-search', mode: 'read' as const }];
  const actions = [
    wf(root, 1, { kind: 'delegate', name: 'researcher', targetScopeId: 's.1', startedAt: t(0), endedAt: t(300) }),
    wf(root, 2, { kind: 'delegate', name: 'analyst', targetScopeId: 's.2', startedAt: t(0), endedAt: t(400) }),
    wf(root, 3, {
      kind: 'delegate', name: 'translator', targetScopeId: 's.3', status: 'error', error: 'child failed', startedAt: t(0), endedAt: t(350),
    }),
    attempt(research, '1', 1, 'search', 'success', 20, { resources: web }),
    wf(research, 1, { kind: 'delegate', name: 'verifier', targetScopeId: 's.1.1', startedAt: t(110), endedAt: t(250) }),
    attempt(verify, '1', 1, 'search', 'success', 130, { resources: web }),
    attempt(analyse, '1', 1, 'search', 'success', 20, { resources: web }),
    attempt(analyse, '2', 1, 'fetchPage', 'error', 100, { resources: [{ uri: 'api:http-fetch', mode: 'read' }] }),
    attempt(analyse, '2', 2, 'fetchPage', 'success', 200, {
      resources: [{ uri: 'api:http-fetch', mode: 'read' }, { uri: 'web:example.org', mode: 'read' }],
    }),
    attempt(translate, '1', 1, 'translate', 'error', 20, { resources: [{ uri: 'api:translation', mode: 'share' }], error: 'quota exceeded' }),
    attempt(translate, '1', 2, 'translate', 'error', 120, { resources: [{ uri: 'api:translation', mode: 'share' }], error: 'quota exceeded' }),
    attempt(translate, '1', 3, 'translate', 'error', 220, { resources: [{ uri: 'api:translation', mode: 'share' }], error: 'quota exceeded' }),
    attempt(root, '1', 1, 'llm', 'success', 500, { kind: 'llm_call', resources: [{ uri: 'llm:scripted/scripted-1', mode: 'share' }] }),
    wf(root, 4, { kind: 'handoff', name: 'reviewer', targetScopeId: 's~1', startedAt: t(1000), endedAt: t(1000) }),
    attempt(review, '1', 1, 'llm', 'success', 1100, { kind: 'llm_call', resources: [{ uri: 'llm:scripted/scripted-1', mode: 'share' }] }),
    attempt(review, '2', 1, 'saveNote', 'success', 1200, { resources: [{ uri: 'db:notes', mode: 'write' }] }),
  ];

  const manifests = [
    manifest({ name: 'verifier', version: '1.0.0', tools: ['search'], resources: ['api:web-search'] }),
    manifest({ name: 'researcher', version: '1.0.0', tools: ['search'], subAgents: ['verifier'], resources: ['api:web-search'] }),
    manifest({ name: 'analyst', version: '1.0.0', tools: ['search', 'fetchPage'] }),
    manifest({ name: 'translator', version: '1.0.0', tools: ['translate'] }),
    manifest({ name: 'reviewer', version: '1.0.0', tools: ['saveNote', 'llm'] }),
    manifest({ name: 'orchestrator', version: '1.0.0', tools: ['llm'], subAgents: ['researcher', 'analyst', 'translator'], handoffs: ['reviewer'] }),
  ];
  return { scopes, actions, manifests, root, research, verify, analyse, translate, review };
}

const ids = (rows: ReadonlyArray<{ scopeId: string }>) => rows.map((r) => r.scopeId);
const actionIds = (rows: readonly ActionRecord[]) => rows.map((r) => r.actionId);

test('the example session fixture matches the recorded session: six scopes, 4 delegates, 9 tool calls, 2 LLM calls, 1 handoff', () => {
  const { scopes, actions } = exampleSession();
  assert.equal(scopes.length, 6);
  const byKind: Record<string, number> = {};
  for (const a of actions) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
  assert.deepEqual(byKind, { delegate: 4, tool_call: 9, llm_call: 2, handoff: 1 });
  assert.equal(new Set(actionIds(actions)).size, actions.length);
});

// ───────────────────────────── groupCalls / scopeChain ─────────────────────────────

describe('groupCalls', () => {
  test('attempts of one activity in one scope form one call, sorted by attempt whatever the input order', () => {
    const s = scope('s');
    const calls = groupCalls([
      attempt(s, '1', 3, 'x', 'success', 300),
      attempt(s, '1', 1, 'x', 'error', 100),
      attempt(s, '1', 2, 'x', 'error', 200),
    ]);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.attempts.map((a) => a.attempt), [1, 2, 3]);
    assert.equal(calls[0]!.final.attempt, 3);
    assert.equal(calls[0]!.failed, false);
    assert.equal(calls[0]!.recovered, true);
  });

  test('a success followed by another attempt of its call is one Temporal never heard of; the last attempt, and other calls, are not', () => {
    const s = scope('s');
    const b = child('s.1', s);
    const rows = [
      // Attempt 1 ended a success, its result lost on the way (the server was down): Temporal timed it out and ran #2.
      attempt(s, '1', 1, 'x', 'success', 100),
      attempt(s, '1', 2, 'x', 'success', 200),
      // A plain retry after a failure, and a one-attempt call.
      attempt(s, '2', 1, 'x', 'error', 100),
      attempt(s, '2', 2, 'x', 'success', 200),
      attempt(s, '3', 1, 'x', 'success', 100),
      // The same activity id in another scope is another call.
      attempt(b, '1', 1, 'x', 'success', 100),
    ];
    assert.deepEqual([...lostResults(rows)], [rows[0]!.actionId]);
    const status = renderStatus({ scope: s, children: [], calls: { total: 5, failedAttempts: 1, denied: 0, lostResults: 1 } });
    assert.match(status, /own calls: 5 attempt\(s\), 1 failed, 0 refused, 1 succeeded but the result never reached Temporal, which ran the call again/);
  });

  test('the same activity id in two scopes is two calls (activity ids are per workflow run)', () => {
    const a = scope('s');
    const b = child('s.1', a);
    assert.equal(groupCalls([attempt(a, '1', 1, 'x', 'success', 0), attempt(b, '1', 1, 'x', 'success', 0)]).length, 2);
  });

  test('a refusal without an activity id is a call of its own; one with an activity id joins its attempts', () => {
    const s = scope('s');
    const refusal = (id: string) =>
      action(id, 's', { kind: 'denied', status: 'denied', name: 'read', activityId: null, error: 'refused' });
    const calls = groupCalls([
      refusal('s/d1'),
      refusal('s/d2'),
      attempt(s, '7', 1, 'x', 'error', 10),
      attempt(s, '7', 2, 'x', 'denied', 20, { kind: 'denied' }),
    ]);
    assert.equal(calls.length, 3);
    const grouped = calls.find((c) => c.activityId === '7')!;
    assert.deepEqual(grouped.attempts.map((a) => a.status), ['error', 'denied']);
    assert.equal(grouped.failed, true);
    assert.deepEqual(calls.filter((c) => c.activityId === null).map((c) => c.attempts.length), [1, 1]);
  });

  test('only tool calls, LLM calls and refusals are calls: delegates, handoffs and signals are not', () => {
    const s = scope('s');
    const calls = groupCalls([
      wf(s, 1, { kind: 'delegate', name: 'x', status: 'error' }),
      wf(s, 2, { kind: 'handoff', name: 'y' }),
      wf(s, 3, { kind: 'signal', name: 'z', status: 'error' }),
      attempt(s, '1', 1, 'llm', 'success', 0, { kind: 'llm_call' }),
    ]);
    assert.deepEqual(calls.map((c) => c.final.kind), ['llm_call']);
  });

  test('calls come in the order their first attempt started, then by scope and action id', () => {
    const s = scope('s');
    const calls = groupCalls([
      attempt(s, '2', 1, 'late', 'success', 50),
      attempt(s, '1', 2, 'early', 'success', 60),
      attempt(s, '1', 1, 'early', 'error', 10),
      attempt(s, '10', 1, 'tie-b', 'success', 50),
    ]);
    assert.deepEqual(calls.map((c) => c.first.actionId), ['s/a1#1', 's/a2#1', 's/a10#1']);
  });

  test('a cancelled or still running final attempt is neither failed nor recovered', () => {
    const s = scope('s');
    const [cancelled, running] = groupCalls([
      attempt(s, '1', 1, 'x', 'error', 0),
      attempt(s, '1', 2, 'x', 'cancelled', 10),
      attempt(s, '2', 1, 'y', 'error', 20),
      attempt(s, '2', 2, 'y', 'running', 30, { endedAt: null }),
    ]);
    assert.deepEqual([cancelled!.failed, cancelled!.recovered, running!.failed, running!.recovered], [false, false, false, false]);
  });
});

describe('scopeChain', () => {
  test('walks delegations to the root and continues through handoffs, naming each link', () => {
    const root = scope('s');
    const peer = handedTo('s~1', root);
    const sub = child('s~1.1', peer);
    const leaf = child('s~1.1.1', sub);
    const { chain, links } = scopeChain(leaf, [root, peer, sub, leaf]);
    assert.deepEqual(ids(chain), ['s~1.1.1', 's~1.1', 's~1', 's']);
    assert.deepEqual(links, ['delegation', 'delegation', 'handoff']);
  });

  test('a handoff inside a delegation goes through the scope it took over from, then up the delegations', () => {
    const root = scope('s');
    const mid = child('s.1', root);
    const passer = child('s.1.1', mid);
    const finisher = scope('s.1.1~1', { kind: 'handoff', parentScopeId: 's.1', handoffFromScopeId: 's.1.1', path: '/s/s.1/s.1.1~1/', depth: 2 });
    const { chain, links } = scopeChain(finisher, [root, mid, passer, finisher]);
    assert.deepEqual(ids(chain), ['s.1.1~1', 's.1.1', 's.1', 's']);
    assert.deepEqual(links, ['handoff', 'delegation', 'delegation']);
    // Without the row it took over from, its delegator still places it.
    assert.deepEqual(ids(scopeChain(finisher, [root, mid, finisher]).chain), ['s.1.1~1', 's.1', 's']);
  });

  test('stops at a missing row rather than guessing', () => {
    const root = scope('s');
    const mid = child('s.1', root);
    const leaf = child('s.1.1', mid);
    const { chain, links } = scopeChain(leaf, [root, leaf]);
    assert.deepEqual(ids(chain), ['s.1.1']);
    assert.deepEqual(links, []);
  });

  test('a parent wins over a handoff origin: a delegation is placed under its delegator', () => {
    const root = scope('s');
    const other = scope('o');
    const odd = child('s.1', root, { handoffFromScopeId: 'o' });
    assert.deepEqual(ids(scopeChain(odd, [root, other, odd]).chain), ['s.1', 's']);
  });

  test('corrupt rows that form a cycle end the walk instead of hanging it', () => {
    const a = scope('a', { parentScopeId: 'b', kind: 'delegation' });
    const b = scope('b', { parentScopeId: 'a', kind: 'delegation' });
    assert.deepEqual(ids(scopeChain(a, [a, b]).chain), ['a', 'b']);
  });
});

// ───────────────────────────── rootCause ─────────────────────────────

describe('rootCause', () => {
  test('the example session: the translation call that failed three times, under the translator, delegated by the root', () => {
    const { scopes, actions } = exampleSession();
    const rc = rootCause(scopes, actions)!;
    assert.equal(rc.action?.actionId, 's.3/a1#3');
    assert.deepEqual(actionIds(rc.attempts), ['s.3/a1#1', 's.3/a1#2', 's.3/a1#3']);
    assert.equal(rc.scope.scopeId, 's.3');
    assert.equal(rc.agent, 'translator');
    assert.deepEqual(ids(rc.chain), ['s.3', 's']);
    assert.deepEqual(rc.links, ['delegation']);
    assert.deepEqual(ids(rc.impact), ['s.3', 's'], 'the translator failed and the root degraded');
    assert.equal(rc.recoveredFailures, 1, 'the fetchPage that failed once and recovered');
    assert.deepEqual(ids(rc.otherFailures), [], 'nothing else failed');
  });

  test('every other failed branch is named beside the cause, in the order it started', () => {
    const root = scope('s', { status: 'error' });
    const first = child('s.1', root, { agent: 'prober', status: 'error', startedAt: t(10) });
    const deeper = child('s.1.1', first, { agent: 'probe', status: 'error', startedAt: t(20) });
    const fine = child('s.2', root, { agent: 'ok', status: 'success', startedAt: t(30) });
    const second = child('s.3', root, { agent: 'snoop', status: 'error', startedAt: t(40) });
    const peer = handedTo('s.3~1', second, { agent: 'peer', status: 'error', startedAt: t(50) });
    const rc = rootCause([root, first, deeper, fine, second, peer], [attempt(deeper, '1', 1, 'probe', 'error', 25)])!;
    assert.deepEqual(ids(rc.chain), ['s.1.1', 's.1', 's']);
    assert.deepEqual(ids(rc.otherFailures), ['s.3', 's.3~1']);
    assert.match(renderRootCause('s', rc), /other failed scopes \(2, off this chain\): s\.3 snoop, s\.3~1 peer/);
  });

  test('a degraded session leads into the delegation that failed it, not to an earlier call its agent caught', () => {
    // The root catches a call that failed for good (which degrades nothing), then a delegation fails: that degrades it.
    const root = scope('s', { status: 'degraded' });
    const fine = child('s.1', root, { agent: 'ok', status: 'success', startedAt: t(5), endedAt: t(8) });
    const failed = child('s.2', root, { agent: 'leaf', status: 'error', failedBy: 's.2', startedAt: t(20), endedAt: t(30) });
    const rc = rootCause([root, fine, failed], [attempt(root, '1', 1, 'op', 'error', 1)])!;
    assert.equal(rc.scope.scopeId, 's.2');
    assert.equal(rc.action, null, 'its own code failed it');
    assert.deepEqual(ids(rc.chain), ['s.2', 's']);
    assert.deepEqual(ids(rc.impact), ['s.2', 's']);
  });

  test('a session whose root Temporal terminated: the termination is the cause, not the delegates terminated with it', () => {
    // As the worker (or reconcile --repair) writes the ends of runs that ran no agent code.
    const ended = (reason: string) => `run terminated in Temporal (reason: ${reason}): no agent code recorded its end (written from history by a worker)`;
    const root = scope('s', { status: 'error', failedBy: 's', error: ended('an operator stopped it'), endedAt: t(50) });
    const looper = child('s.1', root, { agent: 'looper', status: 'error', failedBy: 's.1', error: ended('by parent close policy'), startedAt: t(10), endedAt: t(50) });
    const sleeper = child('s.2', root, { agent: 'sleeper', status: 'error', failedBy: 's.2', error: ended('by parent close policy'), startedAt: t(11), endedAt: t(50) });
    const rc = rootCause([root, looper, sleeper], [attempt(looper, '1', 1, 'spin', 'success', 20)])!;
    assert.equal(rc.scope.scopeId, 's');
    assert.equal(rc.action, null);
    assert.deepEqual(ids(rc.otherFailures), ['s.1', 's.2']);
    assert.match(renderRootCause('s', rc), /^ {2}agent in scope s: its run was terminated in Temporal — run terminated in Temporal \(reason: an operator stopped it\)/m);
  });

  test('a degraded session whose delegate came back degraded is followed down to the delegation that failed there', () => {
    const root = scope('s', { status: 'degraded' });
    const mid = child('s.1', root, { agent: 'mid', status: 'degraded', startedAt: t(5), endedAt: t(90) });
    const okLeaf = child('s.1.1', mid, { agent: 'leaf', status: 'success', startedAt: t(10), endedAt: t(20) });
    const badLeaf = child('s.1.2', mid, { agent: 'leaf', status: 'error', failedBy: '1', startedAt: t(30), endedAt: t(60) });
    // A denied call the root caught, earlier than everything below: not the cause.
    const actions = [attempt(root, '1', 1, 'op', 'denied', 1), attempt(badLeaf, '1', 1, 'fetch', 'error', 40)];
    const rc = rootCause([root, mid, okLeaf, badLeaf], actions)!;
    assert.equal(rc.action?.name, 'fetch');
    assert.deepEqual(ids(rc.chain), ['s.1.2', 's.1', 's']);
    assert.deepEqual(ids(rc.impact), ['s.1.2', 's.1', 's']);
  });

  test('a failure under a handoff scope is traced through the handoff to the session root', () => {
    const root = scope('s', { status: 'success' });
    const peer = handedTo('s~1', root, { agent: 'peer', status: 'degraded' });
    const worker = child('s~1.1', peer, { agent: 'worker', status: 'error' });
    const rc = rootCause([root, peer, worker], [attempt(worker, '1', 1, 'x', 'error', 10)])!;
    assert.deepEqual(ids(rc.chain), ['s~1.1', 's~1', 's']);
    assert.deepEqual(rc.links, ['delegation', 'handoff']);
    assert.deepEqual(ids(rc.impact), ['s~1.1', 's~1']);
    assert.equal(rc.agent, 'worker');
  });

  test('what each failed scope says failed it is followed down, past an earlier failure that was caught', () => {
    // The root's first delegate caught a failed call of its own and succeeded; its second
    // delegated in turn, and that grandchild's code threw, failing both on the way up.
    const root = scope('s', { status: 'error', failedBy: 's.2' });
    const caught = child('s.1', root, { status: 'success', startedAt: t(1) });
    const passer = child('s.2', root, { status: 'error', failedBy: 's.2.1', startedAt: t(50) });
    const thrower = child('s.2.1', passer, { status: 'error', failedBy: 's.2.1', startedAt: t(60) });
    const early = attempt(caught, '1', 1, 'fetch', 'error', 5);
    const rc = rootCause([root, caught, passer, thrower], [early, attempt(thrower, '1', 1, 'echo', 'success', 70)])!;
    assert.equal(rc.scope.scopeId, 's.2.1');
    assert.equal(rc.action, null, "the agent's own code failed");
    assert.deepEqual(ids(rc.chain), ['s.2.1', 's.2', 's']);
  });

  test('a call that failed a scope is its cause, not an earlier failed call of the same scope that was caught', () => {
    const root = scope('s', { status: 'error', failedBy: '2' });
    const rc = rootCause([root], [attempt(root, '1', 1, 'fetch', 'error', 0), attempt(root, '2', 1, 'fetch', 'error', 20)])!;
    assert.equal(rc.action?.actionId, 's/a2#1');
  });

  test('the failure is followed through handoffs, at the top and inside a delegation', () => {
    const root = scope('s', { status: 'success' });
    const top = handedTo('s~1', root, { status: 'error', failedBy: 's~1.1' });
    const delegate = child('s~1.1', top, { status: 'success', workflowId: 's~1.1' });
    const finisher = handedTo('s~1.1~1', delegate, { status: 'error', failedBy: '1' });
    const rc = rootCause(
      [root, top, delegate, finisher],
      [attempt(root, '1', 1, 'early', 'error', 0), attempt(finisher, '1', 1, 'late', 'error', 90)],
    )!;
    assert.equal(rc.action?.name, 'late');
    assert.deepEqual(ids(rc.chain), ['s~1.1~1', 's~1.1', 's~1', 's']);
  });

  test('a session whose root came out degraded and handed off to a successor that succeeded is followed from the root, not from its successor', () => {
    // The root caught a failed call, one delegation succeeded and one threw in its own code
    // (caught): degraded. It then handed off, and the reviewer it handed to succeeded.
    const root = scope('s', { status: 'degraded' });
    const fine = child('s.1', root, { status: 'success', startedAt: t(10), endedAt: t(20) });
    const thrower = child('s.2', root, { status: 'error', failedBy: 's.2', startedAt: t(30), endedAt: t(40) });
    const reviewer = handedTo('s~1', root, { status: 'success', startedAt: t(50) });
    const caught = attempt(root, '1', 1, 'brokenTool', 'error', 1);
    const rc = rootCause([root, fine, thrower, reviewer], [caught, attempt(reviewer, '1', 1, 'review', 'success', 60)])!;
    assert.equal(rc.scope.scopeId, 's.2');
    assert.equal(rc.action, null, "the delegate's own code failed, not the call the root caught");
    assert.deepEqual(ids(rc.chain), ['s.2', 's']);
    // A delegate that caught a failed call and then threw on its own: its code is the cause.
    const root2 = scope('f', { status: 'degraded' });
    const beta = child('f.1', root2, { status: 'error', failedBy: 'f.1', startedAt: t(10), endedAt: t(30) });
    const reviewer2 = handedTo('f~1', root2, { status: 'success', startedAt: t(50) });
    const rc2 = rootCause([root2, beta, reviewer2], [attempt(beta, '1', 1, 'brokenTool', 'error', 12)])!;
    assert.deepEqual([rc2.scope.scopeId, rc2.action], ['f.1', null]);
    assert.ok(!rc2.chain.some((x) => x.status === 'success'), 'no scope that succeeded is on the chain');
  });

  test('where a scope does not say what failed it, the earliest failure below it is the cause, not one elsewhere', () => {
    const root = scope('s', { status: 'error', failedBy: 's.2' });
    const other = child('s.1', root, { status: 'success' });
    const silent = child('s.2', root, { status: 'error' });
    const rc = rootCause([root, other, silent], [attempt(other, '1', 1, 'caught', 'error', 0), attempt(silent, '1', 1, 'inside', 'error', 30)])!;
    assert.equal(rc.action?.name, 'inside');
    // A record that names a call that did not fail is not followed either.
    const wrong = scope('s', { status: 'error', failedBy: '1' });
    assert.equal(rootCause([wrong], [attempt(wrong, '1', 1, 'fine', 'success', 0)])!.scope.scopeId, 's');
  });

  test('the earliest call is the one whose first attempt started first, even if it failed finally last', () => {
    const root = scope('s', { status: 'error' });
    const a = child('s.1', root, { status: 'error' });
    const b = child('s.2', root, { status: 'error' });
    const rc = rootCause(
      [root, a, b],
      [
        attempt(a, '1', 1, 'slow', 'error', 10),
        attempt(a, '1', 2, 'slow', 'error', 500),
        attempt(b, '1', 1, 'fast', 'error', 20),
      ],
    )!;
    assert.equal(rc.action?.actionId, 's.1/a1#2');
    assert.equal(rc.attempts.length, 2);
  });

  test('a call that recovered is not a cause, whatever came first', () => {
    const root = scope('s', { status: 'error' });
    const rc = rootCause(
      [root],
      [attempt(root, '1', 1, 'flaky', 'error', 0), attempt(root, '1', 2, 'flaky', 'success', 10), attempt(root, '2', 1, 'bad', 'error', 20)],
    )!;
    assert.equal(rc.action?.name, 'bad');
    assert.equal(rc.recoveredFailures, 1);
  });

  test('a refusal is a failed call; each refusal without an activity id stands alone', () => {
    const root = scope('s', { status: 'error' });
    const reader = child('s.1', root, { agent: 'dataReader', status: 'error' });
    const refused = action('s.1/d', 's.1', {
      agent: 'dataReader', kind: 'denied', status: 'denied', name: 'readDataset', activityId: null,
      resources: [{ uri: 'data:restricted/salaries', mode: 'read' }], error: 'may not read', startedAt: t(5),
    });
    const rc = rootCause([root, reader], [refused])!;
    assert.equal(rc.action, refused);
    assert.deepEqual(rc.attempts, [refused]);
    assert.equal(rc.agent, 'dataReader');
    assert.equal(rc.recoveredFailures, 0);
  });

  test('an LLM call that failed finally is a cause like any tool call', () => {
    const root = scope('s', { status: 'error' });
    const rc = rootCause([root], [attempt(root, '1', 1, 'llm', 'error', 0, { kind: 'llm_call' })])!;
    assert.equal(rc.action?.kind, 'llm_call');
  });

  test('a failed delegate action is not itself a cause: the cause is inside the child', () => {
    const root = scope('s', { status: 'error' });
    const kid = child('s.1', root, { status: 'error' });
    const rc = rootCause(
      [root, kid],
      [wf(root, 1, { kind: 'delegate', name: 'agent', status: 'error', targetScopeId: 's.1', startedAt: t(0) }), attempt(kid, '1', 1, 'x', 'error', 5)],
    )!;
    assert.equal(rc.action?.actionId, 's.1/a1#1');
  });

  test('with no failed call, the cause is the earliest error scope whose failure no failed child explains', () => {
    const root = scope('s', { status: 'error', error: 'DelegationError: s.1 failed', startedAt: t(0) });
    const thrower = child('s.1', root, { status: 'error', error: 'TypeError: boom', startedAt: t(10) });
    const later = child('s.2', root, { status: 'error', error: 'RangeError', startedAt: t(20) });
    const rc = rootCause([later, root, thrower], [attempt(thrower, '1', 1, 'x', 'success', 12)])!;
    assert.equal(rc.action, null);
    assert.deepEqual(rc.attempts, []);
    assert.equal(rc.scope.scopeId, 's.1', 'the root failed earlier but only because its child did');
    assert.deepEqual(ids(rc.chain), ['s.1', 's']);
    assert.deepEqual(ids(rc.impact), ['s.1', 's']);
    assert.equal(rc.agent, 'agent');
  });

  test('a handoff target that failed does not explain its origin: they are peers, not parent and child', () => {
    const root = scope('s', { status: 'error', startedAt: t(0) });
    const peer = handedTo('s~1', root, { status: 'error', startedAt: t(10) });
    assert.equal(rootCause([root, peer], [])!.scope.scopeId, 's');
  });

  test('a cancelled or running final attempt is not a cause; the fallback applies', () => {
    const root = scope('s', { status: 'error' });
    const rc = rootCause(
      [root],
      [attempt(root, '1', 1, 'x', 'error', 0), attempt(root, '1', 2, 'x', 'cancelled', 10), attempt(root, '2', 1, 'y', 'running', 20)],
    )!;
    assert.equal(rc.action, null);
    assert.equal(rc.scope.scopeId, 's');
  });

  test('a session that succeeded has no root cause, whatever its agents caught on the way', () => {
    const root = scope('s', { status: 'success' });
    const caught = child('s.1', root, { status: 'error', failedBy: 's.1' });
    assert.equal(rootCause([root, caught], [attempt(root, '1', 1, 'bad', 'error', 0)]), null);
    // Its last scope is what the session ended as: a root that handed off to a failure did not succeed.
    const failedPeer = handedTo('s~1', root, { status: 'error', failedBy: 's~1' });
    assert.equal(rootCause([root, failedPeer], [])!.scope.scopeId, 's~1');
  });

  test('a scope that ran out of budget has its budget_exceeded action as the cause, not "its own code"', () => {
    const message = 'budget exceeded (tokens): 246 of 150';
    const root = scope('s', { agent: 'boss', status: 'error', failedBy: 's.1', startedAt: t(0) });
    const spender = child('s.1', root, { agent: 'spender', status: 'error', failedBy: 's.1', error: message, startedAt: t(10) });
    const overrun = wf(spender, 3, { agent: 'spender', kind: 'budget_exceeded', name: 'tokens', status: 'error', error: message, attributes: { limit: 150, usedTurns: 2, usedTokens: 246 } });
    const rc = rootCause(
      [root, spender],
      [attempt(spender, '1', 1, 'llm.generate', 'success', 12, { kind: 'llm_call' }), attempt(spender, '2', 1, 'llm.generate', 'success', 20, { kind: 'llm_call' }), overrun],
    )!;
    assert.equal(rc.scope.scopeId, 's.1');
    assert.equal(rc.action, overrun);
    assert.deepEqual(rc.attempts, [overrun]);
    assert.deepEqual(ids(rc.chain), ['s.1', 's']);
    const text = renderRootCause('s', rc);
    assert.match(text, /^ {2}spender in scope s\.1 ran out of its budget \(tokens\) — budget exceeded \(tokens\): 246 of 150$/m);
    assert.doesNotMatch(text, /own code|attempts:/);
    // A scope that failed in its own code, with no overrun, is still that.
    const thrower = child('s.1', root, { agent: 'spender', status: 'error', failedBy: 's.1', error: 'boom', startedAt: t(10) });
    assert.equal(rootCause([root, thrower], [])!.action, null);
  });

  test('a scope in error because every delegation it made failed (it caught them) leads to the first of them, not to a call it caught', () => {
    const root = scope('s', { status: 'error', startedAt: t(0) });
    const first = child('s.1', root, { status: 'error', failedBy: 's.1', startedAt: t(30) });
    const second = child('s.2', root, { status: 'error', failedBy: '1', startedAt: t(40) });
    const rc = rootCause(
      [root, first, second],
      [attempt(root, '1', 1, 'caughtEarly', 'error', 0), attempt(second, '1', 1, 'later', 'error', 45)],
    )!;
    assert.equal(rc.scope.scopeId, 's.1');
    assert.equal(rc.action, null, 'the first delegate failed in its own code');
    assert.deepEqual(ids(rc.chain), ['s.1', 's']);
    assert.deepEqual(ids(rc.otherFailures), ['s.2']);
  });

  test('delegations run side by side: the one whose work failed first leads, though it started later', () => {
    const root = scope('s', { status: 'error', startedAt: t(0), endedAt: t(200) });
    const slow = child('s.1', root, { status: 'error', failedBy: 's.1', startedAt: t(10), endedAt: t(150) });
    const fast = child('s.2', root, { status: 'error', failedBy: 's.2', startedAt: t(20), endedAt: t(60) });
    // A third that started first and handed off: its chain failed last.
    const passer = child('s.3', root, { status: 'success', startedAt: t(5), endedAt: t(30) });
    const taker = handedTo('s.3~1', passer, { status: 'error', failedBy: 's.3~1', startedAt: t(30), endedAt: t(180) });
    const rc = rootCause([root, slow, fast, passer, taker], [])!;
    assert.equal(rc.scope.scopeId, 's.2');
    assert.deepEqual(ids(rc.otherFailures), ['s.1', 's.3~1']);
  });

  test('nothing failed: null, even when retries recovered; an empty session is null too', () => {
    const root = scope('s', { recovered: true });
    assert.equal(rootCause([root], [attempt(root, '1', 1, 'x', 'error', 0), attempt(root, '1', 2, 'x', 'success', 10)]), null);
    assert.equal(rootCause([], []), null);
    assert.equal(rootCause([scope('s', { status: 'degraded' }), scope('c', { status: 'cancelled' })], []), null);
  });

  test('actions of scopes missing from the rows are ignored: a cause needs its chain', () => {
    const root = scope('s');
    assert.equal(rootCause([root], [action('ghost/a1#1', 'ghost', { status: 'error' })]), null);
  });

  test('ties on start time are broken by scope id in natural order', () => {
    const root = scope('s', { status: 'error' });
    const s2 = child('s.2', root, { status: 'error' });
    const s10 = child('s.10', root, { status: 'error' });
    const rc = rootCause([root, s10, s2], [attempt(s10, '1', 1, 'x', 'error', 5), attempt(s2, '1', 1, 'x', 'error', 5)])!;
    assert.equal(rc.scope.scopeId, 's.2');
  });

  test('start times with a UTC offset are compared as instants', () => {
    const root = scope('s', { status: 'error' });
    const rc = rootCause(
      [root],
      [
        attempt(root, '1', 1, 'utc', 'error', 0, { startedAt: '2026-01-01T00:30:00.000Z' }),
        // 00:10 UTC, written in +01:00: earlier, though it sorts later as a string.
        attempt(root, '2', 1, 'offset', 'error', 0, { startedAt: '2026-01-01T01:10:00.000+01:00' }),
      ],
    )!;
    assert.equal(rc.action?.name, 'offset');
  });
});

// ───────────────────────────── delegationOutcomes ─────────────────────────────

describe('delegationOutcomes', () => {
  test('a delegation is judged by the last scope of its handoff chain; scopes of other delegators do not count', () => {
    const root = scope('s', { status: 'error' });
    const passer = child('s.1', root, { status: 'success', recovered: true });
    const first = handedTo('s.1~1', passer, { status: 'success' });
    const last = handedTo('s.1~2', first, { status: 'error', error: 'gave up' });
    const plain = child('s.2', root, { status: 'degraded' });
    const nested = child('s.2.1', plain, { status: 'error' });
    const peer = handedTo('s~1', root, { status: 'success' });
    const out = delegationOutcomes('s', [peer, nested, plain, last, first, passer, root]);
    assert.deepEqual(
      out.map((d) => [d.scopeId, d.status, d.handoffs.map((h) => h.scopeId).join(','), d.outcome.scopeId, d.outcome.status]),
      [
        ['s.1', 'success', 's.1~1,s.1~2', 's.1~2', 'error'],
        ['s.2', 'degraded', '', 's.2', 'degraded'],
      ],
    );
  });

  test('the tries of delegate(…, { attempts }) are linked, each to the failed try it repeats, per agent', () => {
    const root = scope('s', { status: 'degraded' });
    const first = child('s.1', root, { agent: 'translator', status: 'error' });
    const other = child('s.2', root, { agent: 'researcher', status: 'success' });
    const second = child('s.3', root, { agent: 'translator', status: 'error' });
    const third = child('s.4', root, { agent: 'translator', status: 'success' });
    const fresh = child('s.5', root, { agent: 'translator', status: 'success' });
    const d = (seq: number, target: ScopeRecord, n: number, at: number) =>
      wf(root, seq, { kind: 'delegate', name: target.agent, attempt: n, targetScopeId: target.scopeId, startedAt: t(at), endedAt: t(at + 1) });
    // Rows come back in any order; s.5 is a new call to the same agent (try 1), not a retry.
    const actions = [d(5, fresh, 1, 50), d(3, second, 2, 30), d(1, first, 1, 10), d(2, other, 1, 20), d(4, third, 3, 40)];
    const out = delegationOutcomes('s', [fresh, third, second, other, first, root], actions);
    assert.deepEqual(
      out.map((c) => [c.scopeId, c.attempt, c.retryOf, c.retriedAs]),
      [
        ['s.1', 1, null, 's.3'],
        ['s.2', 1, null, null],
        ['s.3', 2, 's.1', 's.4'],
        ['s.4', 3, 's.3', null],
        ['s.5', 1, null, null],
      ],
    );
    assert.match(renderStatus({ scope: root, children: out, calls: { total: 0, failedAttempts: 0, denied: 0, lostResults: 0 } }), /s\.3 translator: error \(try 2, retries s\.1; retried as s\.4\)/);
  });

  test('forged rows that hand off in a circle end the chain instead of hanging it', () => {
    const root = scope('s');
    const a = child('s.1', root);
    const b = handedTo('s.1~1', a);
    const loop = { ...a, scopeId: 's.1', handoffFromScopeId: 's.1~1', kind: 'handoff' as const };
    assert.deepEqual(delegationOutcomes('s', [root, a, b, loop]).map((d) => d.outcome.scopeId), ['s.1~1']);
  });
});

// ───────────────────────────── footprint / deniedUnder ─────────────────────────────

describe('footprint', () => {
  test('with descendants, a delegator covers the scopes its delegates handed off to; the scope that handed off does not', () => {
    const root = scope('s');
    const passer = child('s.1', root);
    const finisher = handedTo('s.1~1', passer);
    const helper = child('s.1~1.1', finisher);
    const touch = (id: string, scopeId: string, uri: string) =>
      action(id, scopeId, { activityId: id, resources: [{ uri, mode: 'read' }] });
    const actions = [touch('1', 's.1', 'api:a'), touch('2', 's.1~1', 'data:b'), touch('3', 's.1~1.1', 'data:c')];
    const scopes = [root, passer, finisher, helper];
    assert.deepEqual(footprint('s', scopes, actions, { descendants: true }).map((e) => e.uri), ['api:a', 'data:b', 'data:c']);
    assert.deepEqual(footprint('s.1', scopes, actions, { descendants: true }).map((e) => e.uri), ['api:a']);
  });

  test('the root alone touched only the LLM; with descendants it covers every delegation but not the handoff', () => {
    const { scopes, actions } = exampleSession();
    assert.deepEqual(footprint('s', scopes, actions, { descendants: false }), [
      {
        uri: 'llm:scripted/scripted-1', mode: 'share', actions: 1, tools: ['llm'], scopes: ['s'], agents: ['orchestrator'],
        firstAt: t(500), lastAt: t(505), outsideAllowance: false, outsideAllowanceScopes: [],
      },
    ]);
    const all = footprint('s', scopes, actions, { descendants: true });
    assert.deepEqual(
      all.map((e) => `${e.mode} ${e.uri} ×${e.actions} ${e.tools.join('+')} ${e.scopes.join(',')} ${e.agents.join(',')}`),
      [
        'read api:http-fetch ×2 fetchPage s.2 analyst',
        'share api:translation ×3 translate s.3 translator',
        'read api:web-search ×3 search s.1,s.1.1,s.2 analyst,researcher,verifier',
        'share llm:scripted/scripted-1 ×1 llm s orchestrator',
        'read web:example.org ×1 fetchPage s.2 analyst',
      ],
    );
    assert.ok(!all.some((e) => e.uri === 'db:notes'), 'the reviewer was handed control, not delegated to');
    const search = all.find((e) => e.uri === 'api:web-search')!;
    assert.equal(search.firstAt, t(20));
    assert.equal(search.lastAt, t(135));
  });

  test('the handoff scope has its own footprint', () => {
    const { scopes, actions } = exampleSession();
    assert.deepEqual(
      footprint('s~1', scopes, actions, { descendants: true }).map((e) => `${e.mode} ${e.uri}`),
      ['write db:notes', 'share llm:scripted/scripted-1'],
    );
  });

  test('a mid-tree scope with descendants covers its subtree only', () => {
    const { scopes, actions } = exampleSession();
    const fp = footprint('s.1', scopes, actions, { descendants: true });
    assert.deepEqual(fp.map((e) => [e.uri, e.actions, e.scopes]), [['api:web-search', 2, ['s.1', 's.1.1']]]);
    assert.deepEqual(footprint('s.1', scopes, actions, { descendants: false })[0]!.scopes, ['s.1']);
  });

  test('s.1 does not contain s.10: paths end in a slash', () => {
    const root = scope('s');
    const s1 = child('s.1', root);
    const s10 = child('s.10', root);
    const fp = footprint('s.1', [root, s1, s10], [
      attempt(s1, '1', 1, 'x', 'success', 0, { resources: [{ uri: 'r:one', mode: 'read' }] }),
      attempt(s10, '1', 1, 'x', 'success', 0, { resources: [{ uri: 'r:ten', mode: 'read' }] }),
    ], { descendants: true });
    assert.deepEqual(fp.map((e) => e.uri), ['r:one']);
  });

  test('one entry per (uri, mode), modes in read, write, share order; every attempt counts, failed ones too', () => {
    const s = scope('s');
    const fp = footprint('s', [s], [
      attempt(s, '1', 1, 'put', 'error', 30, { resources: [{ uri: 'db:x', mode: 'write' }] }),
      attempt(s, '1', 2, 'put', 'success', 40, { resources: [{ uri: 'db:x', mode: 'write' }] }),
      attempt(s, '2', 1, 'get', 'success', 10, { resources: [{ uri: 'db:x', mode: 'read' }] }),
      attempt(s, '3', 1, 'send', 'success', 20, { resources: [{ uri: 'db:x', mode: 'share' }] }),
    ], { descendants: false });
    assert.deepEqual(fp.map((e) => `${e.mode}:${e.actions}:${e.tools}`), ['read:1:get', 'write:2:put', 'share:1:send']);
  });

  test('tools, scopes and agents are sorted and unique; first and last times are instants; an unfinished action counts at its start', () => {
    const root = scope('s', { agent: 'zed' });
    const s2 = child('s.2', root, { agent: 'amy' });
    const s10 = child('s.10', root, { agent: 'bob' });
    const r = [{ uri: 'r', mode: 'read' as const }];
    const fp = footprint('s', [root, s2, s10], [
      attempt(s10, '1', 1, 'zeta', 'success', 0, { resources: r, startedAt: '2026-01-01T01:00:00.000+01:00', endedAt: '2026-01-01T01:00:01.000+01:00' }),
      attempt(s2, '1', 1, 'alpha', 'success', 0, { resources: r, startedAt: '2026-01-01T00:00:00.500Z', endedAt: '2026-01-01T00:00:00.600Z' }),
      attempt(root, '1', 1, 'alpha', 'running', 0, { resources: r, startedAt: '2026-01-01T00:00:05.000Z', endedAt: null }),
    ], { descendants: true });
    assert.equal(fp.length, 1);
    assert.deepEqual(fp[0]!.tools, ['alpha', 'zeta']);
    assert.deepEqual(fp[0]!.scopes, ['s', 's.2', 's.10']);
    assert.deepEqual(fp[0]!.agents, ['amy', 'bob', 'zed']);
    assert.equal(fp[0]!.firstAt, '2026-01-01T01:00:00.000+01:00', 'midnight UTC, written at +01:00');
    assert.equal(fp[0]!.lastAt, '2026-01-01T00:00:05.000Z');
  });

  test('a resource listed twice on one action counts once', () => {
    const s = scope('s');
    const fp = footprint('s', [s], [
      attempt(s, '1', 1, 'x', 'success', 0, { resources: [{ uri: 'r', mode: 'read' }, { uri: 'r', mode: 'read' }] }),
    ], { descendants: false });
    assert.equal(fp[0]!.actions, 1);
  });

  test('refusals touched nothing: excluded by status or by kind, and listed by deniedUnder instead', () => {
    const root = scope('s');
    const kid = child('s.1', root);
    const secret = [{ uri: 'data:secret', mode: 'read' as const }];
    const actions = [
      attempt(kid, '1', 1, 'read', 'denied', 20, { kind: 'denied', resources: secret }),
      attempt(kid, '2', 1, 'read', 'denied', 10, { resources: secret }),
      attempt(root, '1', 1, 'export', 'denied', 10, { kind: 'denied', resources: secret }),
      attempt(root, '2', 1, 'ok', 'success', 30, { resources: [{ uri: 'data:public', mode: 'read' }] }),
    ];
    assert.deepEqual(footprint('s', [root, kid], actions, { descendants: true }).map((e) => e.uri), ['data:public']);
    assert.deepEqual(actionIds(deniedUnder('s', [root, kid], actions, { descendants: true })), ['s.1/a2#1', 's/a1#1', 's.1/a1#1']);
    assert.deepEqual(actionIds(deniedUnder('s', [root, kid], actions, { descendants: false })), ['s/a1#1']);
    assert.deepEqual(deniedUnder('s.1', [root, kid], actions, { descendants: true }).map((a) => a.scopeId), ['s.1', 's.1']);
  });

  test('deniedUnder follows the same coverage as footprint: handoff scopes are not descendants', () => {
    const { scopes } = exampleSession();
    const refused = action('s~1/d1', 's~1', { kind: 'denied', status: 'denied', activityId: null });
    assert.deepEqual(deniedUnder('s', scopes, [refused], { descendants: true }), []);
    assert.deepEqual(deniedUnder('s~1', scopes, [refused], { descendants: false }), [refused]);
  });

  test('a scope missing from the rows still reports its own actions, but cannot know its descendants', () => {
    const root = scope('s');
    const kid = child('s.1', root);
    const actions = [
      attempt(root, '1', 1, 'x', 'success', 0, { resources: [{ uri: 'r:root', mode: 'read' }] }),
      attempt(kid, '1', 1, 'x', 'success', 0, { resources: [{ uri: 'r:kid', mode: 'read' }] }),
    ];
    assert.deepEqual(footprint('s', [kid], actions, { descendants: true }).map((e) => e.uri), ['r:root']);
    assert.deepEqual(footprint('nope', [root, kid], actions, { descendants: true }), []);
  });

  test('scopes of another session with a matching path are not descendants', () => {
    const root = scope('s');
    const stray = scope('s.1', { sessionId: 'other', parentScopeId: 's', kind: 'delegation', path: '/s/s.1/' });
    const fp = footprint('s', [root, stray], [
      attempt(stray, '1', 1, 'x', 'success', 0, { resources: [{ uri: 'r', mode: 'read' }] }),
    ], { descendants: true });
    assert.deepEqual(fp, []);
  });

  test('actions without resources leave no footprint', () => {
    const { scopes, actions } = exampleSession();
    const delegatesOnly = actions.filter((a) => a.kind === 'delegate' || a.kind === 'handoff');
    assert.deepEqual(footprint('s', scopes, delegatesOnly, { descendants: true }), []);
  });
});

// ───────────────────────────── matchesResource / touches ─────────────────────────────

describe('matchesResource and touches', () => {
  test('an exact pattern matches only itself; a trailing * matches by prefix', () => {
    assert.equal(matchesResource('db:notes', 'db:notes'), true);
    assert.equal(matchesResource('db:notes', 'db:notes/x'), false);
    assert.equal(matchesResource('db:notes*', 'db:notes'), true);
    assert.equal(matchesResource('db:notes*', 'db:notes/x'), true);
    assert.equal(matchesResource('db:notes*', 'db:note'), false);
    assert.equal(matchesResource('db:notes*', 'xdb:notes'), false);
    assert.equal(matchesResource('*', 'anything:at/all'), true);
    assert.equal(matchesResource('db:*x', 'db:*x'), true);
  });

  test('a * anywhere matches any run of characters; ? and [ are literal', () => {
    assert.equal(matchesResource('db:*notes', 'db:team/notes'), true);
    assert.equal(matchesResource('db:*notes', 'db:notes'), true, '* matches nothing too');
    assert.equal(matchesResource('db:*notes', 'db:notes/2'), false, 'the part after the last * ends the uri');
    assert.equal(matchesResource('db:*x', 'db:ax'), true);
    assert.equal(matchesResource('*:notes', 'fs:notes'), true);
    assert.equal(matchesResource('db:*/notes/*', 'db:a/notes/b'), true);
    assert.equal(matchesResource('db:*/notes/*', 'db:a/notesb'), false);
    assert.equal(matchesResource('a*b*c', 'abc'), true);
    assert.equal(matchesResource('a*b*c', 'acb'), false);
    assert.equal(matchesResource('ab*ba', 'aba'), false, 'prefix and suffix may not overlap');
    assert.equal(matchesResource('a**b', 'axyb'), true);
    assert.equal(matchesResource('http://x/?q=[1]', 'http://x/?q=[1]'), true);
    assert.equal(matchesResource('http://x/?q=1', 'http://x/aq=1'), false, '? is not a wildcard');
    assert.equal(matchesResource('db:[ab]', 'db:a'), false, '[ is not a class');
  });

  test('touched with a * in the middle finds the action (it answered NO before)', () => {
    const s = scope('s');
    const write = attempt(s, '1', 1, 'write', 'success', 0, { resources: [{ uri: 'db:team/notes', mode: 'write' }] });
    assert.deepEqual(touches([write], 'db:*notes'), [write]);
  });

  test('touches returns the actions that touched a uri or a prefix, in the order given', () => {
    const { actions } = exampleSession();
    assert.deepEqual(actionIds(touches(actions, 'db:notes')), ['s~1/a2#1']);
    assert.deepEqual(actionIds(touches(actions, 'api:*')), [
      's.1/a1#1', 's.1.1/a1#1', 's.2/a1#1', 's.2/a2#1', 's.2/a2#2', 's.3/a1#1', 's.3/a1#2', 's.3/a1#3',
    ]);
    assert.deepEqual(actionIds(touches(actions, 'web:*')), ['s.2/a2#2']);
    assert.deepEqual(touches(actions, 'web:example'), [], 'an exact query does not match by prefix');
  });

  test('a refusal did not touch: excluded unless asked for', () => {
    const s = scope('s');
    const refused = attempt(s, '1', 1, 'read', 'denied', 0, { kind: 'denied', resources: [{ uri: 'data:restricted/salaries', mode: 'read' }] });
    const read = attempt(s, '2', 1, 'read', 'success', 0, { resources: [{ uri: 'data:public/weather', mode: 'read' }] });
    assert.deepEqual(touches([refused, read], 'data:restricted*'), []);
    assert.deepEqual(touches([refused, read], 'data:restricted*', { includeDenied: true }), [refused]);
    assert.deepEqual(touches([refused, read], 'data:*'), [read]);
  });
});

// ───────────────────────────── sub-agent references ─────────────────────────────

describe('parseSubAgentRef', () => {
  test('splits name@version at the first @; a bare name pins nothing', () => {
    assert.deepEqual(parseSubAgentRef('analyst'), { name: 'analyst', version: null });
    assert.deepEqual(parseSubAgentRef('analyst@2.0.0'), { name: 'analyst', version: '2.0.0' });
    assert.deepEqual(parseSubAgentRef('analyst@1.0.0-rc@x'), { name: 'analyst', version: '1.0.0-rc@x' });
    assert.deepEqual(parseSubAgentRef('analyst@'), { name: 'analyst', version: null });
  });

  test('the proposed schema accepts pins and still rejects what is not an agent name', () => {
    assert.equal(SubAgentRef.safeParse('analyst@2.0.0').success, true);
    assert.equal(SubAgentRef.safeParse('analyst').success, true);
    for (const bad of ['analyst@', '@1.0.0', '1abc', 'a@b@c', 'a@1 0', '']) {
      assert.equal(SubAgentRef.safeParse(bad).success, false, bad);
    }
    assert.equal(Manifest.safeParse({ name: 'o', version: '1', subAgents: ['analyst@2.0.0'] }).success, true);
    assert.equal(Manifest.safeParse({ name: 'o', version: '1', subAgents: ['analyst@'] }).success, false);
  });
});

// ───────────────────────────── roles ─────────────────────────────

describe('roles', () => {
  test('the example session: who orchestrates, who is delegated to, and why', () => {
    const { manifests, scopes, actions } = exampleSession();
    const r = roles(manifests, scopes, actions);
    assert.deepEqual(r.map((e) => `${e.agent} ${e.orchestrator ? 'O' : '-'}${e.subAgent ? 'S' : '-'}`), [
      'analyst -S', 'orchestrator O-', 'researcher OS', 'reviewer --', 'translator -S', 'verifier -S',
    ]);
    const orch = r.find((e) => e.agent === 'orchestrator')!;
    assert.deepEqual(orch, {
      agent: 'orchestrator',
      versions: ['1.0.0'],
      orchestrator: true,
      subAgent: false,
      declaredSubAgents: ['researcher', 'analyst', 'translator'],
      observedSubAgents: ['analyst', 'researcher', 'translator'],
      delegatedBy: [],
      declaredHandoffs: ['reviewer'],
      handsOffTo: ['reviewer'],
      takesOverFrom: [],
      byVersion: [
        { version: '1.0.0', manifest: true, builds: [], scopes: 1, delegations: 3, subAgents: ['analyst', 'researcher', 'translator'] },
      ],
      evidence: [
        'manifest declares sub-agents researcher, analyst, translator',
        'manifest declares handoffs to reviewer',
        'delegated 3 times (to analyst, researcher, translator)',
        'handed off once (to reviewer)',
      ],
    });
    const researcher = r.find((e) => e.agent === 'researcher')!;
    assert.deepEqual(researcher.delegatedBy, ['orchestrator']);
    assert.deepEqual(researcher.observedSubAgents, ['verifier']);
    assert.deepEqual(researcher.evidence, [
      'manifest declares sub-agents verifier',
      'delegated once (to verifier)',
      'declared as a sub-agent by orchestrator',
      'ran as a delegate once (by orchestrator)',
    ]);
    const reviewer = r.find((e) => e.agent === 'reviewer')!;
    assert.deepEqual(reviewer.delegatedBy, [], 'a handoff is not a delegation');
    assert.deepEqual([reviewer.orchestrator, reviewer.subAgent], [false, false], 'nor does it make either side an orchestrator or a sub-agent');
    assert.deepEqual([reviewer.takesOverFrom, reviewer.handsOffTo], [['orchestrator'], []]);
    assert.deepEqual(reviewer.evidence, ['took over by handoff once (from orchestrator)']);
  });

  test('a manifest alone makes an orchestrator; a delegation alone does too', () => {
    const planner = manifest({ name: 'planner', version: '1', subAgents: ['worker'] });
    const root = scope('s', { agent: 'boss' });
    const r = roles([planner], [root], [wf(root, 1, { kind: 'delegate', name: 'worker', targetScopeId: 's.1' })]);
    const byName = Object.fromEntries(r.map((e) => [e.agent, e]));
    assert.deepEqual(Object.keys(byName), ['boss', 'planner'], 'agents from manifests and from scopes; not unseen targets');
    assert.equal(byName.planner!.orchestrator, true);
    assert.deepEqual(byName.planner!.observedSubAgents, []);
    assert.equal(byName.boss!.orchestrator, true);
    assert.deepEqual(byName.boss!.declaredSubAgents, []);
    assert.deepEqual(byName.boss!.evidence, ['delegated once (to worker)']);
  });

  test('a sub-agent by declaration only, or by delegation scope only', () => {
    const declared = roles([manifest({ name: 'lead', version: '1', subAgents: ['helper'] }), manifest({ name: 'helper', version: '1' })], [], []);
    const helper = declared.find((e) => e.agent === 'helper')!;
    assert.equal(helper.subAgent, true);
    assert.deepEqual(helper.delegatedBy, []);
    assert.deepEqual(helper.evidence, ['declared as a sub-agent by lead']);

    const root = scope('s', { agent: 'lead' });
    const observed = roles([], [root, child('s.1', root, { agent: 'helper' })], []);
    assert.equal(observed.find((e) => e.agent === 'helper')!.subAgent, true);
  });

  test('a delegation scope with no delegate row still counts, once', () => {
    const root = scope('s', { agent: 'lead' });
    const a = child('s.1', root, { agent: 'helper' });
    const b = child('s.2', root, { agent: 'other' });
    const r = roles([], [root, a, b], [wf(root, 1, { kind: 'delegate', name: 'helper', targetScopeId: 's.1' })]);
    const lead = r.find((e) => e.agent === 'lead')!;
    assert.equal(lead.orchestrator, true);
    assert.deepEqual(lead.observedSubAgents, ['helper', 'other']);
    assert.deepEqual(lead.evidence, ['delegated 2 times (to helper, other)']);
  });

  test('delegatedBy comes from scopes and from delegate actions aimed at the agent', () => {
    const a = scope('s', { agent: 'alpha' });
    const b = scope('t', { agent: 'beta', sessionId: 't' });
    const kid = child('s.1', a, { agent: 'helper' });
    const r = roles([], [a, b, kid], [wf(b, 1, { kind: 'delegate', name: 'helper', targetScopeId: null })]);
    assert.deepEqual(r.find((e) => e.agent === 'helper')!.delegatedBy, ['alpha', 'beta']);
  });

  test('handoffs: targets from handoff actions, failed ones included; a handoff scope whose action row is lost still took over', () => {
    const root = scope('s', { agent: 'triage' });
    const peer = scope('s~1', { agent: 'billing', kind: 'handoff', handoffFromScopeId: 's' });
    const orphan = scope('s~2', { agent: 'refunds', kind: 'handoff', handoffFromScopeId: 's~1' });
    const r = roles(
      [manifest({ name: 'triage', version: '1', handoffs: ['billing', 'support'] })],
      [root, peer, orphan],
      [
        wf(root, 1, { kind: 'handoff', name: 'billing', targetScopeId: 's~1' }),
        wf(root, 2, { kind: 'handoff', name: 'legal', status: 'error', error: 'refused' }),
      ],
    );
    const by = Object.fromEntries(r.map((e) => [e.agent, e]));
    assert.deepEqual([by.triage!.declaredHandoffs, by.triage!.handsOffTo, by.triage!.takesOverFrom], [['billing', 'support'], ['billing', 'legal'], []]);
    assert.deepEqual(by.triage!.evidence, ['manifest declares handoffs to billing, support', 'handed off 2 times (to billing, legal)']);
    assert.deepEqual(by.billing!.evidence, ['took over by handoff once (from triage)']);
    assert.deepEqual([by.refunds!.takesOverFrom, by.refunds!.evidence], [[], ['took over by handoff once']]);
    assert.ok(r.every((e) => !e.orchestrator && !e.subAgent), 'handing control sideways makes no one an orchestrator or a sub-agent');
  });

  test('a recursive agent that lists itself is both orchestrator and sub-agent', () => {
    const r = roles([manifest({ name: 'deep', version: '1.0.0', tools: ['echo'], subAgents: ['deep'] })], [], []);
    assert.deepEqual(
      r.map((e) => [e.orchestrator, e.subAgent, e.evidence]),
      [[true, true, ['manifest declares sub-agents deep', 'declared as a sub-agent by deep']]],
    );
  });

  test('versions are the union of manifests and scopes in natural order; pins are stripped from declarations', () => {
    const r = roles(
      [
        manifest({ name: 'lead', version: '1.10.0', subAgents: ['helper@2.0.0', 'scout'] }),
        manifest({ name: 'lead', version: '1.9.0', subAgents: ['helper'] }),
      ],
      [scope('s', { agent: 'lead', agentVersion: '1.2.0' }), scope('t', { agent: 'lead', agentVersion: '1.9.0' })],
      [],
    );
    const lead = r.find((e) => e.agent === 'lead')!;
    assert.deepEqual(lead.versions, ['1.2.0', '1.9.0', '1.10.0']);
    assert.deepEqual(lead.declaredSubAgents, ['helper', 'scout'], 'older versions first, then in declaration order');
  });

  test('no rows, no roles', () => {
    assert.deepEqual(roles([], [], []), []);
  });
});

// ───────────────────────────── drift ─────────────────────────────

describe('drift', () => {
  test('the example session matches its manifests: nothing drifted, nothing unused', () => {
    const { manifests, scopes, actions } = exampleSession();
    const d = drift(manifests, scopes, actions);
    assert.deepEqual(d.map((e) => `${e.agent}@${e.version}`), [
      'analyst@1.0.0', 'orchestrator@1.0.0', 'researcher@1.0.0', 'reviewer@1.0.0', 'translator@1.0.0', 'verifier@1.0.0',
    ]);
    for (const e of d) {
      assert.deepEqual(
        [e.manifest, e.undeclaredTools, e.undeclaredSubAgents, e.undeclaredHandoffs, e.unusedTools, e.unusedSubAgents, e.unusedHandoffs, e.versionMismatches, e.drifted],
        [true, [], [], [], [], [], [], [], false],
        e.agent,
      );
    }
  });

  test('an undeclared tool, LLM call or sub-agent is drift; unused declarations are only informational', () => {
    const m = manifest({ name: 'lead', version: '1', tools: ['search', 'fetch'], subAgents: ['helper', 'spare'] });
    const root = scope('s', { agent: 'lead', agentVersion: '1' });
    const kid = child('s.1', root, { agent: 'helper' });
    const rogue = child('s.2', root, { agent: 'rogue' });
    const [lead] = drift([m], [root, kid, rogue], [
      attempt(root, '1', 1, 'search', 'success', 0),
      attempt(root, '2', 1, 'shell', 'error', 10),
      attempt(root, '3', 1, 'llm', 'success', 20, { kind: 'llm_call' }),
      wf(root, 1, { kind: 'delegate', name: 'helper', targetScopeId: 's.1' }),
      wf(root, 2, { kind: 'delegate', name: 'rogue', targetScopeId: 's.2' }),
      wf(root, 3, { kind: 'signal', name: 'ping' }),
    ], 'lead');
    assert.deepEqual(lead, {
      agent: 'lead',
      version: '1',
      manifest: true,
      undeclaredTools: ['llm', 'shell'],
      undeclaredSubAgents: ['rogue'],
      undeclaredHandoffs: [],
      unusedTools: ['fetch'],
      unusedSubAgents: ['spare'],
      unusedHandoffs: [],
      versionMismatches: [],
      builds: [],
      drifted: true,
    });
  });

  test('a handoff to an agent the manifest does not list is drift, a failed one included; an unused one is informational', () => {
    const m = manifest({ name: 'writer', version: '1', tools: [], handoffs: ['editor', 'proofreader'] });
    const root = scope('s', { agent: 'writer', agentVersion: '1' });
    const [e] = drift([m], [root], [
      wf(root, 1, { kind: 'handoff', name: 'editor', targetScopeId: 's~1' }),
      wf(root, 2, { kind: 'handoff', name: 'publisher', status: 'error', error: 'refused' }),
    ], 'writer');
    assert.deepEqual([e!.undeclaredHandoffs, e!.unusedHandoffs, e!.drifted], [['publisher'], ['proofreader'], true]);
    const declared = manifest({ name: 'writer', version: '1', tools: [], handoffs: ['editor', 'publisher'] });
    assert.equal(drift([declared], [root], [wf(root, 1, { kind: 'handoff', name: 'editor', targetScopeId: 's~1' })])[0]!.drifted, false);
  });

  test('unused declarations alone do not drift', () => {
    const m = manifest({ name: 'lead', version: '1', tools: ['a', 'b'], subAgents: ['x'] });
    const root = scope('s', { agent: 'lead', agentVersion: '1' });
    const [e] = drift([m], [root], [attempt(root, '1', 1, 'a', 'success', 0)]);
    assert.deepEqual([e!.unusedTools, e!.unusedSubAgents, e!.drifted], [['b'], ['x'], false]);
  });

  test('a refused call still shows the tool the code tried to use', () => {
    const m = manifest({ name: 'reader', version: '1', tools: ['readDataset'] });
    const root = scope('s', { agent: 'reader', agentVersion: '1' });
    const [e] = drift([m], [root], [
      action('s/d1', 's', { agent: 'reader', kind: 'denied', status: 'denied', name: 'exportAll', activityId: null }),
    ]);
    assert.deepEqual(e!.undeclaredTools, ['exportAll']);
    assert.deepEqual(e!.unusedTools, ['readDataset']);
    assert.equal(e!.drifted, true);
  });

  test('a version with no manifest of its own drifted, even if another version is registered; everything it did is undeclared', () => {
    const m = manifest({ name: 'lead', version: '1.0.0', tools: ['search'] });
    const old = scope('s', { agent: 'lead', agentVersion: '1.0.0' });
    const fresh = scope('t', { agent: 'lead', agentVersion: '1.1.0', sessionId: 't' });
    const d = drift([m], [old, fresh], [attempt(old, '1', 1, 'search', 'success', 0), attempt(fresh, '1', 1, 'search', 'success', 0)]);
    assert.deepEqual(d.map((e) => [e.version, e.manifest, e.undeclaredTools, e.unusedTools, e.drifted]), [
      ['1.0.0', true, [], [], false],
      ['1.1.0', false, ['search'], [], true],
    ]);
  });

  test('a delegate Temporal closed before any of its code ran names no version: neither drift, a pin mismatch nor a role', () => {
    const lead = manifest({ name: 'lead', version: '1', tools: ['a'], subAgents: ['helper@2'] });
    const helper = manifest({ name: 'helper', version: '2', tools: ['b'] });
    const root = scope('s', { agent: 'lead', agentVersion: '1' });
    const never = child('s.1', root, { agent: 'helper', agentVersion: 'unknown', delegatedBy: 'lead', status: 'error', error: 'run timed out in Temporal: it ended before any of its code ran (written from history by a worker)' });
    const ran = child('s.2', root, { agent: 'helper', agentVersion: '2', delegatedBy: 'lead' });
    const actions = [attempt(root, '1', 1, 'a', 'success', 0), attempt(ran, '1', 1, 'b', 'success', 0)];
    assert.deepEqual(drift([lead, helper], [root, never, ran], actions).map((e) => [e.agent, e.version, e.drifted]), [
      ['helper', '2', false],
      ['lead', '1', false],
    ]);
    // Nor a role: the helper ran as a delegate once, as version 2 alone.
    const helperRole = roles([lead, helper], [root, never, ran], actions).find((r) => r.agent === 'helper')!;
    assert.deepEqual([helperRole.versions, helperRole.byVersion.map((v) => v.scopes)], [['2'], [1]]);
    assert.ok(helperRole.evidence.includes('ran as a delegate once (by lead)'), helperRole.evidence.join('; '));
    // A version named "unknown" that did run something is judged like any other.
    const odd = child('s.3', root, { agent: 'helper', agentVersion: 'unknown', delegatedBy: 'lead' });
    const d = drift([lead, helper], [root, odd], [attempt(root, '1', 1, 'a', 'success', 0), attempt(odd, '1', 1, 'b', 'success', 0)], 'helper');
    assert.deepEqual(d.map((e) => [e.version, e.manifest, e.drifted, e.versionMismatches.length]), [['unknown', false, true, 1]]);
  });

  test('each version is judged by its own scopes only', () => {
    const v1 = manifest({ name: 'lead', version: '1', tools: ['a'] });
    const v2 = manifest({ name: 'lead', version: '2', tools: ['b'] });
    const s1 = scope('s', { agent: 'lead', agentVersion: '1' });
    const s2 = scope('t', { agent: 'lead', agentVersion: '2', sessionId: 't' });
    const d = drift([v1, v2], [s2, s1], [attempt(s1, '1', 1, 'a', 'success', 0), attempt(s2, '1', 1, 'b', 'success', 0)]);
    assert.deepEqual(d.map((e) => [e.version, e.drifted]), [['1', false], ['2', false]]);
  });

  test('versions side by side: each lists the worker builds that wrote its scopes and did its actions', () => {
    const v1 = manifest({ name: 'lead', version: '1', tools: ['a'], subAgents: ['helper'] });
    const v2 = manifest({ name: 'lead', version: '2', tools: ['a', 'b'], subAgents: ['helper'] });
    const s1 = scope('s', { agent: 'lead', agentVersion: '1', workerBuildId: 'build-1' });
    const s2 = scope('t', { agent: 'lead', agentVersion: '2', sessionId: 't', workerBuildId: 'build-2' });
    const h1 = child('s.1', s1, { agent: 'helper', agentVersion: '1', delegatedBy: 'lead', workerBuildId: 'build-1' });
    const actions = [
      // An activity of version 1 picked up by a worker of another build is visible as such.
      { ...attempt(s1, '1', 1, 'a', 'success', 0), workerBuildId: 'build-1b' },
      { ...attempt(s2, '1', 1, 'b', 'success', 0), workerBuildId: 'build-2' },
      action('s/w1', 's', { agent: 'lead', kind: 'delegate', name: 'helper', targetScopeId: 's.1', activityId: null, workerBuildId: 'build-1' }),
    ];
    const d = drift([v1, v2], [s1, s2, h1], actions, 'lead');
    assert.deepEqual(d.map((e) => [e.version, e.builds, e.drifted]), [
      ['1', ['build-1', 'build-1b'], false],
      ['2', ['build-2'], false],
    ]);
    const lead = roles([v1, v2], [s1, s2, h1], actions).find((r) => r.agent === 'lead')!;
    assert.deepEqual(lead.byVersion, [
      { version: '1', manifest: true, builds: ['build-1', 'build-1b'], scopes: 1, delegations: 1, subAgents: ['helper'] },
      { version: '2', manifest: true, builds: ['build-2'], scopes: 1, delegations: 0, subAgents: [] },
    ]);
  });

  test('a delegation scope without a delegate row is still an observed sub-agent', () => {
    const m = manifest({ name: 'lead', version: '1', subAgents: ['helper'] });
    const root = scope('s', { agent: 'lead', agentVersion: '1' });
    const [e] = drift([m], [root, child('s.1', root, { agent: 'sneaky' })], [], 'lead');
    assert.deepEqual(e!.undeclaredSubAgents, ['sneaky']);
    assert.deepEqual(e!.unusedSubAgents, ['helper']);
  });

  test('a parent whose manifest pins another version of its sub-agent records a mismatch on the sub-agent', () => {
    const parent = manifest({ name: 'lead', version: '1', subAgents: ['analyst@1.0.0'] });
    const a2 = manifest({ name: 'analyst', version: '2.0.0' });
    const root = scope('s', { agent: 'lead', agentVersion: '1' });
    const kid = child('s.1', root, { agent: 'analyst', agentVersion: '2.0.0' });
    const again = child('s.2', root, { agent: 'analyst', agentVersion: '2.0.0' });
    const d = drift([parent, a2], [root, kid, again], [
      wf(root, 1, { kind: 'delegate', name: 'analyst', targetScopeId: 's.1' }),
      wf(root, 2, { kind: 'delegate', name: 'analyst', targetScopeId: 's.2' }),
    ]);
    const analyst = d.find((e) => e.agent === 'analyst')!;
    assert.deepEqual(analyst.versionMismatches, [{ parent: 'lead', parentVersion: '1', expected: '1.0.0', observed: '2.0.0' }], 'once, not per scope');
    assert.equal(analyst.drifted, true);
    const lead = d.find((e) => e.agent === 'lead')!;
    assert.deepEqual([lead.undeclaredSubAgents, lead.drifted], [[], false], 'the pinned name is declared');
  });

  test('no mismatch when the pin matches, when there is no pin, when one of several pins matches, or when the parent has no manifest', () => {
    const run = (parentManifests: Manifest[]) => {
      const root = scope('s', { agent: 'lead', agentVersion: '1' });
      const kid = child('s.1', root, { agent: 'analyst', agentVersion: '2.0.0' });
      return drift([...parentManifests, manifest({ name: 'analyst', version: '2.0.0' })], [root, kid], [], 'analyst')[0]!;
    };
    assert.deepEqual(run([manifest({ name: 'lead', version: '1', subAgents: ['analyst@2.0.0'] })]).versionMismatches, []);
    assert.deepEqual(run([manifest({ name: 'lead', version: '1', subAgents: ['analyst'] })]).versionMismatches, []);
    assert.deepEqual(run([manifest({ name: 'lead', version: '1', subAgents: ['analyst@1.0.0', 'analyst@2.0.0'] })]).versionMismatches, []);
    assert.deepEqual(run([]).versionMismatches, []);
    assert.deepEqual(run([manifest({ name: 'lead', version: '9', subAgents: ['analyst@1.0.0'] })]).versionMismatches, [], 'only the parent version that ran counts');
    assert.equal(run([]).drifted, false);
  });

  test('a version matching none of several pins lists each expectation', () => {
    const root = scope('s', { agent: 'lead', agentVersion: '1' });
    const kid = child('s.1', root, { agent: 'analyst', agentVersion: '3' });
    const [e] = drift(
      [manifest({ name: 'lead', version: '1', subAgents: ['analyst@2', 'analyst@1'] }), manifest({ name: 'analyst', version: '3' })],
      [root, kid], [], 'analyst',
    );
    assert.deepEqual(e!.versionMismatches.map((m) => m.expected), ['1', '2']);
  });

  test('a missing parent row gives no version verdict', () => {
    const kid = scope('s.1', { agent: 'analyst', agentVersion: '2', parentScopeId: 's', kind: 'delegation', path: '/s/s.1/' });
    const [e] = drift([manifest({ name: 'analyst', version: '2' })], [kid], []);
    assert.deepEqual(e!.versionMismatches, []);
  });

  test('the agent filter restricts the answer; an unknown agent gives nothing', () => {
    const { manifests, scopes, actions } = exampleSession();
    assert.deepEqual(drift(manifests, scopes, actions, 'verifier').map((e) => e.agent), ['verifier']);
    assert.deepEqual(drift(manifests, scopes, actions, 'nobody'), []);
  });

  test('manifests that never ran are not judged', () => {
    assert.deepEqual(drift([manifest({ name: 'idle', version: '1', tools: ['x'] })], [], []), []);
  });
});

// ───────────────────────────── timeline ─────────────────────────────

describe('timeline', () => {
  test('the example session: every scope start and end and every action, once, in time order', () => {
    const { scopes, actions } = exampleSession();
    const events = timeline(scopes, actions);
    assert.equal(events.length, scopes.length * 2 + actions.length);
    for (let i = 1; i < events.length; i++) assert.ok(Date.parse(events[i - 1]!.at) <= Date.parse(events[i]!.at));
    assert.deepEqual(events.slice(0, 4).map((e) => `${e.type} ${e.actionId ?? e.scopeId}`), [
      'scope_started s', 'action s/w1', 'action s/w2', 'action s/w3',
    ]);
    assert.deepEqual(events.slice(-3).map((e) => `${e.type} ${e.actionId ?? e.scopeId}`), [
      'action s~1/a1#1', 'action s~1/a2#1', 'scope_ended s~1',
    ]);
    assert.deepEqual(
      events.filter((e) => e.at === t(1000)).map((e) => `${e.type} ${e.actionId ?? e.scopeId}`),
      ['action s/w4', 'scope_ended s', 'scope_started s~1'],
      'the handoff, then the end of the scope that handed off, then the start of its successor',
    );
  });

  test('at one instant: scope start first, actions by natural id, a child starts after the action that delegated it, a parent ends after its child', () => {
    const root = scope('s', { startedAt: t(0), endedAt: t(0) });
    const kid = child('s.1', root, { startedAt: t(0), endedAt: t(0) });
    const events = timeline([kid, root], [
      wf(root, 10, { kind: 'signal', name: 'ping', startedAt: t(0) }),
      wf(root, 2, { kind: 'delegate', name: 'agent', targetScopeId: 's.1', startedAt: t(0) }),
      attempt(kid, '1', 1, 'x', 'success', 0),
    ]);
    assert.deepEqual(events.map((e) => `${e.type} ${e.actionId ?? e.scopeId}`), [
      'scope_started s',
      'action s/w2',
      'scope_started s.1',
      'action s.1/a1#1',
      'action s/w10',
      'scope_ended s.1',
      'scope_ended s',
    ]);
  });

  test('unrelated ties: starts before actions before ends; outer scopes open first and close last', () => {
    const a = scope('a', { depth: 0, startedAt: t(0), endedAt: t(5) });
    const b = scope('b', { depth: 2, startedAt: t(0), endedAt: t(5) });
    const c = scope('c', { depth: 1, startedAt: t(5), endedAt: t(9) });
    const events = timeline([c, b, a], [action('z/1', 'z', { startedAt: t(5) })]);
    assert.deepEqual(events.map((e) => `${e.type} ${e.scopeId}`), [
      'scope_started a', 'scope_started b', 'scope_started c', 'action z', 'scope_ended b', 'scope_ended a', 'scope_ended c',
    ]);
  });

  test('a running scope has no end event; times with offsets are ordered as instants', () => {
    const s = scope('s', { status: 'running', endedAt: null, startedAt: '2026-01-01T01:00:00.000+01:00' });
    const events = timeline([s], [action('s/a1#1', 's', { startedAt: '2026-01-01T00:00:00.500Z', endedAt: null, status: 'running' })]);
    assert.deepEqual(events.map((e) => e.type), ['scope_started', 'action']);
    assert.equal(events[0]!.at, '2026-01-01T01:00:00.000+01:00', 'the recorded time, unchanged');
  });

  test('texts say who did what and how it ended', () => {
    const { scopes, actions } = exampleSession();
    const text = (pred: (e: ReturnType<typeof timeline>[number]) => boolean) => timeline(scopes, actions).find(pred)!.text;
    assert.equal(text((e) => e.type === 'scope_started' && e.scopeId === 's'), 'orchestrator@1.0.0 started (root): answer Q1');
    assert.equal(text((e) => e.type === 'scope_started' && e.scopeId === 's.1'), 'researcher@1.0.0 started (delegated by orchestrator)');
    assert.equal(text((e) => e.type === 'scope_started' && e.scopeId === 's~1'), 'reviewer@1.0.0 started (handed off from s): final review before answering');
    assert.equal(text((e) => e.type === 'scope_ended' && e.scopeId === 's'), 'orchestrator ended degraded (recovered)');
    assert.equal(text((e) => e.type === 'scope_ended' && e.scopeId === 's.3'), 'translator ended error: translate: quota exceeded');
    assert.equal(text((e) => e.actionId === 's/w3'), 'delegated to translator (s.3) → error: child failed');
    assert.equal(text((e) => e.actionId === 's/w4'), 'handed off to reviewer (s~1)');
    assert.equal(text((e) => e.actionId === 's.2/a2#2'), 'called fetchPage (attempt 2) [read api:http-fetch, read web:example.org] → success');
    assert.equal(text((e) => e.actionId === 's/a1#1'), 'LLM call llm [share llm:scripted/scripted-1] → success');
    const s = scope('x');
    const misc = timeline([s], [
      wf(s, 1, { kind: 'signal', name: 'scopetrail.handoff', status: 'error', error: 'bad request' }),
      action('x/d', 'x', { kind: 'denied', status: 'denied', name: 'readDataset', error: 'may not read data:x' }),
      action('x/e', 'x', { kind: 'denied', status: 'denied', name: 'exportAll' }),
    ]).filter((e) => e.type === 'action');
    assert.deepEqual(misc.map((e) => e.text), [
      'refused readDataset: may not read data:x',
      'refused exportAll: outside the allowance',
      'received signal scopetrail.handoff → error: bad request',
    ]);
    assert.equal(misc[2]!.agent, 'agent');
  });

  test('every action kind reads as what happened: a budget overrun with its limit and use, a handoff that did not go ahead with its outcome', () => {
    const s = scope('x');
    const overrun = (seq: number, name: string, attributes: ActionRecord['attributes'], error = `budget exceeded (${name})`) =>
      wf(s, seq, { kind: 'budget_exceeded', name, status: 'error', error, attributes });
    const texts = timeline([s], [
      overrun(1, 'turns', { limit: 4, usedTurns: 4, usedTokens: 900 }),
      overrun(2, 'tokens', { limit: 1000, usedTurns: 2, usedTokens: 1234 }),
      overrun(3, 'wall_time', { limit: '2026-01-01T00:00:01.500Z', usedTurns: 1, usedTokens: 10 }),
      overrun(4, 'wall_time', {}, 'budget exceeded (wall_time): the deadline passed'),
      wf(s, 5, { kind: 'handoff', name: 'editor', targetScopeId: 'x~1', status: 'error', error: 'the run failed before handing off' }),
      wf(s, 6, { kind: 'delegate', name: 'scout', targetScopeId: 'x.1', status: 'success' }),
      wf(s, 7, { kind: 'signal', name: 'scopetrail.handoff', status: 'success' }),
      action('x/a1#1', 'x', { kind: 'tool_call', name: 'search', status: 'success' }),
      action('x/a2#1', 'x', { kind: 'llm_call', name: 'llm.generate', status: 'success' }),
      action('x/d', 'x', { kind: 'denied', status: 'denied', name: 'exportAll' }),
    ]).filter((e) => e.type === 'action').map((e) => e.text);
    assert.deepEqual(texts.sort(), [
      'LLM call llm.generate → success',
      'called search → success',
      'delegated to scout (x.1) → success',
      'exceeded budget tokens (limit 1000, used 1234)',
      'exceeded budget turns (limit 4, used 4)',
      'exceeded budget wall_time (deadline 2026-01-01T00:00:01.500Z passed)',
      'exceeded budget wall_time: budget exceeded (wall_time): the deadline passed',
      'handed off to editor (x~1) → error: the run failed before handing off',
      'received signal scopetrail.handoff → success',
      'refused exportAll: outside the allowance',
    ]);
  });

  test('inconsistent rows (a parent cycle at one instant) still yield every event', () => {
    const a = scope('a', { parentScopeId: 'b', kind: 'delegation', startedAt: t(0), endedAt: t(0) });
    const b = scope('b', { parentScopeId: 'a', kind: 'delegation', startedAt: t(0), endedAt: t(0) });
    const events = timeline([a, b], []);
    assert.equal(events.length, 4);
    assert.deepEqual(new Set(events.map((e) => `${e.type} ${e.scopeId}`)).size, 4);
  });

  test('no rows, no events', () => {
    assert.deepEqual(timeline([], []), []);
  });
});

// ───────────────────────────── sessionSummary ─────────────────────────────

describe('sessionSummary', () => {
  test('the example session: degraded (the orchestrator was, before it handed off), answered by the reviewer', () => {
    const { scopes, actions } = exampleSession();
    assert.deepEqual(sessionSummary(scopes, actions), {
      sessionId: 's',
      rootAgent: 'orchestrator',
      finalAgent: 'reviewer',
      status: 'degraded',
      scopes: 6,
      actions: 16,
      failedActions: 5, // fetchPage attempt 1, three translate attempts, the failed translator delegation
      startedAt: t(0),
      endedAt: t(1300),
    });
  });

  test('the worst status on the main line wins: error > degraded > cancelled > success', () => {
    const line = (...statuses: ScopeRecord['status'][]) => {
      const scopes: ScopeRecord[] = [scope('s', { status: statuses[0]!, startedAt: t(0) })];
      statuses.slice(1).forEach((status, i) => scopes.push(handedTo(`s~${i + 1}`, scopes[i]!, { status, startedAt: t(i + 1) })));
      return sessionSummary(scopes, []).status;
    };
    assert.equal(line('success'), 'success');
    assert.equal(line('error', 'success'), 'error');
    assert.equal(line('success', 'degraded', 'success'), 'degraded');
    assert.equal(line('cancelled', 'success'), 'cancelled');
    assert.equal(line('cancelled', 'degraded'), 'degraded');
    assert.equal(line('degraded', 'error'), 'error');
  });

  test('delegations count through their delegator\'s rolled-up status, not directly', () => {
    const root = scope('s', { status: 'success' });
    assert.equal(sessionSummary([root, child('s.1', root, { status: 'error' })], []).status, 'success');
  });

  test('anything running anywhere makes the session running, with no end', () => {
    const root = scope('s', { status: 'error' });
    const s = sessionSummary([root, child('s.1', root, { status: 'running', endedAt: null })], []);
    assert.equal(s.status, 'running');
    assert.equal(s.endedAt, null);
  });

  test('the final agent is the end of the handoff chain, however long', () => {
    const root = scope('s', { agent: 'router', startedAt: t(0) });
    const h1 = handedTo('s~1', root, { agent: 'billing', startedAt: t(10) });
    const h2 = handedTo('s~2', h1, { agent: 'refunds', startedAt: t(20) });
    const s = sessionSummary([h2, root, h1, child('s~2.1', h2, { agent: 'clerk' })], []);
    assert.deepEqual([s.rootAgent, s.finalAgent], ['router', 'refunds']);
  });

  test('the span covers scope and action times, compared as instants', () => {
    const root = scope('s', { startedAt: t(100), endedAt: t(200) });
    const s = sessionSummary([root], [
      action('s/a1#1', 's', { startedAt: '2026-01-01T01:00:00.050+01:00', endedAt: t(150) }),
      action('s/a2#1', 's', { startedAt: t(150), endedAt: t(250) }),
      action('s/a3#1', 's', { startedAt: t(160), endedAt: null, status: 'running' }),
    ]);
    assert.equal(s.startedAt, '2026-01-01T01:00:00.050+01:00');
    assert.equal(s.endedAt, t(250));
    assert.equal(s.failedActions, 0);
  });

  test('failed actions count every failed or refused row', () => {
    const root = scope('s', { status: 'error' });
    const s = sessionSummary([root], [
      attempt(root, '1', 1, 'x', 'error', 0),
      attempt(root, '1', 2, 'x', 'success', 10),
      attempt(root, '2', 1, 'y', 'denied', 20, { kind: 'denied' }),
      attempt(root, '3', 1, 'z', 'cancelled', 30),
      wf(root, 1, { kind: 'delegate', name: 'w', status: 'error' }),
    ]);
    assert.equal(s.failedActions, 3);
    assert.equal(s.actions, 5);
  });

  test('without a root row, a parentless scope stands in; without scopes there is no session', () => {
    const orphan = scope('s.1', { parentScopeId: 's', kind: 'delegation', path: '/s/s.1/', agent: 'kid', startedAt: t(0) });
    const top = scope('s~1', { kind: 'handoff', handoffFromScopeId: 's', path: '/s~1/', agent: 'peer', startedAt: t(5) });
    const s = sessionSummary([orphan, top], []);
    assert.equal(s.rootAgent, 'kid', 'no scope qualifies as a root: the earliest stands in');
    assert.equal(sessionSummary([orphan, scope('x', { agent: 'lone', kind: 'handoff', startedAt: t(9) })], []).rootAgent, 'lone');
    assert.throws(() => sessionSummary([], []), RangeError);
  });
});
