/**
 * The forensic questions, answered from the store with the pure rules in
 * cim/forensics, and — where completeness matters — checked against Temporal history.
 */
import type { Client } from '@temporalio/client';
import { describeRun } from './run-describe';
import { z } from 'zod';
import { AgentNameArg, IsoTime, printableText } from './arguments';
import { SESSIONS_LIMIT, SESSIONS_MAX } from './limits';
import {
  deniedUnder,
  delegationOutcomes,
  driftFromUsage,
  rolesFromUsage,
  rootCause as rootCauseRule,
  sessionSummary,
  summaryOfSession,
  timeline as timelineRule,
  touches,
  matchesResource,
  allowancesOf,
  touchesOutsideAllowance,
  type TouchOutsideAllowance,
  evidenceSource,
  footprintWithReceipts,
  receiptsTouching,
  unansweredMcpCalls,
  receiptSignatureProblems,
  scopesCovered,
  lostResults,
  type ReceiptSignatureProblem,
  type EvidenceSource,
  type SourcedFootprintEntry,
  type DelegationOutcome,
  type DriftEntry,
  type RoleEntry,
  type RootCause,
  type SessionSummary,
  type TimelineEvent,
} from '../cim/forensics';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { McpReceipt } from '../cim/mcp-receipt';
import { ScopeStatus } from '../cim/schemas';
import type { LocatedScope, SessionChains, Store } from '../store/types';
import { InvalidStoredRowError } from '../store/rows';
import { reconcileOnce, type ReconcileReport } from './reconcile';
import { runScopeId, type RunFacts } from '../cim/reconcile';
import { naturalCompare } from '../cim/scope-tree';
import { readAnchors, sessionStartEvidence } from './verify';
import { placementProblems } from '../store/placement-check';
import { TemporalSealAnchors } from '../store/seal-anchor';
import { verifyChains, type AnchorLookup, type ChainProblem } from '../store/chain';
import type { ReceiptChecker } from '../store/delegation-key';
import type { SignatureChecker, SignatureState } from '../cim/keyed-signature';
import { invalidManifestText, manifestSignatureState } from '../cim/manifest-signature';
import { typedLengthChecks } from '../cim/typed-length-checks';
import { SessionCursorArg, sessionCursor } from './session-cursor';

export const SessionsArgs = typedLengthChecks(z.strictObject({
  agent: AgentNameArg.optional(),
  status: ScopeStatus.optional(),
  since: IsoTime.optional(),
  limit: z.number().int().min(1).max(SESSIONS_MAX).default(SESSIONS_LIMIT),
  /** The `next` of the page before: the sessions after its last. */
  after: SessionCursorArg.optional(),
}));

/** A resource URI or a pattern where `*` matches any run of characters, e.g. db:customers, db:customers*, db:*notes (`?` and `[` are literal). */
export const ResourceArg = printableText(2000);

export interface SessionListing extends Omit<SessionSummary, 'status'> {
  /**
   * `unreadable` when a row of the session does not parse (written outside scopetrail):
   * `problem` says which, its counts are 0 and its agents `?`; `scopetrail verify` has the rest.
   */
  status: SessionSummary['status'] | 'unreadable';
  problem?: string;
  /** Whether Temporal knows the session's root workflow (null when not checked). */
  inTemporal: boolean | null;
  /**
   * How Temporal says the session's latest run stands (`RUNNING`, `COMPLETED`, `FAILED`, `TERMINATED`,
   * `TIMED_OUT`, `CANCELLED`, `CONTINUED_AS_NEW`), where it was asked and has the session.
   */
  temporalStatus?: string;
  /**
   * Whether that agrees with the session's status in the store: false for a session the store has
   * ended while Temporal still runs it, one it holds as succeeded that Temporal says failed or was
   * terminated, or one it holds as running that Temporal has closed. Absent where not asked.
   */
  agrees?: boolean;
}

