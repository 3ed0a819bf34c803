/**
 * What became of a handoff asked for by `requestHandoff`. The agent performs it only at
 * its next checkpoint(): a run that ends first drops it. Temporal's history of the run the
 * request was sent to decides, by the rule the agent records and reconcile checks
 * (cim/handoff-request.ts): honoured exactly when that run went on as a handoff into the
 * agent the request names.
 */
import type { Client } from '@temporalio/client';
import { canonicalJson } from '../cim/canonical-json';
import { HANDOFF_SIGNAL } from '../cim/names';
import { ALREADY_PENDING_REFUSAL, handoffSignalFates, unhonouredHandoffReason } from '../cim/handoff-request';
import { ScopetrailError } from '../cim/errors';
import { runEndOf, runScopeId, type RunFacts } from '../cim/reconcile';
import { readRunFacts } from './history';

export type HandoffOutcome =
  /** The run handed off to the requested agent: `scopeId` is the scope that handoff began. */
  | { outcome: 'honoured'; to: string; scopeId: string }
  /** It did not: refused when it came, or dropped as the run ended first (`reason` says which). */
  | { outcome: 'not_honoured'; to: string; reason: string };

export interface HandoffRequestReceipt {
  workflowId: string;
  /** The run the request was sent to: the one whose end decides it. */
  runId: string;
  /** Waits until that run has closed, then says whether it honoured the request. */
  outcome(): Promise<HandoffOutcome>;
}

/** The request as sent, and where it went: the run and the history length before it. */
export interface SentRequest {
  workflowId: string;
  runId: string;
  afterEventId: number;
  request: { to: string; reason: string; input?: unknown };
}

/**
 * `knownAgents`: the agents the workers define, as the store knows them. Read only when history
 * alone does not decide: a run that went on into the requested agent honoured the request
 * whatever else was asked of it, so the answer needs no store.
 */
export async function handoffOutcome(client: Client, sent: SentRequest, knownAgents: () => Promise<ReadonlySet<string> | undefined>): Promise<HandoffOutcome> {
  // Settles when the run closes, however it closes (a continue-as-new included).
  await client.workflow
    .getHandle(sent.workflowId, sent.runId, { followRuns: false })
    .result()
    .catch(() => undefined);
  const run = await readRunFacts(client, sent.workflowId, sent.runId);
  const fromHistory = outcomeOf(run, sent);
  if (fromHistory.outcome === 'honoured') return fromHistory;
  let known: ReadonlySet<string> | undefined;
  try {
    known = await knownAgents();
  } catch (err) {
    const cause = String((err as Error)?.message ?? err).split('\n')[0]!;
    // An earlier request to an agent no worker defines was refused, and left ours free to be taken: only the store can say.
    if (fromHistory.reason === `the agent refused it: ${ALREADY_PENDING_REFUSAL}`) throw new HandoffOutcomeUncheckedError(sent.request.to, cause);
    return { ...fromHistory, reason: `${fromHistory.reason} (whether the workers define ${sent.request.to} was not checked: the store does not answer: ${cause})` };
  }
  return outcomeOf(run, sent, known);
}

/** What became of a handoff request depends on which agents the workers define, and the store that knows does not answer. */
export class HandoffOutcomeUncheckedError extends ScopetrailError {
  override name = 'HandoffOutcomeUncheckedError';

  constructor(to: string, cause: string) {
    super(
      `handoff outcome: another handoff was pending when the request to ${to} came, unless the workers define no agent of that name, ` +
        `and the store that says which agents they define does not answer (${cause}); call outcome() again once the store is back`,
    );
  }
}

/** The outcome history gives, pure so that it can be tested on its own. */
export function outcomeOf(run: RunFacts, sent: Pick<SentRequest, 'afterEventId' | 'request'>, knownAgents?: ReadonlySet<string>): HandoffOutcome {
  const { to } = sent.request;
  const not = (reason: string): HandoffOutcome => ({ outcome: 'not_honoured', to, reason });
  // Ours is the first like it after the run's history as it was when the request was sent.
  // As it arrived: through JSON, which drops what JSON cannot hold (an absent input, say).
  const sentAs = canonicalJson(JSON.parse(JSON.stringify(sent.request)));
  const ours = [...run.signals]
    .sort((a, b) => a.eventId - b.eventId)
    .find((s) => s.name === HANDOFF_SIGNAL && s.eventId > sent.afterEventId && s.args !== undefined && canonicalJson(s.args[0]) === sentAs);
  if (!ours) return not('the request is not in the history of the run it was sent to');
  if (ours.processedByTaskCompletedEventId === null) return not(`the run ended (${closed(run)}) before the agent received the request`);
  const fate = handoffSignalFates(run.signals, knownAgents).get(ours.eventId);
  if (fate?.kind !== 'accepted') return not(fate?.kind === 'refused' ? `the agent refused it: ${fate.error ?? 'invalid request'}` : 'its arguments cannot be read from history');
  const scopeId = runScopeId(run);
  const end = runEndOf(run, scopeId);
  if (!end) return not(`handoff to ${to} requested but not honoured: the run was ${closed(run)} before the agent's next checkpoint`);
  const reason = unhonouredHandoffReason(to, end);
  return reason === null ? { outcome: 'honoured', to, scopeId: run.continuedAs!.nextScopeId } : not(reason);
}

function closed(run: RunFacts): string {
  return run.close.kind.replace('_', ' ');
}
