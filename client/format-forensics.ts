/** Human renderings of the forensic answers (the CLI's default output). */
import type { DriftEntry, RoleEntry, RootCause, TimelineEvent } from '../cim/forensics';
import type { SignatureState } from '../cim/keyed-signature';
import type { ReconcileReport } from './reconcile';
import type { VerifyReport } from '../store/chain';
import type { FootprintReport, SessionListing, StatusReport, TouchedReport } from './forensic-queries';
import { actionLine, clipped, renderTable, scopeLine, truncate } from './format';
import { visible } from './visible-text';
import { usageKeyText } from '../cim/forensics/usage';
import { LOST_RESULT_NOTE } from '../cim/forensics/calls';
import type { UsageCheckReport } from './usage-check';
import { CLOSED_WITHOUT_AGENT_ERROR } from '../cim/reconcile';

const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : '—');

export function renderSessions(sessions: SessionListing[]): string {
  if (!sessions.length) return 'no sessions';
  const problems = sessions.filter((s) => s.problem).map((s) => visible(`${s.sessionId}: ${s.problem}`));
  return renderTable(
    ['session', 'started', 'root agent', 'final agent', 'status', 'scopes', 'actions', 'failed', 'temporal'],
    sessions.map((s) => [
      s.sessionId,
      s.startedAt.replace('T', ' ').slice(0, 19),
      s.rootAgent,
      s.finalAgent,
      s.status === 'unreadable' ? 'UNREADABLE' : s.status,
      String(s.scopes),
      String(s.actions),
      String(s.failedActions),
      s.inTemporal === null ? '?' : !s.inTemporal ? 'MISSING' : s.agrees === false ? `${s.temporalStatus} !` : 'ok',
    ]),
  ) +
    (problems.length ? `\n\nUnreadable (a row changed outside scopetrail):\n${problems.map((p) => `  ${p}`).join('\n')}` : '') +
    // A '?' column is not a finding: say why it could not be filled.
    (sessions.some((s) => s.agrees === false)
      ? `\n\n${sessions
          .filter((s) => s.agrees === false)
          .map((s) => visible(`${s.sessionId}: the store says ${s.status}, Temporal says ${s.temporalStatus}; scopetrail reconcile ${s.sessionId} names the difference`))
          .join('\n')}`
      : '') +
    (sessions.some((s) => s.inTemporal === null && s.status !== 'unreadable')
      ? '\n\ntemporal ?: Temporal did not answer (check --address or TEMPORAL_ADDRESS); the sessions are listed from the store alone'
      : '');
}

export function renderRootCause(sessionId: string, rc: RootCause | null): string {
  if (!rc) return `Session ${sessionId}: nothing failed it (it succeeded, or has not failed yet).`;
  const lines = [`Root cause of session ${sessionId}:`];
  if (rc.action?.kind === 'budget_exceeded') {
    lines.push(`  ${rc.agent} in scope ${rc.scope.scopeId} ran out of its budget (${rc.action.name}) — ${clipped(rc.action.error ?? rc.scope.error ?? 'no message')}`);
  } else if (rc.action) {
    lines.push(`  ${rc.agent} in scope ${rc.scope.scopeId}: ${rc.action.kind} ${rc.action.name} failed — ${clipped(rc.action.error ?? 'no message')}`);
    lines.push(`  attempts:`);
    for (const a of rc.attempts) lines.push(`    #${a.attempt} ${a.status} at ${a.startedAt}${a.error ? ` — ${clipped(a.error)}` : ''}`);
  } else if (CLOSED_WITHOUT_AGENT_ERROR.test(rc.scope.error ?? '')) {
    const how = CLOSED_WITHOUT_AGENT_ERROR.exec(rc.scope.error!)![1];
    lines.push(`  ${rc.agent} in scope ${rc.scope.scopeId}: its run was ${how} in Temporal — ${clipped(rc.scope.error!)}`);
  } else {
    lines.push(`  ${rc.agent} in scope ${rc.scope.scopeId} failed in its own code — ${clipped(rc.scope.error ?? 'no message')}`);
  }
  lines.push(`  delegation chain (failing scope first):`);
  rc.chain.forEach((s, i) => {
    const link = i === 0 ? '   ' : rc.links[i - 1] === 'handoff' ? ' ⇠ ' : ' ↑ ';
    lines.push(`   ${link}${scopeLine(s)}`);
  });
  lines.push(`  impact: ${rc.impact.length ? rc.impact.map((s) => `${s.scopeId} (${s.status})`).join(', ') : 'none beyond the failing scope'}`);
  if (rc.otherFailures.length) {
    lines.push(`  other failed scopes (${rc.otherFailures.length}, off this chain): ${rc.otherFailures.map((s) => `${s.scopeId} ${s.agent}`).join(', ')}`);
  }
  if (rc.recoveredFailures) lines.push(`  also: ${rc.recoveredFailures} call(s) failed and recovered on retry`);
  return lines.map(visible).join('\n');
}