/** Whether a session's status in the store fits how Temporal says its latest run stands (sessionStatusAgrees). */
export function sessionStatusAgrees(store: SessionListing['status'], temporal: string): boolean {
  if (store === 'unreadable') return true;
  if (store === 'running') return temporal === 'RUNNING' || temporal === 'CONTINUED_AS_NEW';
  if (temporal === 'RUNNING') return false;
  if (store === 'success' || store === 'degraded') return temporal === 'COMPLETED';
  if (store === 'cancelled') return temporal === 'CANCELLED' || temporal === 'COMPLETED';
  // An agent whose every delegation failed and was caught ends `error` with its run completed.
  return temporal !== 'CONTINUED_AS_NEW';
}

export interface FootprintReport {
  scopeId: string;
  descendants: boolean;
  /** Each entry says whether the caller's actions, MCP servers' receipts, or both name it. */
  resources: SourcedFootprintEntry[];
  /** Attempts refused by attenuation: they touched nothing. */
  denied: ActionRecord[];
  /** Receipts under the scope that do not vouch for what they say (as touched's): their entries may be wrong or missing. */
  receiptProblems: ReceiptSignatureProblem[];
  /** With `checkSeals`: the session's rows that do not match their seals (storedSealProblems); absent unless asked. */
  sealProblems?: ChainProblem[];
}

export interface TouchedReport {
  scopeId: string;
  resource: string;
  touched: boolean;
  /** The actions under the scope (and its descendants) that touched the resource. */
  actions: ActionRecord[];
  /** MCP servers' receipts under the scope (and its descendants) that report the resource. */
  receipts: McpReceipt[];
  /** Whose record says it was touched: the caller's, a server's receipt, both; null when untouched. */
  source: EvidenceSource | null;
  /** Attempts to touch it that attenuation refused. */
  denied: ActionRecord[];
  /** Touches among those above that the toucher's recorded allowance does not permit (cim/forensics/outside-allowance.ts). */
  outsideAllowance: TouchOutsideAllowance[];
  /**
   * MCP calls under the scope that never heard back from their server and have no receipt
   * (cim/forensics/receipts.ts): what they touched is unknown, so a "no" does not cover them.
   */
  unanswered: ActionRecord[];
  /**
   * Scopes under the scope (itself included) whose run Temporal still has open: they may yet
   * touch it, so a "no" is only "not so far" until they end.
   */
  running: string[];
  /** The reconcile of the scope's session: with no altered seal below, zero differences makes a "no" a proof. */
  evidence: ReconcileReport;
  /**
   * The session's rows checked against the seals stored with them (no call to Temporal):
   * a sealed row changed, removed or added since, or a row that does not parse. Reconcile
   * cannot see every field a row holds; a seal covers them all. `verify` also checks the
   * seals themselves against their anchors in Temporal.
   */
  sealProblems: ChainProblem[];
  /**
   * The session's MCP receipts that do not vouch for what they say: not matching the
   * server's signature, unsigned, or not checkable with the key this reader holds. A
   * receipt rewritten to leave a resource out would otherwise turn a "yes" into a "no".
   */
  receiptProblems: ReceiptSignatureProblem[];
  /** No difference from history, no seal problem and no receipt that does not vouch: the record the answer rests on is whole. */
  complete: boolean;
  /**
   * Whether the answer is proved (touchedProved): complete, and a "no" has no call that never
   * heard back from its server and no scope still running. A "no" with `running` non-empty is
   * complete yet only "not so far"; the CLI exits 3 for any answer not proved.
   */
  proved: boolean;
}

/**
 * Whether the answer is proved: the record it rests on is complete, and a "no" has no call
 * that never heard back from its server (what that did is unknown). The CLI exits 3 otherwise.
 */
export function touchedProved(r: Pick<TouchedReport, 'touched' | 'complete' | 'unanswered' | 'running'>): boolean {
  return r.complete && (r.touched || (r.unanswered.length === 0 && r.running.length === 0));
}

export interface StatusReport {
  scope: ScopeRecord;
  /** The delegations the scope made, each with the outcome of the handoff chain that finished it. */
  children: DelegationOutcome[];
  /**
   * `lostResults`: attempts that succeeded though Temporal ran their call again, never having
   * heard of their result (cim/forensics/calls.ts lostResults): the tool's work was done twice.
   */
  calls: { total: number; failedAttempts: number; denied: number; lostResults: number };
  /** With `checkSeals`: the session's rows that do not match their seals (storedSealProblems); absent unless asked. */
  sealProblems?: ChainProblem[];
}

