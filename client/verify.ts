/**
 * verify(session): the hash chains of the store, checked against what the store cannot
 * rewrite. Each chain is recomputed from the rows and compared with the seal anchored in
 * Temporal when its scope ended, and the rows are reconciled with the session's
 * histories, so a deleted scope, a forged one, or an edit inside a scope still running
 * (none of which any stored hash covers) is named too.
 */
import type { Client } from '@temporalio/client';
import { NEVER_RAN_ERROR, reconcileSession, runScopeId, type RunFacts } from '../cim/reconcile';
import { UNKNOWN_AGENT_VERSION } from '../cim/names';
import { placementProblems, type SessionStartEvidence } from '../store/placement-check';
import { verifyChains, type AnchorLookup, type ChainProblem, type VerifyReport } from '../store/chain';
import type { SessionChains, Store } from '../store/types';
import type { SealAnchors } from '../store/seal-anchor';
import type { TextCodec } from '../store/text-codec';
import { decodeAction, decodeScope } from '../store/encoded-records';
import { collectSessionRuns, SessionNotFoundError } from './history';
import { receiptDifferences, receiptSignatureProblems } from '../cim/forensics/receipts';
import type { ReceiptChecker } from '../store/delegation-key';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { SignatureChecker } from '../cim/keyed-signature';
import { historyOutputs } from '../cim/history-outputs';
import { fingerprintProblems } from './fingerprint-check';
import type { FingerprintKey } from '../store/fingerprint-key';
import { conversationDigest, digest } from '../store/digest';
import { invalidManifestText, manifestSignatureProblem, manifestSignatureState, type StoredManifests } from '../cim/manifest-signature';

export async function verifySession(
  temporal: Client,
  store: Store,
  anchors: SealAnchors,
  sessionId: string,
  stored: SessionChains,
  receiptKey: () => ReceiptChecker,
  text?: TextCodec,
  manifestKey: () => SignatureChecker = () => ({ missing: 'no deployment key given' }),
  fingerprintKey: () => FingerprintKey | undefined = () => undefined,
  /** Told whether a run of the session was still open when its history was read. */
  seen?: { open: boolean },
): Promise<VerifyReport> {
  let runs: RunFacts[];
  try {
    // With outputs: the fingerprint rows are held to them.
    runs = await collectSessionRuns(temporal, sessionId, undefined, { outputs: true });
    if (seen) seen.open = runs.some((r) => r.close.kind === 'open');
  } catch (err) {
    if (!(err instanceof SessionNotFoundError)) throw err;
    // Without history there is nothing outside the database to check against.
    const report = verifyChains(sessionId, stored);
    report.problems.push(...placementProblems(sessionId, stored.filed ?? [], sessionStartEvidence(sessionId, stored)));
    report.problems.push({
      scopeId: sessionId,
      recordId: sessionId,
      problem: 'history',
      detail: `session ${sessionId} is not in Temporal (past its retention?): its seals and history cannot be checked`,
    });
    return report;
  }
  const lookups = await readAnchors(anchors, temporal.options.namespace, runs, stored, sessionId);
  const report = verifyChains(sessionId, stored, lookups);
  report.problems.push(...placementProblems(sessionId, stored.filed ?? [], sessionStartEvidence(sessionId, stored, runs)));
  // Chains are hashed over the rows as stored; history is compared with what they decode to.
  const scopes = await Promise.all(stored.chains.map((c) => (text ? decodeScope(text, c.scope) : c.scope)));
  const actions = await Promise.all(stored.chains.flatMap((c) => c.actions.map((a) => (text ? decodeAction(text, a.record) : a.record))));
  const manifests = await store.storedManifests();
  const history = reconcileSession(sessionId, runs, scopes, actions, { knownAgents: new Set(manifests.manifests.map((m) => m.manifest.name)), namespace: temporal.options.namespace });
  // A record whose row is there but does not read is named once, by that row (invalid_row), not also as missing.
  const unreadable = new Set(stored.invalid.map((row) => `${row.table === 'scopes' ? 'scope' : 'action'}\u0000${row.id}`));
  report.problems.push(
    ...history.differences
      .filter((d) => !(d.kind === 'missing' && unreadable.has(`${d.record}\u0000${d.id}`)))
      .map((d): ChainProblem => ({ scopeId: d.scopeId, recordId: d.id, problem: 'history', detail: `${d.kind} ${d.record}: ${d.detail}` })),
  );
  const receipts = await receiptProblems(store, sessionId, actions, receiptKey);
  const held = manifestProblems(scopes, manifests, manifestKey);
  const conversations = await conversationProblems(store, runs, actions);
  const payloads = payloadProblems(await store.callPayloadsOfSession(sessionId), actions);
  const key = fingerprintKey();
  const fingerprints = fingerprintProblems(historyOutputs(runs), key ? await store.fingerprints().rowsOfSession(sessionId) : [], { scopes, actions }, key);
  report.problems.push(...receipts.problems, ...held.problems, ...conversations.problems, ...payloads, ...fingerprints.problems);
  report.receiptsChecked = receipts.checked;
  report.manifestsChecked = held.checked;
  report.conversationsChecked = conversations.checked;
  if (key) report.fingerprintsChecked = fingerprints.checked;
  return report;
}

