/**
 * On Postgres, with sealers running at once: a delegation sealed before its parent's row
 * and `delegate` action were written (the parent's worker had lost the database and
 * drained its spool later) leaves the usage rollup equal to a recount of the rows, so
 * `verify-usage` is clean, whether the parent's records arrive before, while or after
 * the child is sealed, and whether the parent is sealed before or after the child.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Store } from '../../store/types';
import type { AgentUsage } from '../../cim/forensics/usage';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { action, scope } from '../unit/fixtures';
import { dropTestSchema, openTestStore } from '../helpers/runtime';

const SESSIONS = 40;
const at = (ms: number) => new Date(Date.UTC(2026, 2, 1) + ms).toISOString();

let store: Store;
let schema: string;
before(async () => {
  ({ store, schema } = await openTestStore());
});
after(async () => {
  await store?.close();
  if (schema) await dropTestSchema(schema);
});

function sorted(usage: AgentUsage): Record<string, string[]> {
  return Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, (v as unknown[]).map((x) => JSON.stringify(x)).sort()]));
}

/** A sleeper delegating to a helper, then a second helper retried under the same scope. */
function session(i: number): { parent: ScopeRecord; children: ScopeRecord[]; delegates: ActionRecord[] } {
  const id = `late-${i}`;
  const parent = scope(`${id}-p`, { sessionId: id, agent: 'sleeper', agentVersion: '1', path: `/${id}-p/`, startedAt: at(i), endedAt: at(i + 5000) });
  const children = [1, 2].map((n) =>
    scope(`${id}-c${n}`, {
      sessionId: id, parentScopeId: parent.scopeId, kind: 'delegation', delegatedBy: 'sleeper', agent: 'helper', agentVersion: '1', depth: 1,
      path: `/${id}-p/${id}-c${n}/`, startedAt: at(i + 10), endedAt: at(i + 1000),
    }),
  );
  // Two attempts of the delegation to the second child: both point at it.
  const delegates = [
    action(`${id}-d1`, parent.scopeId, { sessionId: id, agent: 'sleeper', kind: 'delegate', name: 'helper', activityId: null, targetScopeId: children[0]!.scopeId, startedAt: at(i + 5), endedAt: at(i + 1100) }),
    ...[1, 2].map((attempt) =>
      action(`${id}-d2#${attempt}`, parent.scopeId, { sessionId: id, agent: 'sleeper', kind: 'delegate', name: 'helper', activityId: null, attempt, targetScopeId: children[1]!.scopeId, startedAt: at(i + 6), endedAt: at(i + 1100) }),
    ),
  ];
  return { parent, children, delegates };
}

const seal = (scopes: readonly ScopeRecord[]) => store.sealScopes(scopes.map((s) => ({ namespace: 'default', scopeId: s.scopeId })));

test('delegations sealed before, while and after their parent’s spooled records arrive: verify-usage is clean', { timeout: 120_000 }, async () => {
  const sessions = Array.from({ length: SESSIONS }, (_, i) => session(i));
  // The children's worker kept the database: their rows are written and they end.
  await store.writeBatch!({ scopes: sessions.flatMap((s) => s.children) });
  // Meanwhile its sealer seals them, while the parents' worker drains its spool (each session
  // in its own batch, as a drain writes them) and its sealer seals the parents as they land.
  const order = (i: number) => i % 4;
  await Promise.all([
    // A quarter of the children sealed before anything of their parent arrived.
    seal(sessions.filter((_, i) => order(i) === 0).flatMap((s) => s.children)).then(() =>
      seal(sessions.filter((_, i) => order(i) !== 0).flatMap((s) => s.children)),
    ),
    ...sessions.map(async (s, i) => {
      // Some parents' records arrive in two parts: the delegate actions first, the row later.
      if (order(i) === 1) {
        await store.writeBatch!({ actions: s.delegates });
        await store.writeBatch!({ scopes: [s.parent] });
      } else {
        await store.writeBatch!({ scopes: [{ ...s.parent, status: 'running', endedAt: null }], actions: s.delegates });
        await store.writeBatch!({ scopes: [s.parent] });
      }
      // Some parents are sealed at once, concurrently with their children; others later.
      if (order(i) !== 3) await seal([s.parent]);
    }),
  ]);
  assert.deepEqual(await store.usageDifferences!(), [], 'verify-usage is clean with some parents not sealed yet');
  assert.deepEqual(sorted(await store.agentUsage()), sorted(await store.agentUsage({ recount: true })), 'roles read the counts of the rows');
  await seal(sessions.filter((_, i) => order(i) === 3).map((s) => s.parent));
  assert.deepEqual(await store.unsealedScopes(10), [], 'every scope is sealed');
  assert.deepEqual(await store.usageDifferences!(), [], 'verify-usage is clean once every scope is sealed');
  const usage = await store.agentUsage();
  assert.deepEqual(usage.unmatched, [], 'every delegation has its delegate action');
  assert.deepEqual(usage.edges.map((e) => e.count), [2 * SESSIONS], 'each session’s two delegations are counted once');
});
