/**
 * The worker's look for scopes left running by runs Temporal closed without agent code,
 * with a store and Temporal faked: which runs it asks about, which sessions it repairs,
 * how long it leaves an open run's scope before it looks again, and how it walks a store
 * with more running scopes than one look takes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnendedScopes } from '../../worker/unended-scopes';
import { runKey, type ListedRun, type RunClose, type RunRef } from '../../store/run-status';
import type { RunningScope, Store } from '../../store/types';
import { ScopetrailPlugin } from '../../worker/plugin';
import { periodicStoreJobLog } from '../../worker/store-outage-log';

function scope(n: number, sessionId = `s${n}`, namespace = 'default'): RunningScope {
  return {
    namespace,
    scopeId: `scope-${n}`,
    sessionId,
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    run: { namespace, workflowId: `wf-${n}`, runId: `run-${n}` },
  };
}

/** A store holding `rows` as running, answering pages in (start, id) order as Postgres does. */
function fakeStore(rows: RunningScope[]) {
  const pages: Array<{ after?: string; limit: number }> = [];
  const store: Pick<Store, 'runningScopes'> = {
    async runningScopes({ startedBefore, after, limit }) {
      pages.push({ ...(after ? { after: after.scopeId } : {}), limit });
      return rows
        .filter((r) => r.startedAt < startedBefore && (!after || r.startedAt > after.startedAt || (r.startedAt === after.startedAt && r.scopeId > after.scopeId)))
        .slice(0, limit);
    },
  };
  return { store, pages, rows };
}

function fakeTemporal(closes: Record<string, RunClose>) {
  const asked: string[] = [];
  return {
    asked,
    async closes(runs: readonly RunRef[]) {
      asked.push(...runs.map((r) => r.runId));
      return new Map(runs.map((r) => [runKey(r), closes[r.runId] ?? 'open']));
    },
  };
}

test('a run closed without agent code gets its session repaired once; open and agent-closed runs are left, and looked at again later', async () => {
  const { store } = fakeStore([scope(1), scope(2), scope(3), scope(4, 's1')]);
  const temporal = fakeTemporal({ 'run-1': 'closed_without_agent', 'run-4': 'closed_without_agent', 'run-3': 'closed' });
  const repaired: string[] = [];
  const looker = new UnendedScopes(
    { store, namespace: 'default', closes: temporal.closes, repair: async (id) => (repaired.push(id), 2) },
    { everyMs: 1_000, afterMs: 0 },
  );
  const t0 = Date.UTC(2026, 0, 2);
  assert.equal(await looker.look(t0), 2);
  // Two scopes of one session: its histories are read once.
  assert.deepEqual(repaired, ['s1']);
  assert.deepEqual(temporal.asked, ['run-1', 'run-2', 'run-3', 'run-4']);
  // Too soon for another question about the open run and the one its code closed.
  temporal.asked.length = 0;
  await looker.look(t0 + 500);
  assert.deepEqual(temporal.asked, ['run-1', 'run-4'], 'only scopes not yet waiting are asked about (the repaired ones are still in this fake store)');
  temporal.asked.length = 0;
  await looker.look(t0 + 1_000);
  assert.deepEqual(temporal.asked, ['run-1', 'run-2', 'run-3', 'run-4']);
});

test('the wait before looking again doubles up to its bound', async () => {
  const { store } = fakeStore([scope(1)]);
  const temporal = fakeTemporal({});
  const looker = new UnendedScopes({ store, namespace: 'default', closes: temporal.closes, repair: async () => 0 }, { everyMs: 1_000, afterMs: 0, maxWaitMs: 4_000 });
  const t0 = Date.UTC(2026, 0, 2);
  const lookedAt: number[] = [];
  for (let t = t0; t < t0 + 20_000; t += 500) {
    const before = temporal.asked.length;
    await looker.look(t);
    if (temporal.asked.length > before) lookedAt.push(t - t0);
  }
  assert.deepEqual(lookedAt, [0, 1_000, 3_000, 7_000, 11_000, 15_000, 19_000]);
});

