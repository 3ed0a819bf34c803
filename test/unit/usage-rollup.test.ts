/**
 * The usage rollup of sealed scopes is computed from the records the sealer hashed
 * (store/rollup-rows.ts), not by grouping their rows again: it must be exactly what a
 * recount of the rows gives, facet by facet.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pgliteExecutor } from '../../store/pglite';
import { SqlStore } from '../../store/sql-store';
import { CommittedActionCache } from '../../worker/committed-actions';
import { rollupRows, tallyActions } from '../../store/rollup-rows';
import { usageOf, type AgentUsage } from '../../cim/forensics/usage';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { action as baseAction, scope as baseScope } from './fixtures';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

function sorted(usage: AgentUsage): Record<string, string[]> {
  return Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, (v as unknown[]).map((x) => JSON.stringify(x)).sort()]));
}

/** One session: a root delegating twice (one delegation with no `delegate` record), a handoff, retries and refusals. */
function session(id: string, build: string | undefined): { scopes: ScopeRecord[]; actions: ActionRecord[] } {
  const worker = build ? { workerDeployment: 'dep', workerBuildId: build } : {};
  const root = baseScope(`${id}-root`, { sessionId: id, agent: 'orchestrator', agentVersion: '2.0.0', path: `/${id}-root/`, ...worker });
  const child = (name: string, agent: string, fields: Partial<ScopeRecord> = {}) =>
    baseScope(name, {
      sessionId: id, parentScopeId: root.scopeId, kind: 'delegation', delegatedBy: 'orchestrator', agent, depth: 1,
      path: `/${id}-root/${name}/`, startedAt: at(10), endedAt: at(900), ...fields,
    });
  const research = child(`${id}-research`, 'researcher', { status: 'error', error: 'gave up' });
  const orphan = child(`${id}-orphan`, 'verifier', { agentVersion: '1.1.0' });
  const handoff = baseScope(`${id}-handoff`, {
    sessionId: id, kind: 'handoff', handoffFromScopeId: root.scopeId, agent: 'writer', path: `/${id}-handoff/`, startedAt: at(950), endedAt: at(990),
  });
  const act = (n: string, owner: ScopeRecord, fields: Partial<ActionRecord>) =>
    baseAction(`${owner.scopeId}/${n}`, owner.scopeId, { sessionId: id, agent: owner.agent, startedAt: at(100), endedAt: at(110), ...worker, ...fields });
  const actions = [
    act('d1', root, { kind: 'delegate', name: 'researcher', activityId: null, targetScopeId: research.scopeId }),
    // Three attempts of one activity: two failures, then success (a recovered call).
    act('a1#1', research, { name: 'search', activityId: '1', attempt: 1, status: 'error', error: 'timeout', startedAt: at(120) }),
    act('a1#2', research, { name: 'search', activityId: '1', attempt: 2, status: 'error', error: 'timeout', startedAt: at(130) }),
    act('a1#3', research, { name: 'search', activityId: '1', attempt: 3, status: 'success', startedAt: at(140) }),
    // A call whose last attempt failed, and a refusal recorded without an activity id.
    act('a2#1', research, { name: 'fetch', activityId: '2', status: 'error', error: 'boom', startedAt: at(150) }),
    act('deny', research, { kind: 'denied', name: 'send', activityId: null, status: 'denied', startedAt: at(160) }),
    act('llm', orphan, { kind: 'llm_call', name: 'llm', activityId: '3', attributes: { tokens: 12 } }),
    act('sig', handoff, { kind: 'signal', name: 'nudge', activityId: null }),
  ];
  return { scopes: [root, research, orphan, handoff], actions };
}

let store: SqlStore;
before(async () => {
  store = new SqlStore(pgliteExecutor(undefined), 'PGlite');
  await store.migrate();
});
after(async () => {
  await store?.close();
});

test('sealed scopes are rolled up from their hashed records exactly as a recount of their rows counts them', async () => {
  const cache = new CommittedActionCache();
  const a = session('s1', 'build-7');
  const b = session('s2', undefined);
  for (const batch of [a, b]) {
    const { xid } = await store.writeBatch(batch);
    cache.committed(batch, xid!);
  }
  // One session sealed from the worker's records, the other from its rows read back.
  await store.sealScopes(a.scopes.map((s) => ({ namespace: 'default', scopeId: s.scopeId })), undefined, cache);
  await store.sealScopes(b.scopes.map((s) => ({ namespace: 'default', scopeId: s.scopeId })));
  assert.deepEqual(await store.unsealedScopes(10), [], 'every scope is sealed, so usage comes from the rollup alone');
  const expected = sorted(usageOf([...a.scopes, ...b.scopes], [...a.actions, ...b.actions]));
  assert.deepEqual(sorted(await store.agentUsage({ recount: true })), expected);
  assert.deepEqual(sorted(await store.agentUsage()), expected);
  const usage = await store.agentUsage();
  assert.deepEqual(
    usage.calls.filter((c) => c.agent === 'researcher').map(({ calls, failedCalls, failedAttempts }) => ({ calls, failedCalls, failedAttempts })),
    [{ calls: 6, failedCalls: 4, failedAttempts: 8 }],
    'in each session the retried search recovered, fetch and the refusal failed',
  );
  assert.deepEqual(usage.unmatched, [{ delegatedBy: 'orchestrator', agent: 'verifier', count: 2 }], 'the delegation nobody recorded, once per session');
});

// Two workers sealing at once upserted overlapping keys in opposite orders, and Postgres
// broke the deadlock by failing one of them (seen with 400 agents per batch).
test('rollup rows come in key order whatever order the scopes are sealed in, so concurrent sealers lock them in one order', () => {
  const scopes = ['zeta', 'alpha', 'mid', 'beta'].map((agent, i) => ({
    scope: baseScope(`o${i}`, { agent, path: `/o${i}/` }),
    tally: tallyActions([]),
    sessionStartedAt: at(0),
    parent: null,
    delegated: false,
  }));
  const forward = rollupRows(scopes);
  const backward = rollupRows([...scopes].reverse());
  assert.deepEqual(backward, forward);
  const keys = forward.map((r) => r.slice(0, 9).join('\u0000'));
  assert.equal(keys.length, 4);
  assert.deepEqual(keys, [...keys].sort());
});