/**
 * A tool's recorded input and output (`recordPayloads`) sit outside every chain, but their
 * digests are in the sealed action row: a body rewritten in the store no longer hashes to it.
 * A body the store had to clean (a NUL or a lone surrogate made U+FFFD) cannot hash to the
 * digest of what the tool returned, so it is not held to it.
 */
/** What a session's start is held to: its first run's start in history, and its root scope's sealed start. */
export function sessionStartEvidence(sessionId: string, stored: SessionChains, runs?: readonly RunFacts[]): SessionStartEvidence {
  const first = runs?.find((r) => r.workflowId === sessionId && r.previousRunId === null);
  const root = stored.chains.find((c) => c.scope.scopeId === sessionId)?.scope;
  return { temporal: first?.startedAt ?? null, rootScope: root?.startedAt ?? null };
}

export function payloadProblems(payloads: ReadonlyArray<{ actionId: string; side: 'input' | 'output'; body: unknown }>, actions: readonly ActionRecord[]): ChainProblem[] {
  const byId = new Map(actions.map((a) => [a.actionId, a]));
  const problems: ChainProblem[] = [];
  for (const p of payloads) {
    const a = byId.get(p.actionId);
    const expected = p.side === 'output' ? a?.outputDigest : a?.inputDigest;
    if (!a || !expected) continue;
    const now = digest(p.body);
    if (now === expected || JSON.stringify(p.body ?? null).includes('\ufffd')) continue;
    problems.push({
      scopeId: a.scopeId,
      recordId: a.actionId,
      problem: 'payload_changed',
      detail: `the recorded ${p.side} of ${a.actionId} (${a.name}) is not what the call ${p.side === 'output' ? 'returned' : 'was given'}: its digest is ${now.slice(7, 19)}…, the sealed row's ${expected.slice(7, 19)}… (its payload row was changed)`,
    });
  }
  return problems;
}

/**
 * A model agent's handoff keeps a long conversation in the store and hands over only a
 * reference with its digest, which history holds; no chain covers the kept body. The next
 * agent refuses a body that does not match (activities/model-step.ts): verify says so
 * before anyone runs into it, for every handoff of the session.
 */
async function conversationProblems(store: Store, runs: readonly RunFacts[], actions: readonly ActionRecord[]): Promise<{ problems: ChainProblem[]; checked: number }> {
  const problems: ChainProblem[] = [];
  let checked = 0;
  for (const run of runs) {
    const ref = run.continuedAs?.conversation;
    if (!ref) continue;
    checked += 1;
    const recordId = actions.find((a) => a.scopeId === ref.from && a.kind === 'handoff')?.actionId ?? ref.from;
    const body = await store.handoffPayload(ref.from);
    const at = { scopeId: ref.from, recordId, problem: 'conversation_changed' as const };
    if (body === undefined) {
      problems.push({ ...at, detail: `the conversation scope ${ref.from} handed over by reference is not in the store (its payload row was deleted); the next agent cannot go on from it` });
      continue;
    }
    const now = conversationDigest(body);
    if (now !== ref.digest) {
      problems.push({
        ...at,
        detail: `the conversation scope ${ref.from} handed over by reference is not the one it kept: its digest in history is ${ref.digest.slice(0, 12)}…, the stored body's ${now.slice(0, 12)}… (its payload row was changed)`,
      });
    }
  }
  return { problems, checked };
}

/**
 * Drift judges the session's agents by their manifests, which no chain covers: each agent
 * version that ran in the session is held to the signature its registering worker put on
 * its manifest. Every such version has one (a worker registers its agents' manifests
 * before its first write), so one without is named too, as is a row filed under it, or
 * under another version of its agent, that does not read as its manifest.
 */