test('a waiting scope whose run visibility lists as terminated is asked about at the next look', async () => {
  const { store } = fakeStore([scope(1), scope(2)]);
  const temporal = fakeTemporal({});
  const listed: ListedRun[] = [];
  const asks: string[] = [];
  const looker = new UnendedScopes(
    {
      store,
      namespace: 'default',
      closes: temporal.closes,
      repair: async () => 1,
      closedWithoutAgentSince: async (since) => (asks.push(since), listed.splice(0)),
    },
    { everyMs: 1_000, afterMs: 0, maxWaitMs: 60_000 },
  );
  const t0 = Date.UTC(2026, 0, 2);
  await looker.look(t0);
  await looker.look(t0 + 1_000);
  await looker.look(t0 + 3_000);
  // Both now wait 4 s; run 2 is terminated and listed.
  temporal.asked.length = 0;
  listed.push({ ...scope(2).run, session: false });
  await looker.look(t0 + 3_500);
  assert.deepEqual(temporal.asked, ['run-2']);
  // Asked about once: afterwards it waits like any other.
  await looker.look(t0 + 4_000);
  assert.deepEqual(temporal.asked, ['run-2']);
  // Each look asks from the previous one, a minute early (visibility lags); the first from the longest wait back.
  assert.deepEqual(asks.slice(0, 2), [new Date(t0 - 60_000 - 60_000).toISOString(), new Date(t0 - 60_000).toISOString()]);
});

test('listed runs no scope row names have their sessions completed once: a delegate that never ran, a later run of a scope, a root with no row', async () => {
  const { store: running } = fakeStore([]);
  const lookedUp: string[][] = [];
  const store: Pick<Store, 'runningScopes' | 'sessionsOfWorkflows'> = {
    runningScopes: running.runningScopes,
    async sessionsOfWorkflows(ids) {
      lookedUp.push([...ids]);
      const known: Record<string, { sessionId: string; runId: string | null }> = {
        'ses-a.1': { sessionId: 'ses-a', runId: null },
        'ses-b': { sessionId: 'ses-b', runId: 'run-b' },
        'ses-c': { sessionId: 'ses-c', runId: 'run-c1' },
      };
      return new Map(ids.flatMap((id) => (known[id] ? [[id, known[id]!] as const] : [])));
    },
  };
  const run = (workflowId: string, runId: string, session = false) => ({ namespace: 'default', workflowId, runId, session });
  const listed = [
    run('ses-a.1', 'run-a1'), // a delegate that timed out waiting for a worker: only its delegator's row names it
    run('ses-b', 'run-b'), // its row names this run: the walk through running rows is for it
    run('ses-c', 'run-c2'), // a later run of the scope than the one its row names
    run('ses-d', 'run-d', true), // a session's root that never ran: no row at all
    run('own-workflow', 'run-x'), // a workflow of the user's own
  ];
  const repaired: string[] = [];
  const looker = new UnendedScopes(
    { store, namespace: 'default', closes: fakeTemporal({}).closes, repair: async (id) => (repaired.push(id), 1), closedWithoutAgentSince: async () => listed },
    { everyMs: 1_000, afterMs: 0 },
  );
  const t0 = Date.UTC(2026, 0, 2);
  assert.equal(await looker.look(t0), 3);
  assert.deepEqual(repaired.sort(), ['ses-a', 'ses-c', 'ses-d']);
  // The next look's list overlaps this one's (visibility lags): the same runs are not completed again.
  assert.equal(await looker.look(t0 + 1_000), 0);
  assert.equal(repaired.length, 3);
  assert.equal(lookedUp.length, 1);
});

test('visibility that cannot answer changes nothing but the delay', async () => {
  const { store } = fakeStore([scope(1)]);
  const temporal = fakeTemporal({ 'run-1': 'closed_without_agent' });
  const looker = new UnendedScopes(
    { store, namespace: 'default', closes: temporal.closes, repair: async () => 1, closedWithoutAgentSince: async () => Promise.reject(new Error('no list permission')) },
    { afterMs: 0 },
  );
  assert.equal(await looker.look(Date.UTC(2026, 0, 2)), 1);
});

test('a repair that writes nothing (or fails) is not tried again at every look', async () => {
  const { store } = fakeStore([scope(1)]);
  const temporal = fakeTemporal({ 'run-1': 'closed_without_agent' });
  let repairs = 0;
  const errors: string[] = [];
  const looker = new UnendedScopes(
    {
      store,
      namespace: 'default',
      closes: temporal.closes,
      repair: async () => {
        repairs += 1;
        if (repairs === 1) throw new Error('history unreadable');
        return 0;
      },
    },
    { everyMs: 1_000, afterMs: 0, onError: (err) => errors.push(err.message) },
  );
  const t0 = Date.UTC(2026, 0, 2);
  await looker.look(t0);
  await looker.look(t0 + 500);
  assert.equal(repairs, 1);
  assert.deepEqual(errors, ['history unreadable']);
  await looker.look(t0 + 1_000);
  await looker.look(t0 + 1_500);
  assert.equal(repairs, 2, 'tried again once its wait is over');
});

