/**
 * What the dashboard shows a person and the session listing's limit: escapes for
 * control and bidi characters, times in UTC, counts in their number, the graph's
 * smallest scale, the live token rules, and the listing's truncation flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { count, clock, visible, when } from '../../ui/src/format';
import { graphMinWidth, layoutScopeTree, MIN_GRAPH_SCALE } from '../../ui/src/graph-layout';
import { canShare, liveKey, type Live } from '../../ui/src/live-state';
import { buildScopeTree } from '../../cim/scope-tree';
import { listSessions, SessionsArgs } from '../../client/forensic-queries';
import { handleApi } from '../../client/ui-api';
import { moreSessionsHint } from '../../client/cli-commands';
import { OPTION_HELP } from '../../client/cli-options';
import type { ScopeClient } from '../../client/scope-client';
import type { Store } from '../../store/types';
import { scope } from './fixtures';

test('text from agents shows its bidi overrides and control characters as escapes', () => {
  assert.equal(visible('\u202Eevil\u202C'), '\\u202eevil\\u202c');
  assert.equal(visible('a\u2066b\u2069\u200f'), 'a\\u2066b\\u2069\\u200f');
  assert.equal(visible('line\nnext\u001b[2J'), 'line\\x0anext\\x1b[2J');
  assert.equal(visible('plain text: db:customers/42'), 'plain text: db:customers/42');
});

test('times are shown in UTC and marked so, whatever the zone of the browser', () => {
  assert.equal(when('2026-12-06T22:40:26.123+02:00'), '2026-12-06 20:40:26 UTC');
  assert.equal(when(null), '—');
  assert.equal(clock('2026-12-06T23:59:59.007-01:00'), '00:59:59.007');
});

test('counts agree with their number', () => {
  assert.equal(count(1, 'scope'), '1 scope');
  assert.equal(count(0, 'scope'), '0 scopes');
  assert.equal(count(8, 'action row'), '8 action rows');
  assert.equal(count(1, 'workflow run'), '1 workflow run');
  assert.equal(count(2, 'match', 'matches'), '2 matches');
});

test('a graph of 150 delegations is drawn no smaller than the readable scale, so the card scrolls instead', () => {
  const scopes = [scope('s', { sessionId: 's' })];
  for (let i = 1; i <= 150; i++) scopes.push(scope(`s.${i}`, { sessionId: 's', parentScopeId: 's', depth: 1, path: `/s/s.${i}/` }));
  const layout = layoutScopeTree(buildScopeTree('s', scopes).roots);
  assert.ok(layout.width > 30_000, `150 nodes side by side: ${layout.width}`);
  const min = graphMinWidth(layout.width);
  assert.equal(min, Math.round(layout.width * MIN_GRAPH_SCALE));
  assert.ok(min / layout.width >= 0.5, 'a node stays at least half its size');
  // A 1318 px card would have drawn it at a few percent of its size.
  assert.ok(min > 1318 * 10);
});

const live = (over: Partial<Live>): Live => ({ cursor: null, runningScopes: null, state: 'connecting', via: 'stream', waited: false, ...over });

test('a view fetches once its first live token came, or once it waited long enough, not before', () => {
  assert.equal(liveKey(live({})), false, 'no fetch while the first token is on its way');
  assert.equal(liveKey(live({ waited: true })), 'connecting', 'a slow token holds nothing up');
  assert.equal(liveKey(live({ state: 'live' })), false, 'a stream that opened has its first token still to send');
  assert.equal(liveKey(live({ state: 'live', waited: true })), 'live', 'an open stream whose token is slow holds nothing up');
  assert.equal(liveKey(live({ cursor: 'abc', state: 'live' })), 'abc');
  assert.equal(liveKey(live({ cursor: 'abc', state: 'lost' })), 'abc', 'a lost stream keeps what it had');
  assert.equal(liveKey(live({ state: 'lost' })), 'lost');
  assert.equal(liveKey(live({ state: 'missing' })), 'missing', 'a session not found is fetched once, to show the 404');
});

test('tabs share a stream only where the browser has both Web Locks and BroadcastChannel; elsewhere they poll', () => {
  const locks = { request: () => undefined };
  assert.equal(canShare({ BroadcastChannel: class {}, navigator: { locks } }), true);
  assert.equal(canShare({ BroadcastChannel: class {}, navigator: {} }), false, 'no Web Locks outside a secure context');
  assert.equal(canShare({ navigator: { locks } }), false);
  assert.equal(canShare({}), false);
});

function fakeStore(ids: string[]): Store {
  return {
    sessionKeys: async ({ limit, after }: { limit: number; after?: { sessionId: string } }) =>
      ids
        .slice(after ? ids.indexOf(after.sessionId) + 1 : 0)
        .slice(0, limit)
        .map((sessionId) => ({ sessionId, startedAt: '2026-01-01T00:00:00.000Z' })),
    scopesOfSession: async (id: string) => [scope(id, { sessionId: id, workflowId: id })],
    actionsOfSession: async () => [],
  } as unknown as Store;
}

test('a listing says whether its limit left older sessions out', async () => {
  const ids = ['s5', 's4', 's3', 's2', 's1'];
  const cut = await listSessions(fakeStore(ids), undefined, SessionsArgs.parse({ limit: 3 }));
  assert.deepEqual(cut.sessions.map((s) => s.sessionId), ['s5', 's4', 's3']);
  assert.equal(cut.truncated, true);
  // The page after it goes on from its last session, with no gap and no repeat.
  const rest = await listSessions(fakeStore(ids), undefined, SessionsArgs.parse({ limit: 3, after: cut.next }));
  assert.deepEqual(rest.sessions.map((s) => s.sessionId), ['s2', 's1']);
  assert.equal(rest.truncated, false);
  assert.equal(rest.next, undefined);
  assert.throws(() => SessionsArgs.parse({ after: 'page2' }), /not a cursor a sessions listing gave/);
  const whole = await listSessions(fakeStore(ids), undefined, SessionsArgs.parse({ limit: 5 }));
  assert.equal(whole.sessions.length, 5);
  assert.equal(whole.truncated, false, 'exactly the limit is not cut');
  assert.equal(SessionsArgs.parse({}).limit, 50);
});

test('the CLI says when the limit cut the list, and its help gives the default', () => {
  assert.match(OPTION_HELP.limit.text, /default: 50/);
  assert.equal(
    moreSessionsHint(50, 's1.abc', false),
    '(the newest 50 sessions shown; older ones match too: the next page with --after s1.abc, raise --limit, at most 10000, or narrow with --since, --agent or --status)',
  );
  assert.match(moreSessionsHint(1, undefined, true), /the next 1 session shown/);
});

test('the API names a query parameter given twice, rather than saying it expected a string', async () => {
  const ctx = { client: {} as ScopeClient, temporalAddress: 'localhost:7233' };
  const twice = await handleApi(ctx, 'GET', new URL('http://h/api/sessions?limit=5&limit=6'));
  assert.equal(twice.status, 400);
  assert.deepEqual(twice.body, { error: { status: 400, message: 'query parameter "limit" is given 2 times: give it once', field: 'limit' } });
  const unknown = await handleApi(ctx, 'GET', new URL('http://h/api/sessions?lmit=5&lmit=6'));
  assert.equal((unknown.body as { error: { message: string } }).error.message, 'unknown query parameter "lmit"');
  const resources = await handleApi(ctx, 'GET', new URL('http://h/api/resources?glob=a&glob=b'));
  assert.match((resources.body as { error: { message: string } }).error.message, /"glob" is given 2 times/);
});
