/**
 * The fingerprint rows `attribute` matches text against are outside every seal, but what
 * they were made from is not: each fingerprinted output is in Temporal history (a call's
 * result, an agent's return). Fingerprinting those outputs again under the same key gives
 * the rows a worker wrote, so a row deleted, rewritten or slipped in is found.
 */
import type { ChainProblem } from '../store/chain';
import { Fingerprinter, type FingerprintKey } from '../store/fingerprint-key';
import type { StoredFingerprint } from '../store/fingerprint-store';
import type { HistoryOutput } from '../cim/history-outputs';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';

export interface FingerprintCheck {
  problems: ChainProblem[];
  /** Outputs whose rows were held to history. */
  checked: number;
  /** Outputs with rows made under another key than the reader's: not checkable here. */
  otherKey: number;
}

export function fingerprintProblems(
  outputs: readonly HistoryOutput[],
  rows: readonly StoredFingerprint[],
  records: { scopes: readonly ScopeRecord[]; actions: readonly ActionRecord[] },
  key: FingerprintKey | undefined,
): FingerprintCheck {
  // A session with no rows was recorded without fingerprinting (attribute says so too).
  if (!rows.length || !key) return { problems: [], checked: 0, otherKey: 0 };
  const stored = new Map<string, StoredFingerprint[]>();
  const otherKeys = new Set<string>();
  for (const r of rows) {
    if (r.keyId !== key.id) {
      otherKeys.add(r.sourceId);
      continue;
    }
    const list = stored.get(r.sourceId);
    if (list) list.push(r);
    else stored.set(r.sourceId, [r]);
  }
  // Made under another key only: nothing here can be held to history with this one.
  if (!stored.size) return { problems: [], checked: 0, otherKey: otherKeys.size };
  const scopes = new Map(records.scopes.map((s) => [s.scopeId, s]));
  const fingerprinter = new Fingerprinter(key);
  const problems: ChainProblem[] = [];
  const at = (scopeId: string, recordId: string, detail: string): ChainProblem => ({ scopeId, recordId, problem: 'fingerprint_changed', detail });
  let checked = 0;
  const expectedIds = new Set<string>();
  for (const o of outputs) {
    expectedIds.add(o.sourceId);
    let want: string[];
    let words = 0;
    try {
      const made = fingerprinter.records({ namespace: '', sessionId: '', scopeId: o.scopeId, sourceId: o.sourceId, kind: o.kind, agent: '', producedAt: '' }, o.value);
      want = made.map((f) => `${f.fingerprint}@${f.position}`).sort();
      words = made[0]?.words ?? 0;
    } catch {
      continue; // the worker could not fingerprint it either (best effort there)
    }
    const have = stored.get(o.sourceId) ?? [];
    // With the session's rows under several keys, an output without rows may be one of the others'.
    if (!have.length && otherKeys.size) continue;
    if (!want.length && !have.length) continue;
    checked += 1;
    const what = `the ${o.kind.replace('_', ' ')} ${o.sourceId}`;
    if (!have.length) {
      problems.push(at(o.scopeId, o.sourceId, `${what} has no fingerprint rows, though history holds it (${want.length} expected): they were deleted, so attribute cannot find its text`));
      continue;
    }
    const got = have.map((f) => `${f.fingerprint}@${f.position}`).sort();
    const agent = scopes.get(o.scopeId)?.agent;
    const misplaced = have.find((f) => f.scopeId !== o.scopeId || f.kind !== o.kind || (agent !== undefined && f.agent !== agent) || f.words !== words);
    if (got.join() !== want.join()) {
      const missing = want.filter((x) => !got.includes(x)).length;
      const extra = got.filter((x) => !want.includes(x)).length;
      problems.push(at(o.scopeId, o.sourceId, `${what}'s fingerprint rows do not match its text in history (${missing} missing, ${extra} not from it): they were changed`));
    } else if (misplaced) {
      problems.push(at(o.scopeId, o.sourceId, `${what}'s fingerprint rows name ${misplaced.kind} of scope ${misplaced.scopeId} by ${misplaced.agent} (${misplaced.words} words): they were changed`));
    }
  }
  // Rows of an output history does not hold. A call that succeeded after Temporal timed it out
  // has a successful row and fingerprints but no result in history; a scope still running may
  // not have closed its run yet: neither can be held to anything, and neither is a finding.
  const unprovable = new Set([
    ...records.actions.filter((a) => a.status === 'success').map((a) => a.actionId),
    ...records.scopes.filter((s) => s.status === 'running').map((s) => s.scopeId),
  ]);
  for (const [sourceId, have] of stored) {
    if (expectedIds.has(sourceId) || unprovable.has(sourceId)) continue;
    checked += 1;
    problems.push(at(have[0]!.scopeId, sourceId, `${have.length} fingerprint row(s) name output ${sourceId}, which history does not hold: they were added outside scopetrail`));
  }
  return { problems, checked, otherKey: [...otherKeys].filter((id) => !stored.has(id)).length };
}