test('a store with more running scopes than a look takes is walked page by page, and waits of scopes gone are forgotten', async () => {
  const fake = fakeStore(Array.from({ length: 5 }, (_, i) => scope(i + 1)));
  const temporal = fakeTemporal({});
  const looker = new UnendedScopes({ store: fake.store, namespace: 'default', closes: temporal.closes, repair: async () => 0 }, { everyMs: 60_000, afterMs: 0, pageSize: 2 });
  const t0 = Date.UTC(2026, 0, 2);
  for (let i = 0; i < 3; i++) await looker.look(t0 + i);
  assert.deepEqual(temporal.asked, ['run-1', 'run-2', 'run-3', 'run-4', 'run-5']);
  assert.deepEqual(fake.pages.map((p) => p.after ?? null), [null, 'scope-2', 'scope-4']);
  // Scope 2 ended meanwhile; a walk later, it is no longer waited for (nor asked about).
  fake.rows.splice(1, 1);
  temporal.asked.length = 0;
  for (let i = 0; i < 6; i++) await looker.look(t0 + 120_000 + i);
  assert.deepEqual(temporal.asked, ['run-1', 'run-3', 'run-4', 'run-5']);
  assert.equal((looker as unknown as { later: Map<string, unknown> }).later.has('scope-2'), false);
});

test('only scopes of the worker\'s namespace are looked at, and only those old enough', async () => {
  const now = Date.UTC(2026, 0, 1, 0, 1, 0);
  const young = { ...scope(59), startedAt: new Date(now - 1_000).toISOString() };
  const { store } = fakeStore([scope(1, 's1', 'other'), scope(2), young]);
  const temporal = fakeTemporal({});
  const looker = new UnendedScopes({ store, namespace: 'default', closes: temporal.closes, repair: async () => 0 }, { afterMs: 30_000 });
  await looker.look(now);
  assert.deepEqual(temporal.asked, ['run-2']);
});

test('ScopetrailPlugin refuses an unendedScopes option it cannot use, naming the field', () => {
  const store = { upsertManifests: async () => undefined } as unknown as Store;
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, unendedScopes: { everyMs: 5 } }),
    (err: Error & { field?: string }) => err.field === 'unendedScopes.everyMs',
  );
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, unendedScopes: { every: 1_000 } as never }),
    (err: Error & { field?: string }) => err.field === 'unendedScopes.every' && /invalid field "unendedScopes\.every": not a field it takes/.test(err.message),
  );
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, unendedScopes: { afterMs: 1.5 } }),
    (err: Error & { field?: string }) => err.field === 'unendedScopes.afterMs',
  );
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, unendedScopes: 'yes' as never }),
    (err: Error & { field?: string }) => err.field === 'unendedScopes' && /give \{ everyMs, afterMs \} \(milliseconds\) or false/.test(err.message),
  );
  assert.doesNotThrow(() => new ScopetrailPlugin({ store, fingerprintKey: false, unendedScopes: false }));
});

test('a store that cannot be reached is said once by the periodic look, and again only after a look has gone through', async () => {
  const lines: string[] = [];
  let up = false;
  const store: Pick<Store, 'runningScopes'> = {
    async runningScopes() {
      if (!up) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      return [];
    },
  };
  const looker = new UnendedScopes(
    { store, namespace: 'default', closes: async () => new Map(), repair: async () => 0 },
    { everyMs: 100, afterMs: 0, ...periodicStoreJobLog((line) => lines.push(line), 'looking for scopes') },
  );
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  looker.start();
  try {
    await sleep(550);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^looking for scopes: store unreachable \(connect ECONNREFUSED/);
    up = true;
    await sleep(250);
    up = false;
    await sleep(350);
    // The outage after a look that went through is a new one: said once more.
    assert.equal(lines.length, 2, lines.join('\n'));
  } finally {
    looker.stop();
  }
});

test('a periodic look failing for another reason than the store being down is said each time', () => {
  const lines: string[] = [];
  const log = periodicStoreJobLog((line) => lines.push(line), 'looking');
  const denied = () => Object.assign(new Error('permission denied for table scopes'), { code: '42501' });
  log.onError(denied());
  log.onError(denied());
  assert.deepEqual(lines, ['looking: permission denied for table scopes', 'looking: permission denied for table scopes']);
});