export function renderFootprint(r: FootprintReport): string {
  const head = visible(`Footprint of ${r.scopeId}${r.descendants ? ' and its descendants' : ''}:`);
  // Only a footprint some MCP server vouched for gets the column: most have no receipt, and a column of 0s says nothing.
  const withReceipts = r.resources.some((e) => e.receipts > 0);
  const table = r.resources.length
    ? renderTable(
        ['resource', 'mode', 'source', 'actions', ...(withReceipts ? ['receipts'] : []), 'tools', 'scopes', 'agents'],
        r.resources.map((e) => [
          outsideMark(e),
          e.mode,
          e.source,
          String(e.actions),
          ...(withReceipts ? [receiptCell(e)] : []),
          list(e.tools),
          list(e.scopes),
          list(e.agents),
        ]),
      )
    : 'no resources touched';
  const outside = r.resources.filter((e) => e.outsideAllowance);
  // The allowance check refuses such a touch before it happens: one in the record came another way.
  const outsideWarning = outside.length
    ? `\n${visible(`WARNING: ${outside.length} resource(s) were touched outside the allowance of the scope that touched them: ${outside.map((e) => `${e.uri} (${list(e.outsideAllowanceScopes)})`).join(', ')}. A provider served another model than the one asked for, a server reported more than was declared, or a row was written outside scopetrail.`)}`
    : '';
  const denied = r.denied.length ? `\nRefused (not touched):\n${r.denied.map((a) => `  ${visible(a.scopeId)} ${actionLine(a)}`).join('\n')}` : '';
  const receipts = r.receiptProblems.length
    ? `\nWARNING: ${r.receiptProblems.length} MCP receipt(s) do not vouch for what they say; entries resting on receipts may be wrong or missing:\n${r.receiptProblems.map((p) => visible(`  ${p.kind}: ${p.detail}`)).join('\n')}`
    : '';
  return `${head}\n${table}${outsideWarning}${denied}${receipts}`;
}

/** How many receipts name the entry and whose: "1 (files)", the server's word beside the caller's action count. */
function receiptCell(e: FootprintReport['resources'][number]): string {
  return e.receipts ? `${e.receipts} (${list(e.servers)})` : '0';
}

function outsideMark(e: FootprintReport['resources'][number]): string {
  return e.outsideAllowance ? `${e.uri} (OUTSIDE ALLOWANCE of ${list(e.outsideAllowanceScopes)})` : e.uri;
}

