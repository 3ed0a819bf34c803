/**
 * Output provenance end to end: real sessions on the Temporal dev server record keyed
 * fingerprints of every output in Postgres (never the text), and a final text put together
 * from several scopes' outputs — reordered, redacted, with unrelated text — is attributed
 * segment by segment to the scopes that wrote it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unwrapAgentResult } from '../../cim/envelope';
import type { AttributionReport } from '../../client/attribution';
import { parseKey } from '../../worker/fingerprint-key';
import { startTestRuntime, usesPglite, type TestRuntime } from '../helpers/runtime';
import { testSql } from '../helpers/test-sql';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { runCliFor } from '../helpers/cli';
import { writerLlm } from '../fixtures/writer-llm';

const skip = usesPglite() && 'reads the fingerprint table through the Postgres server';
const KEY = parseKey('a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718', 'the test key');
const OTHER_KEY = parseKey('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'another key');

let rt: TestRuntime;

before(async () => {
  if (skip) return;
  rt = await startTestRuntime({
    agents: require.resolve('../fixtures/writer-agents'),
    tools: [],
    llm: writerLlm(),
    fingerprintKey: KEY,
  });
});
after(async () => rt?.stop());

async function sql<R extends Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
  return (await testSql<R>(text, params)).rows;
}

/** An agent's result as Temporal returned it to its caller. */
async function resultOf(workflowId: string): Promise<Record<string, string>> {
  return unwrapAgentResult(await rt.client.temporal.workflow.getHandle(workflowId).result()).value as Record<string, string>;
}

/** Scopes of the segments overlapping `part` of `text`. */
function scopesOf(report: AttributionReport, text: string, part: string): (string | null)[] {
  const start = text.indexOf(part);
  assert.ok(start >= 0, `part "${part.slice(0, 30)}" is in the text`);
  const end = start + part.length;
  return [...new Set(report.segments.filter((s) => s.start < end && s.end > start).map((s) => s.scopeId))];
}

let sessionId: string;
let finalText: string;
let parts: Record<string, { text: string; scope: string | null }>;

test('every output is fingerprinted under the deployment key, and no output text is stored', { skip }, async () => {
  const session = await rt.client.startSession('editor', { input: { seed: 7 } });
  await session.result();
  await rt.worker.recorder.drain();
  sessionId = session.sessionId;
  const t = `"${rt.schema}".output_fingerprints`;
  const rows = await sql<{ scope_id: string; source_kind: string; n: string; keys: string }>(
    `SELECT scope_id, source_kind, count(*) AS n, string_agg(DISTINCT key_id, ',') AS keys FROM ${t}
     WHERE session_id = $1 GROUP BY scope_id, source_kind ORDER BY scope_id, source_kind`,
    [sessionId],
  );
  const s = sessionId;
  assert.deepEqual(
    rows.map((r) => `${r.scope_id.slice(s.length) || 'root'} ${r.source_kind}`),
    ['root agent_output', '.1 agent_output', '.1 llm_output', '.1.1 agent_output', '.2 agent_output', '.2 llm_output', '.3 agent_output', '.3 llm_output'],
  );
  assert.ok(rows.every((r) => Number(r.n) > 20 && r.keys === KEY.id), 'long outputs, all under the test key');

  const section = (await resultOf(`${s}.2`)).body!;
  const distinctive = section.split(/\W+/).sort((a, b) => b.length - a.length)[0]!;
  const sentence = section.split('. ')[1]!;
  for (const needle of [distinctive, sentence]) {
    const [hit] = await sql<{ n: string }>(`SELECT count(*) AS n FROM ${t} f WHERE f::text ILIKE $1`, [`%${needle}%`]);
    assert.equal(Number(hit!.n), 0, `"${needle}" is not stored`);
  }
});

