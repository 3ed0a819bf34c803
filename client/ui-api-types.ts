/**
 * The JSON documents the dashboard's API serves (client/ui-api.ts). Types only, so
 * the browser code (ui/src) can import them without pulling in anything that runs.
 */
import type { ChainProblem } from '../store/chain';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { FootprintEntry } from '../cim/forensics/footprint';
import type { AgentHealth } from '../cim/forensics/health';
import type { SessionSummary } from '../cim/forensics/summary';
import type { ReconcileReport } from '../cim/reconcile';
import type { ResourceTouch } from '../store/dashboard-types';
import type { ReceiptSignatureProblem } from '../cim/forensics/receipts';

export type { ActionRecord, AgentHealth, FootprintEntry, ReconcileReport, ScopeRecord, SessionSummary };

export interface ApiError {
  error: {
    status: number;
    message: string;
    /** The query parameter or path segment that was wrong, when one was. */
    field?: string;
    /** For a session retention dropped: which prune, as the CLI's `--json` error gives it. */
    pruned?: { sessionId: string; month: string; prunedAt: string; before: string; anchor: string };
  };
}

export interface SessionsResponse {
  /** A session a row of which does not parse is listed as `unreadable`, with the `problem` (see SessionListing). */
  sessions: Array<Omit<SessionSummary, 'status'> & { status: SessionSummary['status'] | 'unreadable'; problem?: string }>;
  /** The limit the list was read with (the `limit` parameter, else 50). */
  limit: number;
  /** Whether more sessions matched than `limit`: the oldest of them are not in `sessions`. */
  truncated: boolean;
  /** When truncated: the `after` parameter that reads the page after this one. */
  next?: string;
}

export interface ScopeNodeJson {
  scope: ScopeRecord;
  children: ScopeNodeJson[];
  handoffs: ScopeNodeJson[];
}

export interface SessionResponse {
  summary: SessionSummary;
  tree: { sessionId: string; size: number; roots: ScopeNodeJson[] };
  /**
   * The session's rows that do not match the seals stored with them (changed, added or
   * removed after sealing: the store-only check `scopetrail status` makes); empty when all do.
   */
  sealProblems: ChainProblem[];
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

export type { ResourceTouch };

/** Everything the waterfall draws: the scopes, every action attempt, and the server's time for bars still running. */
export interface TimelineResponse {
  summary: SessionSummary;
  tree: SessionResponse['tree'];
  actions: ActionRecord[];
  now: string;
}

export interface ResourcesResponse {
  glob: string;
  modes: Array<'read' | 'write' | 'share'> | null;
  from: string | null;
  to: string | null;
  touches: ResourceTouch[];
  /** More rows matched than the limit allowed. */
  truncated: boolean;
  /**
   * The MCP receipts behind the rows that do not vouch for what they say (as footprint's
   * `receiptProblems`): each row counts its own in `unverifiedReceipts`.
   */
  receiptProblems: ReceiptSignatureProblem[];
  sessions: number;
  scopes: number;
}

/** The change token of a session (or of the namespace, for the sessions list). */
export interface ChangesResponse {
  session: string | null;
  cursor: string;
  runningScopes: number;
}
