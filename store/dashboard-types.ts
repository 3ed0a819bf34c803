/** Row types of the dashboard's queries, apart so the browser code can import them without node types. */
import type { ResourceMode, ScopeStatus } from '../cim/schemas';

/** Every touch of one resource in one mode by one scope, summed over its actions. */
export interface ResourceTouch {
  sessionId: string;
  scopeId: string;
  agent: string;
  /** The scope's status (null when its record is missing). */
  scopeStatus: ScopeStatus | null;
  uri: string;
  mode: ResourceMode;
  actions: number;
  failedActions: number;
  runningActions: number;
  firstAt: string;
  lastAt: string;
}
