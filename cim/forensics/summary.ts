import type { ActionRecord, ScopeRecord, ScopeStatus } from '../schemas';
import { byStart, earlier, isFailedAttempt, later } from './shared';

// session summary

export interface SessionSummary {
  sessionId: string;
  rootAgent: string;
  /** The agent at the end of the root's handoff chain: the one that answered. */
  finalAgent: string;
  status: ScopeStatus;
  scopes: number;
  actions: number;
  /** Action rows (attempts included) that ended in error or were refused. */
  failedActions: number;
  startedAt: string;
  /** When the last row ended; null while anything in the session is running. */
  endedAt: string | null;
}

/** Worst first: the session is as bad as the worst step on its main line. */
const SEVERITY: Record<Exclude<ScopeStatus, 'running'>, number> = { error: 3, degraded: 2, cancelled: 1, success: 0 };

/**
 * A session in one line, from the rows of one session.
 *
 * The session's main line is its root scope followed by the scopes control was
 * handed to (the root's handoff chain); delegations hang off that line and already
 * show in their delegator's rolled-up status. The session status is the *worst*
 * status on the main line, by error > degraded > cancelled > success — not just
 * the final scope's — because a handoff passes control, not health: if the
 * orchestrator finished degraded and handed a partial draft to a reviewer that
 * succeeded, the answer is still built on partial work. While any scope in the
 * session is running (on the main line or not), the session is `running`.
 *
 * `startedAt`/`endedAt` span every scope and action row: action times come from
 * worker clocks and scope times from workflow task times, and the span should
 * cover both. Throws when given no scopes: there is no session to summarize.
 */
export function sessionSummary(scopes: readonly ScopeRecord[], actions: readonly ActionRecord[]): SessionSummary {
  return summaryOfSession(scopes, actionTally(actions));
}

/** What a session summary needs of its actions: a store can count it without reading them (Store.sessionListingRows). */
export interface ActionTally {
  actions: number;
  /** Rows (attempts included) that ended in error or were refused. */
  failedActions: number;
  /** The earliest start of any row; null when there is none. */
  startedAt: string | null;
  /** The latest end of any row that ended; null when none did. */
  endedAt: string | null;
}

export function actionTally(actions: readonly ActionRecord[]): ActionTally {
  let startedAt: string | null = null;
  let endedAt: string | null = null;
  let failedActions = 0;
  for (const a of actions) {
    startedAt = startedAt === null ? a.startedAt : earlier(startedAt, a.startedAt);
    if (a.endedAt !== null) endedAt = endedAt === null ? a.endedAt : later(endedAt, a.endedAt);
    if (isFailedAttempt(a)) failedActions++;
  }
  return { actions: actions.length, failedActions, startedAt, endedAt };
}

/** sessionSummary, from the session's scopes and the tally of its actions. */
export function summaryOfSession(scopes: readonly ScopeRecord[], tally: ActionTally): SessionSummary {
  if (scopes.length === 0) throw new RangeError('sessionSummary: no scopes, so no session to summarize');
  const ordered = [...scopes].sort(byStart);
  const root =
    ordered.find((s) => s.kind === 'root') ??
    ordered.find((s) => s.parentScopeId === null && s.handoffFromScopeId === null) ??
    ordered[0]!;

  const mainLine = [root];
  const seen = new Set([root.scopeId]);
  for (let current = root; ; ) {
    const next = ordered.find((s) => s.handoffFromScopeId === current.scopeId && !seen.has(s.scopeId));
    if (!next) break;
    mainLine.push(next);
    seen.add(next.scopeId);
    current = next;
  }

  const running = scopes.some((s) => s.status === 'running');
  let worst: Exclude<ScopeStatus, 'running'> = 'success';
  for (const s of mainLine) {
    if (s.status !== 'running' && SEVERITY[s.status] > SEVERITY[worst]) worst = s.status;
  }
  const status: ScopeStatus = running ? 'running' : worst;

  let startedAt = tally.startedAt === null ? root.startedAt : earlier(root.startedAt, tally.startedAt);
  let endedAt: string | null = tally.endedAt;
  for (const row of scopes) {
    startedAt = earlier(startedAt, row.startedAt);
    if (row.endedAt !== null) endedAt = endedAt === null ? row.endedAt : later(endedAt, row.endedAt);
  }

  return {
    sessionId: root.sessionId,
    rootAgent: root.agent,
    finalAgent: mainLine[mainLine.length - 1]!.agent,
    status,
    scopes: scopes.length,
    actions: tally.actions,
    failedActions: tally.failedActions,
    startedAt,
    endedAt: running ? null : endedAt,
  };
}
