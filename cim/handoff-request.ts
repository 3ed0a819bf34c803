/**
 * The fate of a handoff asked for by signal (client `requestHandoff`). The agent only
 * performs it at its next `checkpoint()`; a run that ends first (returns, fails, is
 * cancelled, hands off elsewhere, continues in its own scope) drops it. One rule, read
 * from the run's end, decides it for the workflow (which records the request's row as
 * `error` with the reason), for reconcile (which holds the row to history) and for the
 * client (which tells the caller): the request was honoured exactly when its run went on,
 * by continue-as-new, as a handoff into the agent it names.
 */
import { HANDOFF_SIGNAL } from './names';
import { handoffRequestSchema } from './scope-context';

/** How a run ended, as far as a pending handoff request is concerned. */
export type RunEnd =
  | { kind: 'returned' }
  | { kind: 'failed' }
  | { kind: 'cancelled' }
  /** Continued as new into a new scope of agent `to` (a handoff, whoever asked for it). */
  | { kind: 'handed_off'; to: string }
  /** Continued as new in its own scope (continueInScope, or Temporal's continueAsNew into its own type). */
  | { kind: 'continued' };

/**
 * Why the request for a handoff to `to` was not honoured by a run that ended so; null
 * when it was. The text is the request's row's error, and reconcile expects it verbatim.
 */
export function unhonouredHandoffReason(to: string, end: RunEnd): string | null {
  const head = `handoff to ${to} requested but not honoured: the agent`;
  switch (end.kind) {
    case 'handed_off':
      return end.to === to ? null : `${head} handed off to ${end.to} itself`;
    case 'returned':
      return `${head} returned before its next checkpoint`;
    case 'failed':
      return `${head} failed before its next checkpoint`;
    case 'cancelled':
      return `${head} was cancelled before its next checkpoint`;
    case 'continued':
      return `${head} continued as new in its own scope before its next checkpoint`;
  }
}

/** A request naming an agent the workers do not define: the agent refuses it and carries on. */
export function unknownAgentRefusal(to: string): string {
  return `handoff request: unknown agent "${to}"; this request was ignored`;
}

/** A request that comes while another is pending: the agent keeps the first. */
export const ALREADY_PENDING_REFUSAL = 'a handoff is already pending; this request was ignored';

/** What became of one handoff signal a run processed, as the agent decides it. */
export type HandoffSignalFate =
  /** Its arguments could not be read from history: nothing can be said. */
  | { kind: 'unknown' }
  /** `error` is the agent's text, when it can be told from history (not for an invalid request). */
  | { kind: 'refused'; error?: string }
  | { kind: 'accepted'; to: string };

/**
 * The fate of each handoff signal a run processed, by event id, in the order the agent
 * took them (the inbound interceptor's rules): an invalid request, one naming an agent
 * the workers do not define (when `knownAgents` is given) and one while another is
 * pending are refused; the first other is accepted.
 */
export function handoffSignalFates(
  signals: ReadonlyArray<{ name: string; eventId: number; processedByTaskCompletedEventId: number | null; args?: unknown[] }>,
  knownAgents?: ReadonlySet<string>,
): Map<number, HandoffSignalFate> {
  const fates = new Map<number, HandoffSignalFate>();
  let pending = false;
  for (const sig of [...signals].sort((a, b) => a.eventId - b.eventId)) {
    if (sig.name !== HANDOFF_SIGNAL || sig.processedByTaskCompletedEventId === null) continue;
    const req = sig.args ? handoffRequestSchema().safeParse(sig.args[0]) : undefined;
    if (!req) fates.set(sig.eventId, { kind: 'unknown' });
    else if (!req.success) fates.set(sig.eventId, { kind: 'refused' });
    else if (knownAgents && !knownAgents.has(req.data.to)) fates.set(sig.eventId, { kind: 'refused', error: unknownAgentRefusal(req.data.to) });
    else if (pending) fates.set(sig.eventId, { kind: 'refused', error: ALREADY_PENDING_REFUSAL });
    else {
      pending = true;
      fates.set(sig.eventId, { kind: 'accepted', to: req.data.to });
    }
  }
  return fates;
}
