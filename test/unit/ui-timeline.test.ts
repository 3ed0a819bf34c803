/** The dashboard's timeline layout, its URL state and the resource glob, without a browser. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildScopeTree } from '../../cim/scope-tree';
import { layoutWaterfall, groupCalls, LABEL_W } from '../../ui/src/waterfall';
import { href, parseRoute, sinceTime, type Route } from '../../ui/src/routes';
import { globToLike } from '../../store/dashboard-queries';
import { action, scope } from './fixtures';

const t = (ms: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + ms).toISOString();

function session() {
  const scopes = [
    scope('s', { agent: 'lead', startedAt: t(0), endedAt: null, status: 'running' }),
    scope('s.1', { parentScopeId: 's', agent: 'worker', depth: 1, path: '/s/s.1/', startedAt: t(200), endedAt: t(600), status: 'success' }),
    scope('s.1~1', { agent: 'closer', kind: 'handoff', parentScopeId: 's', handoffFromScopeId: 's.1', depth: 1, path: '/s/s.1~1/', startedAt: t(600), endedAt: null, status: 'running' }),
  ];
  const actions = [
    // One call, retried: two attempts share the activity id.
    action('a1', 's', { activityId: '1', attempt: 1, status: 'error', error: 'flaky', startedAt: t(10), endedAt: t(50) }),
    action('a2', 's', { activityId: '1', attempt: 2, status: 'success', startedAt: t(100), endedAt: t(150) }),
    action('d1', 's', { kind: 'delegate', name: 'worker', activityId: null, targetScopeId: 's.1', status: 'running', startedAt: t(190), endedAt: null }),
    // Two calls at once in one scope: they must not overlap.
    action('e1', 's.1', { activityId: '1', startedAt: t(250), endedAt: t(400) }),
    action('e2', 's.1', { activityId: '2', startedAt: t(260), endedAt: t(380) }),
    action('h1', 's.1', { kind: 'handoff', name: 'closer', activityId: null, targetScopeId: 's.1~1', startedAt: t(590), endedAt: t(600) }),
    action('c1', 's.1~1', { activityId: '1', status: 'running', startedAt: t(650), endedAt: null }),
  ];
  return { tree: buildScopeTree('s', scopes), actions };
}

test('the waterfall has a lane per scope in tree order, one bar per call with its attempts, and running work reaching now', () => {
  const { tree, actions } = session();
  const w = layoutWaterfall(tree.roots, actions, { now: t(1000), zoom: 1, baseWidth: 1000 });
  assert.deepEqual(w.lanes.map((l) => l.scope.scopeId), ['s', 's.1', 's.1~1']);
  assert.equal(w.scale, 1, '1000 px for the 1000 ms from the first start to now');
  const retried = w.bars.find((b) => b.id === 'a1')!;
  assert.equal(retried.attempts.length, 2);
  assert.equal(retried.retries, 1);
  assert.equal(retried.status, 'success', 'a retried call that succeeded is a success');
  assert.equal(retried.x, LABEL_W + 10);
  assert.equal(retried.width, 140, 'the bar spans from the first attempt to the end of the last');
  const running = w.bars.find((b) => b.id === 'c1')!;
  assert.equal(running.running, true);
  assert.equal(running.x + running.width, LABEL_W + 1000, 'a running call is drawn up to now');
  assert.deepEqual(w.lanes.map((l) => l.running), [true, false, true]);
  assert.equal(w.lanes[0]!.x + w.lanes[0]!.width, LABEL_W + 1000);
});

test('parallel calls of one scope stack in rows, and the lane grows to hold them', () => {
  const { tree, actions } = session();
  const w = layoutWaterfall(tree.roots, actions, { now: t(1000), zoom: 1, baseWidth: 1000 });
  const [e1, e2] = [w.bars.find((b) => b.id === 'e1')!, w.bars.find((b) => b.id === 'e2')!];
  assert.notEqual(e1.row, e2.row);
  const lane = w.lanes.find((l) => l.scope.scopeId === 's.1')!;
  assert.ok(lane.height > w.lanes.find((l) => l.scope.scopeId === 's.1~1')!.height);
  assert.ok(e2.y + 22 <= lane.y + lane.height);
});

test('every delegation and handoff gets an arrow, leaving from the action that made it', () => {
  const { tree, actions } = session();
  const w = layoutWaterfall(tree.roots, actions, { now: t(1000), zoom: 1, baseWidth: 1000 });
  assert.deepEqual(
    w.arrows.map((a) => `${a.kind} ${a.from}→${a.to}`),
    ['delegation s→s.1', 'handoff s.1→s.1~1'],
  );
  const delegation = w.arrows[0]!;
  assert.equal(delegation.x1, LABEL_W + 190, 'from the delegate action');
  assert.equal(delegation.x2, LABEL_W + 200, 'to the child scope\'s start');
  // Without the handoff action recorded, the arrow leaves from the end of the scope that handed off.
  const w2 = layoutWaterfall(tree.roots, actions.filter((a) => a.actionId !== 'h1'), { now: t(1000), zoom: 1, baseWidth: 1000 });
  assert.equal(w2.arrows[1]!.x1, LABEL_W + 600);
});

test('zoom scales time: at 4× every position from the start is four times as far', () => {
  const { tree, actions } = session();
  const one = layoutWaterfall(tree.roots, actions, { now: t(1000), zoom: 1, baseWidth: 1000 });
  const four = layoutWaterfall(tree.roots, actions, { now: t(1000), zoom: 4, baseWidth: 1000 });
  const bar = (w: typeof one) => w.bars.find((b) => b.id === 'e1')!;
  assert.equal(bar(four).x - LABEL_W, 4 * (bar(one).x - LABEL_W));
  assert.equal(bar(four).width, 4 * bar(one).width);
  assert.ok(four.width > one.width);
});

test('only tool and LLM calls group by activity id; other actions stand alone', () => {
  const groups = groupCalls([
    action('a', 's', { activityId: '1', attempt: 1 }),
    action('b', 's.1', { activityId: '1', attempt: 1 }),
    action('c', 's', { activityId: '1', attempt: 2 }),
    action('d', 's', { kind: 'signal', name: 'handoff', activityId: '1' }),
  ]);
  assert.deepEqual(groups.map((g) => g.map((a) => a.actionId)), [['a', 'c'], ['b'], ['d']]);
});

test('every view\'s state survives a round trip through its link', () => {
  const routes: Route[] = [
    { view: 'sessions', status: null, agent: null, since: null, after: null },
    { view: 'sessions', status: 'running', agent: 'research er', since: '1h', after: null },
    { view: 'sessions', status: null, agent: 'lead', since: null, after: '2026-12-07T04:39:27.123456Z ses-a/b' },
    { view: 'session', sessionId: 'a/b c', scopeId: 'a/b c.1', descendants: true },
    { view: 'session', sessionId: 's', scopeId: null, descendants: false },
    { view: 'timeline', sessionId: 's~1', zoom: 8 },
    { view: 'resources', glob: 'data:*/all?x=1&y', modes: ['read', 'share'], from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
    { view: 'health' },
  ];
  for (const r of routes) assert.deepEqual(parseRoute(href(r)), r, href(r));
  assert.equal(href({ view: 'sessions', status: null, agent: null, since: null, after: null }), '#/', 'the plain list keeps its short link');
  assert.deepEqual(parseRoute('#/sessions/s/timeline?zoom=3'), { view: 'timeline', sessionId: 's', zoom: 1 }, 'a zoom that is not offered falls back to 1');
  assert.deepEqual(parseRoute('#/?status=bogus'), { view: 'sessions', status: null, agent: null, since: null, after: null });
});

test('a since filter is a window back from now or a time; anything else is no time', () => {
  const now = Date.parse('2026-01-01T12:00:00.000Z');
  assert.equal(sinceTime('15m', now), '2026-01-01T11:45:00.000Z');
  assert.equal(sinceTime('24h', now), '2025-12-31T12:00:00.000Z');
  assert.equal(sinceTime('2026-01-01T10:00:00Z', now), '2026-01-01T10:00:00.000Z');
  assert.equal(sinceTime('yesterday', now), null);
});

test('a resource glob keeps the URI\'s own LIKE characters literal and makes * any run', () => {
  assert.equal(globToLike('db:customers'), 'db:customers');
  assert.equal(globToLike('data:*/all'), 'data:%/all');
  assert.equal(globToLike('file:100%_sure\\*'), 'file:100\\%\\_sure\\\\%');
});