export function renderTouched(r: TouchedReport): string {
  const lines: string[] = [];
  if (r.touched) {
    const by = [r.actions.length ? `${r.actions.length} action(s)` : '', r.receipts.length ? `${r.receipts.length} MCP server receipt(s)` : ''].filter(Boolean).join(' and ');
    lines.push(`YES — ${r.resource} was touched under ${r.scopeId} by ${by} (${r.source === 'both' ? "the caller's record and the servers'" : r.source === 'receipt' ? "the servers' record" : "the caller's record"}):`);
    for (const a of r.actions) lines.push(`  ${a.scopeId} ${a.agent}: ${actionLine(a)}`);
    for (const x of r.receipts) lines.push(`  ${x.scopeId} ${x.agent}: receipt of MCP server ${x.server} for ${x.tool} (attempt ${x.attempt}, ${x.outcome}): ${x.resources.map((res) => `${res.mode} ${res.uri}`).join(', ')}`);
  } else if (r.unanswered.length) {
    lines.push(`UNKNOWN — nothing recorded under ${r.scopeId} touched ${r.resource}, but ${r.unanswered.length} MCP call(s) never heard back from their server and have no receipt: what they did is unknown.`);
  } else if (r.receiptProblems.length) {
    lines.push(`UNKNOWN — nothing recorded under ${r.scopeId} touched ${r.resource}, but ${r.receiptProblems.length} MCP receipt(s) of the session do not vouch for what they say: what their servers did is unknown.`);
  } else if (!r.complete) {
    // A NO rests on the record being whole: one that history or the seals contradict proves nothing.
    lines.push(`UNKNOWN — nothing stored under ${r.scopeId} touched ${r.resource}, but the stored record disagrees with Temporal history or with its seals (below): it cannot show that ${r.resource} was never touched.`);
  } else if (r.running.length) {
    lines.push(`NOT YET — nothing under ${r.scopeId} has touched ${r.resource} so far, but ${r.running.length} scope(s) under it are still running (${r.running.join(', ')}): they may yet; ask again when they end.`);
  } else {
    lines.push(`NO — nothing under ${r.scopeId} touched ${r.resource}.`);
  }
  if (r.unanswered.length) {
    lines.push(`Unanswered MCP calls (the server may have acted before it stopped answering):`);
    for (const a of r.unanswered) lines.push(`  ${a.scopeId} ${a.agent}: ${actionLine(a)}`);
  }
  if (r.outsideAllowance.length) {
    lines.push(`WARNING: ${r.outsideAllowance.length} touch(es) outside the allowance of the scope that made them:`);
    for (const o of r.outsideAllowance) lines.push(`  ${o.scopeId}: ${o.uri} by ${o.source === 'receipt' ? 'the receipt of ' : ''}${o.actionId}`);
  }
  if (r.denied.length) {
    lines.push(`Refused attempts (${r.denied.length}):`);
    for (const a of r.denied) lines.push(`  ${a.scopeId} ${a.agent}: ${actionLine(a)}`);
  }
  const e = r.evidence;
  if (r.complete) {
    lines.push(
      `Evidence: reconcile of session ${e.sessionId} against Temporal history — ${e.runs} runs, ${e.expected.actions} actions expected, ${e.stored.actions} stored, 0 differences: the record is complete (every sealed row matches its seal).`,
    );
  }
  if (e.differences.length) {
    lines.push(`WARNING: reconcile found ${e.differences.length} difference(s) in session ${e.sessionId}; the answer may be incomplete (run scopetrail reconcile ${e.sessionId}).`);
  }
  const misplaced = r.sealProblems.filter((p) => p.problem === 'misplaced');
  const unsealed = r.sealProblems.length - misplaced.length;
  if (unsealed) {
    lines.push(
      `WARNING: ${unsealed} row(s) of session ${e.sessionId} no longer match their seals (changed, removed or added after sealing); the answer may be wrong (run scopetrail verify ${e.sessionId}).`,
    );
  }
  if (misplaced.length) {
    lines.push(`WARNING: rows of session ${e.sessionId} are filed under another session start than its own, so this answer did not read them; it may be wrong (run scopetrail verify ${e.sessionId}):`);
    for (const p of misplaced) lines.push(`  ${p.detail}`);
  }
  if (r.receiptProblems.length) {
    lines.push(`WARNING: ${r.receiptProblems.length} MCP receipt(s) of session ${e.sessionId} do not vouch for what they say; the answer may be wrong:`);
    for (const p of r.receiptProblems) lines.push(`  ${p.kind}: ${p.detail}`);
  }
  return lines.map(visible).join('\n');
}

export function renderStatus(r: StatusReport): string {
  const lines = [scopeLine(r.scope)];
  if (r.scope.error) lines.push(`  error: ${r.scope.error}`);
  const lost = r.calls.lostResults ? `, ${r.calls.lostResults} succeeded but ${LOST_RESULT_NOTE.replace('its result', 'the result')}` : '';
  lines.push(`  own calls: ${r.calls.total} attempt(s), ${r.calls.failedAttempts} failed, ${r.calls.denied} refused${lost}`);
  if (r.children.length) {
    lines.push('  delegations:');
    const state = (c: { status: string; recovered: boolean }) => `${c.status}${c.recovered ? ' (recovered)' : ''}`;
    for (const c of r.children) {
      const chain = c.handoffs.map((h) => ` ⇢ ${h.scopeId} ${h.agent}: ${state(h)}`).join('');
      const outcome = c.handoffs.length ? ` — outcome ${state(c.outcome)}` : '';
      const tries = [c.retryOf ? `try ${c.attempt}, retries ${c.retryOf}` : '', c.retriedAs ? `retried as ${c.retriedAs}` : ''].filter(Boolean).join('; ');
      lines.push(`    ${c.scopeId} ${c.agent}: ${state(c)}${chain}${outcome}${tries ? ` (${tries})` : ''}`);
    }
  }
  return lines.map(visible).join('\n');
}

