/**
 * The one path from the workflow sandbox to the outside world. Workflow code never
 * writes anything itself: it hands CIM records to this sink, and the worker writes
 * them (see worker/sinks.ts). Delegation inputs travel here as their canonical JSON so
 * the worker, which has node:crypto, can digest them.
 */
import type { Sinks } from '@temporalio/workflow';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';

export type WorkflowActionRecord = Omit<ActionRecord, 'inputDigest' | 'outputDigest'> & {
  input?: unknown;
  /**
   * The input as canonical JSON, written in the sandbox when the record is made (see
   * emitAction): the worker digests the text. A value nested deeper than the sink's copy
   * to the worker's thread survives goes through as a string.
   */
  inputJson?: string;
};

export type SinkEvent =
  | { type: 'scope'; record: ScopeRecord }
  | { type: 'action'; record: WorkflowActionRecord }
  /** Written only where no better record exists (see Store.fillActionGaps). */
  | { type: 'gap'; record: WorkflowActionRecord }
  /**
   * A tool's records that its worker could only spool, as that worker built them (see
   * ToolRelay in cim/envelope.ts): written unchanged, gaps as gap fills.
   */
  | { type: 'relay'; actions: ActionRecord[]; gaps: ActionRecord[] }
  /** An agent's result, fingerprinted by the worker for provenance (the text itself is not stored). */
  | { type: 'output'; record: AgentOutputRecord }
  /** A payload kept with an action by reference, e.g. the conversation a handoff passes on. */
  | { type: 'payload'; record: ActionPayloadRecord };

export interface ActionPayloadRecord {
  namespace: string;
  actionId: string;
  side: 'input' | 'output';
  body: unknown;
}

export interface AgentOutputRecord {
  namespace: string;
  sessionId: string;
  scopeId: string;
  agent: string;
  producedAt: string;
  value: unknown;
  sessionStartedAt?: string;
}

export interface ScopetrailSinks extends Sinks {
  scopetrail: {
    record(events: SinkEvent[]): void;
  };
}

export { OBJECTIVE_MEMO, VISIBILITY_MEMO, SCOPE_MEMO } from '../cim/names';
