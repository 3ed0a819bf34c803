/**
 * The JSON documents the dashboard's API serves (client/ui-api.ts). Types only, so
 * the browser code (ui/src) can import them without pulling in anything that runs.
 */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { FootprintEntry } from '../cim/forensics/footprint';
import type { AgentHealth } from '../cim/forensics/health';
import type { SessionSummary } from '../cim/forensics/summary';
import type { ReconcileReport } from '../cim/reconcile';

export type { ActionRecord, AgentHealth, FootprintEntry, ReconcileReport, ScopeRecord, SessionSummary };

export interface ApiError {
  error: {
    status: number;
    message: string;
    /** The query parameter or path segment that was wrong, when one was. */
    field?: string;
  };
}

export interface SessionsResponse {
  sessions: SessionSummary[];
}

export interface ScopeNodeJson {
  scope: ScopeRecord;
  children: ScopeNodeJson[];
  handoffs: ScopeNodeJson[];
}

export interface SessionResponse {
  summary: SessionSummary;
  tree: { sessionId: string; size: number; roots: ScopeNodeJson[] };
}

export interface ActionsResponse {
  scopeId: string;
  descendants: boolean;
  actions: ActionRecord[];
}

export interface FootprintResponse {
  scopeId: string;
  descendants: boolean;
  resources: FootprintEntry[];
  denied: ActionRecord[];
}

export interface HealthResponse {
  agents: AgentHealth[];
}

export interface ReconcileResponse {
  temporalAddress: string;
  report: ReconcileReport;
  complete: boolean;
}