/** Handoffs pass control sideways: to whom an agent hands off (declared or observed) and from whom it takes over. */
function handoffText(r: RoleEntry): string {
  const to = [...new Set([...r.declaredHandoffs, ...r.handsOffTo])];
  const parts = [to.length ? `to ${to.join(', ')}` : '', r.takesOverFrom.length ? `from ${r.takesOverFrom.join(', ')}` : ''].filter(Boolean);
  return parts.length ? parts.join('; ') : '—';
}

export function renderRoles(roles: RoleEntry[]): string {
  if (!roles.length) return 'no agents known';
  const table = renderTable(
    ['agent', 'versions', 'orchestrator', 'sub-agent', 'delegates to', 'delegated by', 'handoffs', 'evidence'],
    roles.map((r) => [
      r.agent,
      list(r.versions),
      r.orchestrator ? 'yes' : 'no',
      r.subAgent ? 'yes' : 'no',
      list([...new Set([...r.declaredSubAgents, ...r.observedSubAgents])]),
      list(r.delegatedBy),
      handoffText(r),
      r.evidence.join('; '),
    ]),
  );
  // Each version beside the others: during an upgrade two builds run one agent at once.
  const versions = renderTable(
    ['agent', 'version', 'manifest', 'builds', 'scopes', 'delegations', 'delegates to'],
    roles.flatMap((r) =>
      r.byVersion.map((v) => [r.agent, v.version, manifestCell(v.manifest, v.manifestSignature), list(v.builds), String(v.scopes), String(v.delegations), list(v.subAgents)]),
    ),
  );
  const doubtful = roles.flatMap((r) => r.byVersion.filter((v) => doubtfulSignature(v.manifestSignature)).map((v) => `${r.agent}@${v.version} ${signatureLabel(v.manifestSignature!)}`));
  const warning = doubtful.length
    ? `\n${visible(`WARNING: ${doubtful.length} version(s) have a manifest its registering worker's signature does not vouch for (${doubtful.join(', ')}); roles declared there may be wrong (scopetrail verify names each, and why).`)}`
    : '';
  return `${table}\n\nBy version:\n${versions}${warning}`;
}

/** `agent`: the one agent asked about, if one was. */
export function renderDrift(entries: DriftEntry[], agent?: string): string {
  // A known agent with no entry has a manifest but no scope that ran its code (none yet, or
  // only runs Temporal ended before their first task): nothing observed to judge.
  if (!entries.length) return agent === undefined ? 'no agents observed' : `${agent}: nothing observed to judge yet (drift counts the sealed scopes that ran its code; a run Temporal ended before its first task ran none)`;
  const doubtful = entries.filter((d) => doubtfulSignature(d.manifestSignature));
  const warning = doubtful.length
    ? `\n${visible(`WARNING: ${doubtful.length} version(s) judged by a manifest its registering worker's signature does not vouch for (${doubtful.map((d) => `${d.agent}@${d.version} ${signatureLabel(d.manifestSignature!)}`).join(', ')}); their verdicts may be wrong (scopetrail verify names each, and why).`)}`
    : '';
  return renderTable(
    ['agent', 'version', 'builds', 'manifest', 'drift', 'undeclared tools', 'undeclared sub-agents', 'undeclared handoffs', 'version pins', 'unused (info)'],
    entries.map((d) => [
      d.agent,
      d.version,
      list(d.builds),
      manifestCell(d.manifest, d.manifestSignature),
      d.drifted ? 'DRIFT' : 'ok',
      list(d.undeclaredTools),
      list(d.undeclaredSubAgents),
      list(d.undeclaredHandoffs),
      list(d.versionMismatches.map((m) => `${m.parent}@${m.parentVersion} expects ${m.expected}, ran ${m.observed}`)),
      list([...d.unusedTools, ...d.unusedSubAgents, ...d.unusedHandoffs.map((a) => `handoff ${a}`)]),
    ]),
  ) + warning;
}