test('a reordered, redacted text made of several scopes\' outputs is attributed segment by segment', { skip }, async () => {
  assert.ok(sessionId, 'the session of the previous test ran');
  const s = sessionId;
  const [w1, w2, w3, fc, editor] = await Promise.all([
    resultOf(`${s}.1`), resultOf(`${s}.2`), resultOf(`${s}.3`), resultOf(`${s}.1.1`), resultOf(s),
  ]);
  const paragraphs = (text: string) => text.split('\n\n');
  const redactWords = (text: string, from: number, to: number, marker: string) => {
    const words = text.split(' ');
    return [...words.slice(0, from), ...(marker ? [marker] : []), ...words.slice(to)].join(' ');
  };
  parts = {
    section2b: { text: paragraphs(w2!.body!)[2]!, scope: `${s}.2` },
    intro: { text: paragraphs(editor!.report!)[0]!, scope: s },
    section1: { text: redactWords(paragraphs(w1!.body!)[0]!, 20, 30, '[REDACTED]'), scope: `${s}.1` },
    human: { text: 'Before we sign off, someone outside the team should read this once more and tell us plainly whether the argument holds together.', scope: null },
    // The fact checker's note travels verbatim through the writer's section and the editor's report.
    note: { text: paragraphs(editor!.report!).find((p) => paragraphs(fc!.note!).includes(p))!, scope: `${s}.1.1` },
    section3: { text: redactWords(paragraphs(w3!.body!)[1]!, 6, 15, ''), scope: `${s}.3` },
    section2a: { text: paragraphs(w2!.body!)[0]!, scope: `${s}.2` },
  };
  finalText = Object.values(parts).map((p) => p.text).join('\n\n');

  const report = await rt.client.attribute(s, finalText, { key: KEY });
  for (const [name, part] of Object.entries(parts)) {
    const found = scopesOf(report, finalText, part.text);
    const shown = report.segments.map((seg) => `${seg.scopeId} ${JSON.stringify(finalText.slice(seg.start, seg.start + 50))}`);
    assert.deepEqual(found, [part.scope], `${name} is attributed to ${part.scope}; segments:\n${shown.join('\n')}`);
  }
  assert.equal(report.segments.length, Object.keys(parts).length, 'one segment per part');
  const note = report.segments.find((seg) => seg.scopeId === `${s}.1.1`)!;
  assert.equal(note.agent, 'factchecker');
  assert.deepEqual(note.alsoIn.map((o) => o.scopeId), [s, `${s}.1`], 'the quoting scopes are named');
  const section1 = report.segments.find((seg) => seg.scopeId === `${s}.1`)!;
  assert.equal(section1.redactions, 1);
  assert.deepEqual(section1.kinds, ['llm_output'], 'the writer\'s text came from its model call');
  const confidences = report.segments.map((seg) => `${seg.scopeId}: ${seg.confidence}`).join(', ');
  // Shingles across a redaction's seam match nothing, so edited segments score lower.
  const intact = report.segments.filter((seg) => seg.scopeId && seg.redactions === 0 && seg !== section1);
  assert.ok(intact.every((seg) => seg.confidence! >= 0.9), `verbatim segments match most fingerprints (${confidences})`);
  assert.ok(section1.confidence! >= 0.6, `a redacted segment still matches most (${confidences})`);
});

test('an output fingerprint row naming another agent than its scope ran is credited to the scope\'s agent, and said', { skip }, async () => {
  assert.ok(finalText, 'the previous test built the text');
  const s = sessionId;
  const table = `"${rt.schema}".output_fingerprints`;
  const [{ agent }] = (await sql<{ agent: string }>(`SELECT agent FROM ${table} WHERE scope_id = $1 LIMIT 1`, [`${s}.2`])) as [{ agent: string }];
  await testSql(`UPDATE ${table} SET agent = 'mallory' WHERE scope_id = $1`, [`${s}.2`]);
  try {
    const report = await rt.client.attribute(s, finalText, { key: KEY });
    const credited = report.segments.filter((seg) => seg.scopeId === `${s}.2`).map((seg) => seg.agent);
    assert.ok(credited.length > 0 && credited.every((a) => a === agent), `credited to ${credited.join(', ')}`);
    assert.ok(report.warnings.some((w) => w.includes(`names agent mallory, but its scope ${s}.2 was run by ${agent}`)), report.warnings.join('\n'));
  } finally {
    await testSql(`UPDATE ${table} SET agent = $2 WHERE scope_id = $1`, [`${s}.2`, agent]);
  }
});

