/** Row types of the dashboard's queries, apart so the browser code can import them without node types. */
import type { ResourceMode, ScopeStatus } from '../cim/schemas';
import type { EvidenceSource } from '../cim/forensics/receipts';

/** Every touch of one resource in one mode by one scope, summed over its actions and MCP servers' receipts. */
export interface ResourceTouch {
  sessionId: string;
  scopeId: string;
  agent: string;
  /** The scope's status (null when its record is missing). */
  scopeStatus: ScopeStatus | null;
  uri: string;
  mode: ResourceMode;
  /** Whose record names the touch: the caller's actions, MCP servers' receipts, or both (as footprint says). */
  source: EvidenceSource;
  /** The caller's actions that name it (0 when only receipts do). */
  actions: number;
  failedActions: number;
  runningActions: number;
  /** Receipts that report it (each attempt's receipt counts). */
  receipts: number;
  /**
   * Of `receipts`, those that do not vouch for what they say (forged, unsigned, or not
   * checkable with the reader's delegation key), as footprint and touched flag them: a
   * touch only such receipts report is the receipts' claim, not a verified touch.
   */
  unverifiedReceipts: number;
  /** The scope's recorded allowance does not permit the resource (cim/forensics/outside-allowance.ts). */
  outsideAllowance: boolean;
  firstAt: string;
  lastAt: string;
}
