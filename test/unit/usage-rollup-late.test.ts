/**
 * A delegation's edge and its "unmatched" entry depend on records of another scope: its
 * parent's row and the parent's `delegate` action. When the parent's worker lost the
 * database, those arrive from its spool after the child was sealed and rolled up; the
 * rollup must end equal to a recount of the rows whatever the order, and roles read
 * the right counts meanwhile.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pgliteExecutor } from '../../store/pglite';
import { SqlStore } from '../../store/sql-store';
import type { AgentUsage } from '../../cim/forensics/usage';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { action, scope } from './fixtures';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

function sorted(usage: AgentUsage): Record<string, string[]> {
  return Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, (v as unknown[]).map((x) => JSON.stringify(x)).sort()]));
}

/** A sleeper delegating to a helper: the parent's row, its `delegate` action, the child's row. */
function delegation(id: string): { parent: ScopeRecord; delegate: ActionRecord; child: ScopeRecord; running: ScopeRecord } {
  const parent = scope(`${id}-p`, { sessionId: id, agent: 'sleeper', path: `/${id}-p/`, startedAt: at(0), endedAt: at(1000) });
  const child = scope(`${id}-c`, {
    sessionId: id, parentScopeId: parent.scopeId, kind: 'delegation', delegatedBy: 'sleeper', agent: 'helper', depth: 1,
    path: `/${id}-p/${id}-c/`, startedAt: at(10), endedAt: at(500),
  });
  const delegate = action(`${id}-d`, parent.scopeId, {
    sessionId: id, agent: 'sleeper', kind: 'delegate', name: 'helper', activityId: null, targetScopeId: child.scopeId, startedAt: at(5), endedAt: at(600),
  });
  return { parent, delegate, child, running: { ...parent, status: 'running', endedAt: null } };
}

let store: SqlStore;
const db = pgliteExecutor(undefined);
before(async () => {
  store = new SqlStore(db, 'PGlite');
  await store.migrate();
});
after(async () => {
  await store?.close();
});

const seal = (...scopes: ScopeRecord[]) => store.sealScopes(scopes.map((s) => ({ namespace: 'default', scopeId: s.scopeId })));

async function assertRollupMatchesRows(when: string): Promise<void> {
  assert.deepEqual(await store.usageDifferences(), [], `verify-usage is clean ${when}`);
  assert.deepEqual(sorted(await store.agentUsage()), sorted(await store.agentUsage({ recount: true })), `usage read from the rollup equals a recount ${when}`);
}

test('a child sealed before its parent’s row and delegate action were written is counted as delegated once they arrive', async () => {
  const { parent, delegate, child } = delegation('late-all');
  await store.writeBatch({ scopes: [child] });
  await seal(child);
  await assertRollupMatchesRows('with only the child written');
  await store.writeBatch({ scopes: [parent], actions: [delegate] });
  await assertRollupMatchesRows('once the parent’s records arrived, before it is sealed');
  await seal(parent);
  await assertRollupMatchesRows('once the parent is sealed');
  const { rows } = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${store.schema}".usage_rollup_pending`);
  assert.equal(rows[0]?.n, '0', 'sealing the parent folded the difference into the rollup itself');
  const usage = await store.agentUsage();
  assert.deepEqual(usage.unmatched.filter((u) => u.agent === 'helper'), []);
  assert.deepEqual(usage.edges.filter((e) => e.childAgent === 'helper').map((e) => e.count), [1]);
});

test('a child sealed while its running parent’s delegate action was still spooled is matched when the action arrives', async () => {
  const { parent, delegate, child, running } = delegation('late-delegate');
  await store.writeBatch({ scopes: [running, child] });
  await seal(child);
  await store.writeBatch({ actions: [delegate] });
  await assertRollupMatchesRows('once the delegate action arrived');
  await store.writeBatch({ scopes: [parent] });
  await seal(parent);
  await assertRollupMatchesRows('once the parent is sealed');
});

test('a child and its late parent sealed in one batch, or the parent first, are counted once', async () => {
  const one = delegation('same-batch');
  await store.writeBatch({ scopes: [one.child] });
  await store.writeBatch({ scopes: [one.parent], actions: [one.delegate] });
  await seal(one.child, one.parent);
  const first = delegation('parent-first');
  await store.writeBatch({ scopes: [first.parent, first.child], actions: [first.delegate] });
  await seal(first.parent);
  await seal(first.child);
  await assertRollupMatchesRows('after both orders');
});

test('a child whose parent never arrives stays unmatched, and a repair keeps following its parent', async () => {
  const lost = delegation('lost-parent');
  await store.writeBatch({ scopes: [lost.child] });
  await seal(lost.child);
  await store.rebuildUsage();
  await assertRollupMatchesRows('after a repair with the parent missing');
  await store.writeBatch({ scopes: [lost.parent], actions: [lost.delegate] });
  await assertRollupMatchesRows('when the parent arrives after the repair');
  await seal(lost.parent);
  await assertRollupMatchesRows('when the parent is sealed after the repair');
});