test('verify holds every fingerprint row to the output in history: rows deleted, rewritten, moved or added are named', { skip }, async () => {
  const session = await rt.client.startSession('editor', { input: { seed: 11 } });
  await session.result();
  await rt.worker.recorder.sealer.drain();
  const s = session.sessionId;
  // verify reads the workers' key as a reader would: from the environment.
  const saved = process.env.SCOPETRAIL_FINGERPRINT_KEY;
  process.env.SCOPETRAIL_FINGERPRINT_KEY = KEY.bytes.toString('hex');
  after(() => {
    if (saved === undefined) delete process.env.SCOPETRAIL_FINGERPRINT_KEY;
    else process.env.SCOPETRAIL_FINGERPRINT_KEY = saved;
  });
  const clean = await rt.client.verify(s);
  assert.deepEqual(clean.problems, []);
  assert.equal(clean.fingerprintsChecked, 8, 'five agent outputs and three LLM outputs');

  const t = `"${rt.schema}".output_fingerprints`;
  const source = async (scope: string, kind: string) =>
    (await sql<{ source_id: string }>(`SELECT DISTINCT source_id FROM ${t} WHERE session_id = $1 AND scope_id = $2 AND source_kind = $3`, [s, scope, kind]))[0]!.source_id;
  const deleted = await source(`${s}.1`, 'llm_output');
  const rewritten = await source(`${s}.2`, 'llm_output');
  await testSql(`DELETE FROM ${t} WHERE source_id = $1`, [deleted]);
  await testSql(`UPDATE ${t} SET fingerprint = '0000000000000000' WHERE source_id = $1 AND position = (SELECT min(position) FROM ${t} WHERE source_id = $1)`, [rewritten]);
  await testSql(`UPDATE ${t} SET agent = 'mallory' WHERE source_id = $1`, [`${s}.3`]);
  // A forged output credited to the root: rows of a source history never held.
  await testSql(
    `INSERT INTO ${t} (namespace, session_id, scope_id, source_id, source_kind, agent, produced_at, fingerprint, position, words, key_id, session_started_at)
     SELECT namespace, session_id, scope_id, source_id || '-forged', source_kind, agent, produced_at, fingerprint, position, words, key_id, session_started_at
       FROM ${t} WHERE source_id = $1`,
    [s],
  );
  const report = await rt.client.verify(s);
  assert.deepEqual(
    report.problems.map((p) => [p.problem, p.recordId]).sort(),
    [[ 'fingerprint_changed', `${s}-forged`], ['fingerprint_changed', `${s}.3`], ['fingerprint_changed', deleted], ['fingerprint_changed', rewritten]].sort(),
  );
  const detail = (id: string) => report.problems.find((p) => p.recordId === id)!.detail;
  assert.match(detail(deleted), /has no fingerprint rows, though history holds it/);
  assert.match(detail(rewritten), /do not match its text in history \(1 missing, 1 not from it\)/);
  assert.match(detail(`${s}.3`), /by mallory/);
  assert.match(detail(`${s}-forged`), /which history does not hold/);
  const cli = await runCliFor(rt, ['verify', s]);
  assert.equal(cli.code, 3, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /FAILED: 4 problem/);
  // Without the workers' key, the rows cannot be held to anything: not a finding, and not counted.
  process.env.SCOPETRAIL_FINGERPRINT_KEY = OTHER_KEY.bytes.toString('hex');
  const unkeyed = await rt.client.verify(s);
  assert.deepEqual([unkeyed.problems, unkeyed.fingerprintsChecked], [[], 0]);
  // A key that is set but unusable is a misconfiguration, not "no key": verify must not skip the check and say clean.
  process.env.SCOPETRAIL_FINGERPRINT_KEY = 'short';
  await assert.rejects(rt.client.verify(s), /invalid fingerprint key in \$SCOPETRAIL_FINGERPRINT_KEY/);
  const badKey = await runCliFor(rt, ['verify', s]);
  assert.equal(badKey.code, 1, badKey.stdout + badKey.stderr);
  assert.match(badKey.stderr, /invalid fingerprint key in \$SCOPETRAIL_FINGERPRINT_KEY/);
});