/** What an answer asked with `checkSeals` carries: the session's rows that do not match their seals (storedSealProblems). */
export interface SealChecked {
  sealProblems: ChainProblem[];
}

/** A listing, and whether more sessions matched than the limit let in (older ones were left out). */
export interface SessionsPage {
  sessions: SessionListing[];
  truncated: boolean;
  /** When truncated: give it as `after` for the page that follows. */
  next?: string;
}

export async function listSessions(
  store: Store,
  temporal: Client | undefined,
  args: z.output<typeof SessionsArgs>,
): Promise<SessionsPage> {
  // The status filter runs in the store, before the limit: filtering the limited page would miss sessions.
  // One more than asked for says whether the limit cut the list.
  const keys = await store.sessionKeys({ agent: args.agent, since: args.since, status: args.status, limit: args.limit + 1, ...(args.after ? { after: args.after } : {}) });
  const truncated = keys.length > args.limit;
  const ids = (truncated ? keys.slice(0, args.limit) : keys).map((k) => k.sessionId);
  const next = truncated ? sessionCursor(keys[args.limit - 1]!) : undefined;
  // An unreachable server must not stall the listing: ask once, briefly, before asking per session.
  if (temporal && !(await reachable(temporal))) temporal = undefined;
  const out: SessionListing[] = [];
  // The page's scopes and action counts in two reads (store/session-listing.ts), where the store can.
  const listed = await store.sessionListingRows?.(ids);
  for (const id of ids) {
    let summary: SessionSummary;
    try {
      const unreadable = listed?.unreadable.get(id);
      if (unreadable) throw unreadable;
      const tally = listed?.tallies.get(id);
      const scopes = listed ? (listed.scopes.get(id) ?? []) : await store.scopesOfSession(id);
      if (scopes.length === 0) continue;
      summary = tally ? summaryOfSession(scopes, tally) : sessionSummary(scopes, await store.actionsOfSession(id));
    } catch (err) {
      // One bad row hides one session's summary, never the whole listing.
      if (!(err instanceof InvalidStoredRowError)) throw err;
      if (args.status) continue;
      out.push({
        sessionId: id, rootAgent: '?', finalAgent: '?', status: 'unreadable', problem: err.message,
        scopes: 0, actions: 0, failedActions: 0, startedAt: '', endedAt: null, inTemporal: null,
      });
      continue;
    }
    if (args.status && summary.status !== args.status) continue;
    if (!temporal) {
      out.push({ ...summary, inTemporal: null });
      continue;
    }
    const run = await describeRun(temporal, id).then((r) => r ?? false, () => null);
    out.push({
      ...summary,
      inTemporal: run === null ? null : run !== false,
      ...(run ? { temporalStatus: run.status, agrees: sessionStatusAgrees(summary.status, run.status) } : {}),
    });
  }
  return { sessions: out, truncated, ...(next ? { next } : {}) };
}

