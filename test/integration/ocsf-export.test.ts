/**
 * OCSF export of sessions recorded by a real worker on the Temporal dev server into
 * Postgres: the example session (delegations, a handoff, a failing delegate, LLM calls)
 * and a refused read. Every exported event is validated against the vendored OCSF
 * definitions; the chain fields are checked against the store's chains and `verify`,
 * the trace ids against what an OTLP receiver got from the OTel export, and the tail
 * against a crash between a write and its cursor commit.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { CLI_STORE_SKIP, runCliFor } from '../helpers/cli';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver';
import { createExampleTools } from '../../examples/tools';
import { exampleLlm } from '../../examples/llm-script';
import { orchestrator } from '../../examples/agents';
import { createFixtureTools } from '../fixtures/tools';
import { guarded } from '../fixtures/agents';
import { validateOcsfEvent } from '../../cim/ocsf-validate';
import { fileSink, followOcsf, newCursor, readCursor } from '../../client/ocsf-follow';

let rt: TestRuntime;
let receiver: OtlpReceiver;
let sid: string;
let refusedSid: string;
const dir = mkdtempSync(join(tmpdir(), 'scopetrail-ocsf-'));

async function runSession(kind: 'example' | 'refusal', n = 0): Promise<string> {
  const s =
    kind === 'example'
      ? await rt.client.startSession(orchestrator, { input: { question: `How is authority delegated? ${n}` } })
      : await rt.client.startSession(guarded, { input: { dataset: 'restricted/salaries' } });
  await s.result();
  await rt.worker.recorder.drain();
  return s.sessionId;
}

before(async () => {
  const fixtures = createFixtureTools().tools;
  rt = await startTestRuntime({
    agents: require.resolve('../fixtures/ocsf-agents'),
    tools: [...Object.values(createExampleTools({ latencyMs: 10 }).tools), fixtures.readDataset, fixtures.exportAll],
    llm: exampleLlm(),
  });
  receiver = await startOtlpReceiver();
  sid = await runSession('example');
  refusedSid = await runSession('refusal');
});
after(async () => {
  await receiver?.close();
  await rt?.stop();
});

type Event = Record<string, any>;
const readLines = (file: string): Event[] => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const actionId = (e: Event) => e.unmapped.scopetrail.action_id as string;

let exports = 0;
async function exportSession(id: string): Promise<Event[]> {
  // A file of its own each time: export-ocsf does not replace one with content unless told to.
  const out = join(dir, `${id}-${++exports}.jsonl`);
  const run = await runCliFor(rt, ['export-ocsf', id, '--out', out]);
  assert.equal(run.code, 0, run.stderr);
  return readLines(out);
}

test('a session exports one API Activity event per action, delegations and handoffs included, and every event validates', { skip: CLI_STORE_SKIP }, async () => {
  const events = await exportSession(sid);
  const actions = await rt.store.actionsOfSession(sid);
  assert.deepEqual(events.map(actionId).sort(), actions.map((a) => a.actionId).sort());
  for (const e of events) {
    const result = validateOcsfEvent(e);
    assert.deepEqual(result.errors, [], `${actionId(e)}: ${result.errors.join('; ')}`);
  }
  const kinds = (k: string) => events.filter((e) => e.unmapped.scopetrail.action_kind === k);
  assert.equal(kinds('delegate').length, actions.filter((a) => a.kind === 'delegate').length);
  assert.equal(kinds('delegate').length, 5, 'orchestrator → researcher, analyst, translator; researcher → verifier → citer');
  assert.ok(kinds('delegate').every((e) => e.activity_name === 'Create' && e.resources.at(-1).type === 'delegation'));
  assert.equal(kinds('handoff').length, 1);
  assert.equal(kinds('handoff')[0]!.activity_name, 'Handoff');
  const failures = events.filter((e) => e.status_id === 2);
  assert.ok(failures.length >= 4, 'the translator\'s attempts and the timed-out fetches');
  assert.ok(failures.every((e) => e.status === 'Failure' && e.status_detail && e.api.response.error_message === e.status_detail));
  const translate = events.find((e) => e.api.operation === 'translate')!;
  assert.match(translate.status_detail, /translation service unavailable/);
  const chat = kinds('llm_call');
  assert.equal(chat.length, 2);
  assert.ok(chat.every((e) => e.activity_name === 'Share' && e.api.operation === 'chat' && e.ai_agent.ai_model?.name));
  const search = events.find((e) => e.api.operation === 'search')!;
  assert.equal(search.activity_name, 'Read');
  assert.equal(events.find((e) => e.api.operation === 'saveNote')!.activity_name, 'Update');

  const scopes = await rt.store.scopesOfSession(sid);
  for (const e of events) {
    const scope = scopes.find((s) => s.scopeId === e.unmapped.scopetrail.scope_id)!;
    assert.deepEqual(e.delegation, {
      uid: scope.scopeId,
      ...(scope.parentScopeId ? { parent_uid: scope.parentScopeId } : {}),
      created_time: Date.parse(scope.startedAt),
      issuer_uid: 'scopetrail:default',
    });
    assert.deepEqual([e.ai_agent.uid, e.ai_agent.version, e.ai_agent.type], [scope.agent, scope.agentVersion, 'scopetrail']);
  }
});

test('a refusal is a failed event with status code denied and the reason', { skip: CLI_STORE_SKIP }, async () => {
  const events = await exportSession(refusedSid);
  const refusal = events.find((e) => e.unmapped.scopetrail.action_kind === 'denied')!;
  assert.deepEqual([refusal.status_id, refusal.status_code, refusal.severity], [2, 'denied', 'Medium']);
  assert.match(refusal.status_detail, /may not read data:restricted\/salaries/);
  assert.deepEqual(refusal.resources.map((r: Event) => `${r.uid} ${r.labels}`), ['data:restricted/salaries mode:read']);
  assert.deepEqual(refusal.delegation.parent_uid, refusedSid, 'the refused read ran under the delegation to dataReader');
  assert.ok(events.every((e) => validateOcsfEvent(e).valid));
});

test('record_integrity carries each scope\'s hash chain, which verify vouches for', { skip: CLI_STORE_SKIP }, async () => {
  const report = await rt.client.verify(sid);
  assert.deepEqual(report.problems, []);
  const events = await exportSession(sid);
  const { chains } = await rt.store.chainsOfSession(sid);
  assert.equal(new Set(events.map((e) => e.attestation_list[0].chain_uid)).size, chains.length - chains.filter((c) => c.actions.length === 0).length);
  for (const chain of chains) {
    const own = events.filter((e) => e.attestation_list[0].chain_uid === `default/${chain.scope.scopeId}`);
    assert.equal(own.length, chain.chainLength, chain.scope.scopeId);
    own.forEach((e, i) => {
      const link = chain.actions.find((a) => a.record.actionId === actionId(e))!;
      const att = e.attestation_list[0];
      assert.equal(link.seq, i + 1, 'events of a chain come in chain order');
      assert.equal(att.fingerprint.value, link.hash);
      assert.equal(att.uid, `default/${chain.scope.scopeId}#${link.seq}`);
      if (i === 0) assert.equal(att.prev_event, undefined);
      else {
        assert.equal(att.prev_event.fingerprint.value, link.prevHash);
        assert.equal(att.prev_event.uid, own[i - 1]!.metadata.uid);
        assert.equal(att.prev_event.fingerprint.value, own[i - 1]!.attestation_list[0].fingerprint.value);
      }
    });
    assert.equal(own.at(-1)?.attestation_list[0].fingerprint.value ?? null, chain.chainHead, 'the last event holds the sealed head');
  }
});

test('trace and parent span ids are the ones the OpenTelemetry export sends', { skip: CLI_STORE_SKIP }, async () => {
  const events = await exportSession(sid);
  receiver.reset();
  await rt.client.exportOtel(sid, { endpoint: receiver.tracesUrl });
  const spans = receiver.spans();
  for (const e of events) {
    const id = actionId(e);
    const own = spans.find((s) => s.attributes['scopetrail.action.id'] === id);
    // Delegations and handoffs are events on their scope's span there.
    const span = own ?? spans.find((s) => s.attributes['scopetrail.scope.id'] === e.unmapped.scopetrail.scope_id && s.name.startsWith('invoke_agent'))!;
    if (!own) assert.ok(span.events.some((ev) => ev.attributes['scopetrail.action.id'] === id), id);
    assert.equal(e.trace.uid, span.traceId, id);
    assert.equal(e.trace.span.uid, span.spanId, id);
    assert.equal(e.trace.span.parent_uid ?? null, span.parentSpanId, id);
  }
});

test('--since exports every session started since then; bad input is refused naming the field', { skip: CLI_STORE_SKIP }, async () => {
  const out = join(dir, 'since.jsonl');
  const scopes = await rt.store.scopesOfSession(sid);
  const run = await runCliFor(rt, ['export-ocsf', '--since', scopes[0]!.startedAt, '--out', out, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const sessions = new Set(readLines(out).map((e) => e.metadata.correlation_uid));
  assert.ok(sessions.has(sid) && sessions.has(refusedSid));
  assert.equal(JSON.parse(run.stdout).events, readLines(out).length);

  const usage = async (args: string[], pattern: RegExp) => {
    const r = await runCliFor(rt, ['export-ocsf', ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
  };
  await usage([sid, '--since', '2026-01-01T00:00:00Z'], /either <session> or --since/);
  await usage(['--since', 'yesterday'], /invalid --since "yesterday": give an ISO 8601 time/);
  await usage([], /missing argument <session>/);
  await usage([sid, '--follow'], /--follow needs --out or --cursor/);
  await usage([sid, '--follow', '--out', join(dir, 'x.jsonl'), '--poll-ms', '5'], /invalid --poll-ms/);
  const badCursor = join(dir, 'bad.cursor');
  writeFileSync(badCursor, JSON.stringify({ ...newCursor(null, '2026-01-01T00:00:00Z'), since: 'soon' }));
  await usage(['--follow', '--cursor', badCursor], /cursor file .*bad\.cursor: invalid field "since"/);
  const unknown = await runCliFor(rt, ['export-ocsf', 'ses-nope']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no session "ses-nope"/);
});

test('--follow of a running session writes exactly what a one-shot export writes once it ends, then stops', { skip: CLI_STORE_SKIP }, async () => {
  const out = join(dir, 'follow-session.jsonl');
  const s = await rt.client.startSession(orchestrator, { input: { question: 'followed while it runs' } });
  const following = runCliFor(rt, ['export-ocsf', s.sessionId, '--follow', '--out', out, '--poll-ms', '200']);
  await s.result();
  const run = await following;
  assert.equal(run.code, 0, run.stderr);
  const once = await exportSession(s.sessionId);
  assert.deepEqual(readLines(out).map((e) => JSON.stringify(e)).sort(), once.map((e) => JSON.stringify(e)).sort());
  assert.equal(readCursor(`${out}.cursor`)!.finished[s.sessionId] !== undefined, true);

  // Run again, the same command resumes from its cursor (the file is not refused as one with content): nothing is left to write.
  const written = readFileSync(out, 'utf8');
  const resumed = await runCliFor(rt, ['export-ocsf', s.sessionId, '--follow', '--out', out, '--poll-ms', '200', '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).events, 0);
  assert.equal(readFileSync(out, 'utf8'), written);
});

test('a one-shot export does not replace an --out file with content unless given --force', { skip: CLI_STORE_SKIP }, async () => {
  const out = join(dir, 'replace.jsonl');
  writeFileSync(out, '{"earlier":"export"}\n');
  const refused = await runCliFor(rt, ['export-ocsf', sid, '--out', out]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--out ".*replace\.jsonl" already holds 21 bytes; give --force to replace it/);
  assert.equal(readFileSync(out, 'utf8'), '{"earlier":"export"}\n');
  const forced = await runCliFor(rt, ['export-ocsf', sid, '--out', out, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(readLines(out).map(actionId).sort(), (await rt.store.actionsOfSession(sid)).map((a) => a.actionId).sort());
});

test('--follow tails new sessions and, after a crash between a write and its commit, resumes with no gap and no duplicate', { skip: CLI_STORE_SKIP }, async () => {
  const out = join(dir, 'tail.jsonl');
  const cursorPath = `${out}.cursor`;
  const since = new Date().toISOString();
  const tail = async (until: () => boolean) => {
    const stop = new AbortController();
    const cursor = readCursor(cursorPath) ?? newCursor(null, since);
    const sink = fileSink(out, cursor.offset);
    const running = followOcsf(rt.store, sink, cursor, { cursorPath, pollMs: 150, signal: stop.signal });
    while (!until()) await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    const summary = await running;
    await sink.close();
    return summary;
  };
  const lines = () => readFileSync(out, 'utf8').split('\n').filter(Boolean);

  const first = await runSession('example', 1);
  const firstCount = (await rt.store.actionsOfSession(first)).length;
  await tail(() => lines().length >= firstCount);
  const committed = lines();
  assert.equal(committed.length, firstCount);

  // What a crash leaves: a batch written after the last commit (here a copy of committed lines and a torn one).
  appendFileSync(out, `${committed.slice(0, 3).join('\n')}\n{"class_uid":60`);
  // Restarted with nothing new to write: the output is back to what was committed.
  const started = Date.now();
  const idle = await tail(() => Date.now() - started > 1000);
  assert.ok(idle.polls >= 2);
  assert.equal(idle.events, 0);
  assert.deepEqual(lines(), committed, 'the uncommitted batch and the torn line are gone');
  const second = await runSession('example', 2);
  const refused = await runSession('refusal');
  const expected = (await Promise.all([first, second, refused].map((id) => exportSession(id)))).flat();
  await tail(() => lines().length >= expected.length && !readFileSync(out, 'utf8').includes('{"class_uid":60\n'));

  const written = readLines(out);
  const uids = written.map((e) => e.metadata.uid);
  assert.equal(new Set(uids).size, uids.length, 'no duplicates');
  assert.deepEqual([...uids].sort(), expected.map((e) => e.metadata.uid).sort(), 'no gaps: every event of the three sessions');
  assert.ok(written.every((e) => validateOcsfEvent(e).valid));
  const cursor = readCursor(cursorPath)!;
  assert.equal(cursor.offset, readFileSync(out).length);
  assert.deepEqual(Object.keys(cursor.exported), [], 'every session was finished');
});