test('a different key matches nothing and says so; `scopetrail attribute` prints the table and --json', { skip }, async () => {
  assert.ok(finalText, 'the previous test built the text');
  await assert.rejects(rt.client.attribute(sessionId, finalText, { key: OTHER_KEY }), (err: Error) => {
    assert.match(err.message, new RegExp(`fingerprinted with key id ${KEY.id}, but the key from another key has id ${OTHER_KEY.id}`));
    return true;
  });

  const file = join(mkdtempSync(join(tmpdir(), 'scopetrail-attr-')), 'final answer.txt');
  writeFileSync(file, finalText);
  const saved = process.env.SCOPETRAIL_FINGERPRINT_KEY;
  const cli = async (...args: string[]) => {
    const run = await runCliFor(rt, args);
    return { code: run.code, out: run.stdout, err: run.stderr };
  };
  try {
    process.env.SCOPETRAIL_FINGERPRINT_KEY = KEY.bytes.toString('base64');
    const json = await cli('attribute', sessionId, file, '--json');
    assert.equal(json.code, 0, json.err);
    const report = JSON.parse(json.out) as AttributionReport;
    assert.deepEqual(
      report.segments.map((seg) => seg.scopeId),
      Object.values(parts).map((p) => p.scope),
    );
    const table = await cli('attribute', sessionId, file);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /#\s+chars\s+text\s+agent\s+scope\s+conf\s+note/);
    assert.match(table.out, /factchecker .* also in /);
    assert.match(table.out, /unattributed .*matches no recorded output/);

    process.env.SCOPETRAIL_FINGERPRINT_KEY = OTHER_KEY.bytes.toString('hex');
    const wrong = await cli('attribute', sessionId, file);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /fingerprinted with key id .* nothing can match/);
    process.env.SCOPETRAIL_FINGERPRINT_KEY = 'short';
    const bad = await cli('attribute', sessionId, file);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /invalid fingerprint key in \$SCOPETRAIL_FINGERPRINT_KEY/);
  } finally {
    if (saved === undefined) delete process.env.SCOPETRAIL_FINGERPRINT_KEY;
    else process.env.SCOPETRAIL_FINGERPRINT_KEY = saved;
  }
  const missing = await cli('attribute', sessionId, join(tmpdir(), 'no-such-file.txt'));
  assert.equal(missing.code, 2);
  assert.match(missing.err, /cannot read <file> .*no such file/);
});

test('the example session: the reviewer\'s answer is traced to the orchestrator\'s model call it quotes', { skip }, async () => {
  const example = await startExampleRuntime({ toolOptions: { latencyMs: 20 }, fingerprintKey: KEY });
  try {
    const { sessionId: sid, result } = await runExampleSession(example, `provenance ${Date.now()}`);
    const [row] = await sql<{ n: string }>(
      `SELECT count(DISTINCT scope_id) AS n FROM "${example.schema}".output_fingerprints WHERE session_id = $1`,
      [sid],
    );
    assert.ok(Number(row!.n) >= 4, `fingerprints for most scopes (${row!.n})`);
    const answer = (result as { answer: string }).answer;
    const report = await example.client.attribute(sid, answer, { key: KEY });
    const quoted = report.segments.find((seg) => seg.scopeId === sid);
    assert.ok(quoted, `the quoted summary is attributed to the orchestrator: ${JSON.stringify(report.segments)}`);
    assert.equal(quoted.agent, 'orchestrator');
    assert.equal(quoted.kinds[0], 'llm_output');
    assert.ok(quoted.alsoIn.some((o) => o.scopeId === `${sid}~1`), 'the reviewer quoting it is named');
  } finally {
    await example.stop();
  }
});