function manifestProblems(scopes: readonly ScopeRecord[], stored: StoredManifests, key: () => SignatureChecker): { problems: ChainProblem[]; checked: number } {
  const ran = new Map<string, string>();
  const agents = new Map<string, string>();
  for (const s of scopes) {
    // A scope whose run Temporal closed before any of its code ran names no version (cim/reconcile.ts neverRanScope).
    if (s.agentVersion === UNKNOWN_AGENT_VERSION && NEVER_RAN_ERROR.test(s.error ?? '')) continue;
    if (!ran.has(`${s.agent}@${s.agentVersion}`)) ran.set(`${s.agent}@${s.agentVersion}`, s.scopeId);
    if (!agents.has(s.agent)) agents.set(s.agent, s.scopeId);
  }
  const out: ChainProblem[] = [];
  for (const row of stored.invalid) {
    const scopeId = agents.get(row.agent);
    if (scopeId !== undefined) out.push({ scopeId, recordId: `${row.agent}@${row.version}`, problem: 'invalid_row', detail: invalidManifestText(row) });
  }
  const registered = new Set(stored.manifests.map((m) => `${m.manifest.name}@${m.manifest.version}`));
  for (const [version, scopeId] of ran) {
    if (registered.has(version) || stored.invalid.some((r) => `${r.agent}@${r.version}` === version)) continue;
    out.push({
      scopeId, recordId: version, problem: 'manifest_missing',
      detail: `agent version ${version} ran in this session, but the store holds no manifest of it: its row was deleted or moved to another version`,
    });
  }
  let checker: SignatureChecker | undefined;
  let checked = 0;
  for (const m of stored.manifests) {
    const version = `${m.manifest.name}@${m.manifest.version}`;
    const scopeId = ran.get(version);
    if (scopeId === undefined) continue;
    checker ??= key();
    checked += 1;
    const state = manifestSignatureState(m, checker);
    const detail = manifestSignatureProblem(m, state, checker);
    if (detail === undefined) continue;
    const problem = state === 'forged' ? 'manifest_forged' : state === 'unsigned' ? 'manifest_unsigned' : 'manifest_unchecked';
    out.push({ scopeId, recordId: version, problem, detail });
  }
  return { problems: out, checked };
}

/**
 * MCP receipts are the servers' word, outside every chain, and `touched` and `footprint`
 * rest on them: a row that is not a receipt is named, each receipt is held to the server's
 * signature over it, and the receipts are held to the callers' rows as reconcile holds
 * them (a receipt of a call never made is an insertion).
 */
async function receiptProblems(store: Store, sessionId: string, actions: readonly ActionRecord[], key: () => ReceiptChecker): Promise<{ problems: ChainProblem[]; checked: number }> {
  const { receipts, invalid } = await store.receipts().checkedOfSession(sessionId);
  const problems = [
    ...invalid.map((row): ChainProblem => ({
      scopeId: row.scopeId, recordId: row.id, problem: 'invalid_row',
      detail: `MCP receipt ${row.id} has an invalid field "${row.field}": ${row.message}`,
    })),
    // A call whose receipt row is unreadable is named once, by that row.
    ...receiptDifferences(actions, receipts).filter((d) => !(d.kind === 'missing' && invalid.some((row) => row.id === d.id))).map((d): ChainProblem => ({
      scopeId: d.scopeId, recordId: d.id, problem: d.kind === 'extra' ? 'inserted' : 'history', detail: `${d.kind} ${d.record}: ${d.detail}`,
    })),
    ...(receipts.length ? receiptSignatureProblems(receipts, key()) : []).map((p): ChainProblem => ({ scopeId: p.scopeId, recordId: p.id, problem: p.kind, detail: p.detail })),
  ];
  return { problems, checked: receipts.length };
}

/** How long verify waits for anchors written just before it to reach Temporal's visibility. */
const VISIBILITY_GRACE_MS = [250, 500, 1_000, 1_500];

/**
 * The anchor of every scope history knows. Anchors are looked up by the run ids
 * history gives (the stored one first when history confirms it), never by the stored
 * run id alone, which a database writer could point elsewhere. A batch anchor is found
 * through visibility, which trails a write by a moment: a scope the store says is sealed
 * but whose anchor is not found yet is looked for again, for a few seconds at most,
 * before it is reported unanchored.
 */
export async function readAnchors(
  anchors: SealAnchors,
  namespace: string,
  runs: readonly RunFacts[],
  stored: SessionChains,
  sessionId: string,
): Promise<Map<string, AnchorLookup>> {
  const history = new Map<string, string[]>();
  for (const run of runs) {
    const id = runScopeId(run);
    history.set(id, [...(history.get(id) ?? []), run.runId]);
  }
  const storedRun = new Map(stored.chains.map((c) => [c.scope.scopeId, c.scope.runId]));
  const runIds = new Map<string, string[]>();
  for (const [scopeId, ids] of history) {
    const preferred = storedRun.get(scopeId);
    runIds.set(scopeId, preferred && ids.includes(preferred) ? [preferred, ...ids.filter((r) => r !== preferred)] : ids);
  }
  const result = await anchors.readSession(namespace, sessionId, runIds);
  const sealedInStore = new Set(stored.chains.filter((c) => c.chainLength !== null && c.scope.status !== 'running').map((c) => c.scope.scopeId));
  for (const wait of VISIBILITY_GRACE_MS) {
    const missing = new Map([...runIds].filter(([scopeId]) => sealedInStore.has(scopeId) && result.get(scopeId)?.state === 'absent'));
    if (missing.size === 0) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
    for (const [scopeId, lookup] of await anchors.readSession(namespace, sessionId, missing)) result.set(scopeId, lookup);
  }
  return result;
}