/** One word for how a manifest's signature stands: a key this reader lacks and no key at all read alike. */
function doubtfulSignature(state: SignatureState | undefined): boolean {
  return state !== undefined && state !== 'valid';
}

/** Whether a version has a manifest, and, when its signature does not vouch for it, why. */
function manifestCell(present: unknown, state: SignatureState | undefined): string {
  if (!present) return 'NO';
  return doubtfulSignature(state) ? `yes, ${signatureLabel(state!)}` : 'yes';
}

function signatureLabel(state: SignatureState): string {
  return state === 'other_key' || state === 'unchecked' ? 'UNCHECKED' : state.toUpperCase();
}

/** Characters of an event a timeline row shows; `--json` and `scopetrail scope` have the rest. */
const TIMELINE_TEXT = 160;

export function renderTimeline(events: TimelineEvent[]): string {
  return renderTable(
    ['time', 'scope', 'agent', 'event'],
    // One long objective or error would pad every row of the column to its width.
    events.map((e) => [e.at.slice(11, 23), e.scopeId, e.agent, truncate(e.text, TIMELINE_TEXT)]),
  );
}

/** A pruned session never reaches here: ScopeClient.reconcile raises SessionPrunedError for it. */
export function renderReconcile(r: ReconcileReport): string {
  const head =
    `Reconcile of session ${visible(r.sessionId)}: ${r.runs} workflow runs read; ` +
    `expected ${r.expected.scopes} scopes / ${r.expected.actions} actions, stored ${r.stored.scopes} / ${r.stored.actions}` +
    (r.stored.openInHistory ? ` (${r.stored.openInHistory} of calls history leaves open: running, or left running by their run).` : '.');
  if (!r.differences.length) return `${head}\n0 differences: the store is complete for this session.`;
  return `${head}\n${r.differences.length} difference(s):\n${renderTable(
    ['kind', 'record', 'id', 'scope', 'detail'],
    r.differences.map((d) => [d.kind, d.record, d.id, d.scopeId, d.detail]),
  )}`;
}

export function renderVerify(r: VerifyReport): string {
  const signed = r.receiptsChecked === undefined ? '' : ` ${r.manifestsChecked ?? 0} agent manifests and ${r.receiptsChecked} MCP receipts held to their signatures.`;
  const kept = r.conversationsChecked ? ` ${r.conversationsChecked} conversation(s) handed over by reference held to their digests in history.` : '';
  const fingerprinted = r.fingerprintsChecked ? ` ${r.fingerprintsChecked} outputs' fingerprints held to history.` : '';
  const head = `Verify of session ${visible(r.sessionId)}: ${r.scopes} scope chains, ${r.actions} actions recomputed, ${r.anchorsChecked} seals checked against Temporal.${signed}${kept}${fingerprinted}`;
  if (!r.problems.length) return `${head}\nOK: no record was changed, removed or inserted since it was sealed, and the store agrees with history.`;
  return `${head}\nFAILED: ${r.problems.length} problem(s):\n${renderTable(
    ['problem', 'record', 'scope', 'detail'],
    r.problems.map((p) => [p.problem, p.recordId, p.scopeId, p.detail]),
  )}`;
}

export function renderUsageCheck(r: UsageCheckReport): string {
  const head = `Usage rollup of namespace ${visible(r.namespace)} against a recount of its sealed scopes' rows:`;
  if (!r.differences.length) return `${head}\nOK: roles, drift and health read the same counts the rows give.`;
  const counts = (d: UsageCheckReport['differences'][number], which: 'stored' | 'recounted') =>
    d.facet === 'calls' ? d[which].join(' / ') : String(d[which][0]);
  const table = renderTable(
    ['month', 'facet', 'key', 'rollup', 'recount'],
    r.differences.map((d) => [d.month.slice(0, 7), d.facet, usageKeyText(d.facet, d.keys), counts(d, 'stored'), counts(d, 'recounted')]),
  );
  const cause = 'Either a rollup row was edited, or a record was written after its scope was sealed; verify of its session names the latter.';
  return r.repaired
    ? `${head}\n${r.differences.length} key(s) differed. ${cause}\n${table}\nREPAIRED: the rollup now holds the recount.`
    : `${head}\nFAILED: ${r.differences.length} key(s) differ. ${cause}\n${table}\nRun with --repair to replace the rollup with the recount.`;
}