async function reachable(temporal: Client): Promise<boolean> {
  try {
    await temporal.connection.withDeadline(Date.now() + 2_000, () => temporal.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}

export async function sessionRootCause(store: Store, sessionId: string): Promise<RootCause | null> {
  const [scopes, actions] = await Promise.all([store.scopesOfSession(sessionId), store.actionsOfSession(sessionId)]);
  return rootCauseRule(scopes, actions);
}

export async function scopeFootprint(store: Store, located: LocatedScope, descendants: boolean, receiptKey: () => ReceiptChecker): Promise<FootprintReport> {
  const scope = located.record;
  const [scopes, read, receipts] = await Promise.all([
    store.scopePlacesOfSession(scope.sessionId, { sessionStartedAt: located.sessionStartedAt }),
    store.footprintActions(located, { descendants }),
    store.receipts().ofSession(scope.sessionId),
  ]);
  // Most sessions have no receipt: the wide footprints then pay nothing for the check.
  const covered = receipts.length ? scopesCovered(scope.scopeId, scopes, { descendants }) : new Set<string>();
  const under = receipts.filter((r) => covered.has(r.scopeId));
  return {
    scopeId: scope.scopeId,
    descendants,
    resources: footprintWithReceipts(scope.scopeId, scopes, read.actions, receipts, { descendants }),
    denied: deniedUnder(scope.scopeId, scopes, read.denied, { descendants }),
    receiptProblems: under.length ? receiptSignatureProblems(under, receiptKey()) : [],
  };
}

/**
 * A session's rows held to their seals: a sealed row changed, removed or added since, a row
 * that does not parse, or one filed under another session start (with `runs`, its first run's
 * start in Temporal; without, the start most of its rows carry). Not yet sealed is not
 * altered: a session that just ended waits for its seals. With `anchors` (the seals Temporal
 * holds) rows whose stored hashes alone were edited are not named either: they still match
 * their anchors, which are the proof. Without them the store's own copy of each seal is the
 * measure, so such an edit is named like an edit of the rows.
 */
export function sealProblemsOf(
  sessionId: string,
  chains: SessionChains,
  anchors?: ReadonlyMap<string, AnchorLookup>,
  runs?: readonly RunFacts[],
): ChainProblem[] {
  return [
    ...verifyChains(sessionId, chains, anchors).problems.filter((p) => p.problem !== 'unsealed' && p.problem !== 'chain_changed'),
    // A row filed under another session start is intact to its seal but not among what reads by scope find.
    ...placementProblems(sessionId, chains.filed ?? [], sessionStartEvidence(sessionId, chains, runs)),
  ];
}

/**
 * The store-only seal check of a session (sealProblemsOf, no call to Temporal): what the
 * answers of status, rootCause, footprint and actionsUnder carry when asked with
 * `checkSeals`. It reads and hashes every row of the session.
 */
export async function storedSealProblems(store: Store, sessionId: string): Promise<ChainProblem[]> {
  return sealProblemsOf(sessionId, await store.chainsOfSession(sessionId));
}

export async function wasTouched(
  store: Store,
  temporal: Client,
  located: LocatedScope,
  resource: string,
  receiptKey: () => ReceiptChecker,
  onProgress?: (historiesRead: number) => void,
): Promise<TouchedReport> {
  const scope = located.record;
  const [actions, scopes, receipts] = await Promise.all([
    store.actionsUnder(located, { descendants: true }),
    store.scopePlacesOfSession(scope.sessionId, { sessionStartedAt: located.sessionStartedAt }),
    store.receipts().ofSession(scope.sessionId),
  ]);
  const hits = touches(actions, resource);
  const covered = scopesCovered(scope.scopeId, scopes, { descendants: true });
  const vouched = receiptsTouching(receipts, resource, covered);
  const denied = touches(actions, resource, { includeDenied: true }).filter((a) => a.kind === 'denied' || a.status === 'denied');
  const [{ report: evidence, runs }, chains] = await Promise.all([reconcileOnce(temporal, store, scope.sessionId, onProgress), store.chainsOfSession(scope.sessionId)]);
  // The seals are held to their anchors in Temporal, as verify holds them: a row rewritten with its
  // chain recomputed, or a seal cleared, matches the store's own hashes but not the anchor.
  const anchors = await readAnchors(new TemporalSealAnchors(temporal.connection), temporal.options.namespace, runs, chains, scope.sessionId);
  // Not yet sealed is not altered: a session that just ended waits for its seals. Nor are rows
  // whose stored hashes alone were edited: they still match their anchors, which are the proof.
  const sealProblems = sealProblemsOf(scope.sessionId, chains, anchors, runs);
  const receiptProblems = receipts.length ? receiptSignatureProblems(receipts, receiptKey()) : [];
  const touched = hits.length > 0 || vouched.length > 0;
  const unanswered = unansweredMcpCalls(actions, receipts);
  // History, not the scope rows, says what is still running: a row can be rewritten to say it ended.
  const running = [...new Set(runs.filter((r) => r.close.kind === 'open' && covered.has(runScopeId(r))).map(runScopeId))].sort(naturalCompare);
  const complete = evidence.differences.length === 0 && sealProblems.length === 0 && receiptProblems.length === 0;
  return {
    scopeId: scope.scopeId,
    resource,
    touched,
    actions: hits,
    receipts: vouched,
    source: evidenceSource(hits.length, vouched.length),
    denied,
    outsideAllowance: touchesOutsideAllowance(hits, vouched, (uri) => matchesResource(resource, uri), allowancesOf(scopes)),
    unanswered,
    running,
    evidence,
    sealProblems,
    receiptProblems,
    complete,
    proved: touchedProved({ touched, complete, unanswered, running }),
  };
}

export async function scopeStatus(store: Store, located: LocatedScope): Promise<StatusReport> {
  const scope = located.record;
  const [scopes, own] = await Promise.all([
    store.scopesOfSession(scope.sessionId, { sessionStartedAt: located.sessionStartedAt }),
    store.actionsUnder(located, { descendants: false }),
  ]);
  const children = delegationOutcomes(scope.scopeId, scopes, own);
  const calls = own.filter((a) => a.kind === 'tool_call' || a.kind === 'llm_call' || a.kind === 'denied');
  return {
    scope,
    children,
    calls: {
      total: calls.length,
      failedAttempts: calls.filter((a) => a.status === 'error').length,
      denied: calls.filter((a) => a.kind === 'denied').length,
      lostResults: lostResults(calls).size,
    },
  };
}

/**
 * Every manifest with the usage rollup, for roles and drift, which judge by all of them: a row
 * that does not read stops either, named. `signatureOf` says how a version's manifest stands
 * against its registering worker's signature (undefined without `manifestKey` or a manifest).
 */
async function judgedManifests(store: Store, manifestKey?: () => SignatureChecker) {
  const [{ manifests: stored, invalid }, usage] = await Promise.all([store.storedManifests(), store.agentUsage({ calls: false })]);
  // A row that does not read stops the answer only where it would judge: a version that ran.
  // One of a version that never ran (or a row slipped in under a made-up name) judges nothing.
  const ran = new Set(usage.scopes.map((g) => `${g.agent}\u0000${g.agentVersion}`));
  const judging = invalid.find((row) => ran.has(`${row.agent}\u0000${row.version}`));
  if (judging) throw new Error(invalidManifestText(judging));
  const byVersion = new Map(stored.map((m) => [`${m.manifest.name}\u0000${m.manifest.version}`, m]));
  let checker: SignatureChecker | undefined;
  const signatureOf = (agent: string, version: string): SignatureState | undefined => {
    const m = manifestKey ? byVersion.get(`${agent}\u0000${version}`) : undefined;
    return m && manifestSignatureState(m, (checker ??= manifestKey!()));
  };
  return { manifests: stored.map((m) => m.manifest), usage, signatureOf };
}

/** `manifestKey`: what each version's manifest is held to (its signature); unchecked without it. */
export async function agentRoles(store: Store, manifestKey?: () => SignatureChecker): Promise<RoleEntry[]> {
  const { manifests, usage, signatureOf } = await judgedManifests(store, manifestKey);
  const roles = rolesFromUsage(manifests, usage);
  for (const r of roles) {
    for (const v of r.byVersion) {
      const state = v.manifest ? signatureOf(r.agent, v.version) : undefined;
      if (state) v.manifestSignature = state;
    }
  }
  return roles;
}

/** `manifestKey`: what each judged version's manifest is held to (its signature); unchecked without it. */
export async function agentDrift(store: Store, agent?: string, manifestKey?: () => SignatureChecker): Promise<DriftEntry[]> {
  const { manifests, usage, signatureOf } = await judgedManifests(store, manifestKey);
  const entries = driftFromUsage(manifests, usage, agent);
  for (const e of entries) {
    const state = e.manifest ? signatureOf(e.agent, e.version) : undefined;
    if (state) e.manifestSignature = state;
  }
  return entries;
}

export async function sessionTimeline(store: Store, sessionId: string): Promise<TimelineEvent[]> {
  const [scopes, actions] = await Promise.all([store.scopesOfSession(sessionId), store.actionsOfSession(sessionId)]);
  return timelineRule(scopes, actions);
}
