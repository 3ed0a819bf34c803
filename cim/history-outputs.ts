/**
 * The outputs a session's histories hold, named as a worker names their fingerprint
 * sources: each completed tool or LLM call's result under the action id of its last
 * attempt, and each agent's result under its scope id. A worker fingerprints exactly
 * these (worker/activity-interceptor.ts, worker/sinks.ts), so they are what the stored
 * fingerprint rows can be held to. Needs runs read with their outputs (RunFacts values).
 */
import { activityActionId, scopedActivityId } from './ids';
import { LLM_ACTIVITY_TYPES } from './names';
import { runScopeId, type RunFacts } from './reconcile';

export interface HistoryOutput {
  sourceId: string;
  scopeId: string;
  kind: 'agent_output' | 'tool_output' | 'llm_output';
  value: unknown;
}

export function historyOutputs(runs: readonly RunFacts[]): HistoryOutput[] {
  const out: HistoryOutput[] = [];
  for (const run of runs) {
    const scopeId = runScopeId(run);
    const continued = run.scope?.continuation?.run;
    for (const a of run.activities) {
      if (a.close !== 'completed' || a.lastAttempt === null || a.lastAttempt < 1 || !a.result || !('value' in a.result)) continue;
      out.push({
        sourceId: activityActionId(scopeId, scopedActivityId(a.activityId, continued), a.lastAttempt),
        scopeId,
        kind: LLM_ACTIVITY_TYPES.has(a.activityType) ? 'llm_output' : 'tool_output',
        value: a.result.value,
      });
    }
    // Only an agent's own return is fingerprinted: a run that handed off or continued returned nothing.
    if (run.close.kind === 'completed' && run.close.resultStatus && 'value' in run.close) {
      out.push({ sourceId: scopeId, scopeId, kind: 'agent_output', value: run.close.value });
    }
  }
  return out;
}
