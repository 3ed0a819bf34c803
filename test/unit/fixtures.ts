/** CIM record builders for unit tests; every record is validated by the real schema. */
import { ActionRecord, ScopeRecord } from '../../cim/schemas';

export function scope(id: string, fields: Partial<ScopeRecord> = {}): ScopeRecord {
  const parent = fields.parentScopeId ?? null;
  return ScopeRecord.parse({
    scopeId: id, sessionId: 's', namespace: 'default', parentScopeId: parent, handoffFromScopeId: null,
    kind: parent ? 'delegation' : 'root', agent: 'agent', agentVersion: '1.0.0', delegatedBy: parent ? 'agent' : null,
    objective: null, allowance: null, depth: 0, path: `/${id}/`, status: 'success', recovered: false, error: null,
    startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:00:01.000Z', workflowId: id, runId: `run-${id}`,
    ...fields,
  });
}

export function action(id: string, scopeId: string, fields: Partial<ActionRecord> = {}): ActionRecord {
  return ActionRecord.parse({
    actionId: id, scopeId, sessionId: 's', namespace: 'default', agent: 'agent', kind: 'tool_call', name: 'tool',
    attempt: 1, resources: [], inputDigest: null, outputDigest: null, status: 'success', error: null,
    startedAt: '2026-01-01T00:00:00.100Z', endedAt: '2026-01-01T00:00:00.200Z', workflowId: scopeId,
    runId: `run-${scopeId}`, activityId: '1', targetScopeId: null, attributes: {},
    ...fields,
  });
}
