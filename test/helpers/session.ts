/** Small readers over a finished session, for assertions. */
import assert from 'node:assert/strict';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import type { TestRuntime } from './runtime';

export interface SessionRows {
  scopes: ScopeRecord[];
  actions: ActionRecord[];
  scope(suffix: string): ScopeRecord;
  actionsOf(scopeId: string): ActionRecord[];
}

/** Waits for the recorder, then reads every row of the session. `scope('.1')` finds `<session>.1`. */
export async function sessionRows(rt: TestRuntime, sessionId: string): Promise<SessionRows> {
  await rt.worker.recorder.drain();
  const scopes = await rt.store.scopesOfSession(sessionId);
  const actions = await rt.store.actionsOfSession(sessionId);
  return {
    scopes,
    actions,
    scope(suffix) {
      const id = `${sessionId}${suffix}`;
      const found = scopes.find((s) => s.scopeId === id);
      if (!found) throw new Error(`no scope ${id}; have ${scopes.map((s) => s.scopeId).join(', ')}`);
      return found;
    },
    actionsOf(scopeId) {
      return actions.filter((a) => a.scopeId === scopeId);
    },
  };
}

/** What one session of the example (examples/agents.ts orchestrator) is, exactly: 7 scopes; 19 actions by kind. */
export function assertExactExampleSession(rows: SessionRows): void {
  assert.equal(rows.scopes.length, 7, `scopes: ${rows.scopes.map((s) => s.scopeId).join(', ')}`);
  const byKind: Record<string, number> = {};
  for (const a of rows.actions) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
  assert.deepEqual(byKind, { delegate: 5, tool_call: 11, llm_call: 2, handoff: 1 });
  assert.ok(rows.scopes.every((s) => s.status !== 'running' && s.endedAt), 'every scope ended');
  assert.ok(rows.actions.every((a) => a.status !== 'running'), 'no action left running');
}
