/** Small readers over a finished session, for assertions. */
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
