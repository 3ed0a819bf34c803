/**
 * Someone who can write the tables rewrites a sealed session: a failed scope made to look
 * successful, an action forged into it, another deleted. status, root-cause, footprint and
 * actions answer from those rows; asked with `checkSeals` (the CLI always asks) each says the
 * rows do not match their seals, and the CLI exits 3 with a warning on stderr instead of
 * printing the altered rows as fact. An untouched session says nothing and exits 0.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { usesPglite, type TestRuntime } from '../helpers/runtime';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { runCliFor } from '../helpers/cli';
import { testSql } from '../helpers/test-sql';
import { touchedProved } from '../../index';
import { handleApi } from '../../client/ui-api';

/** The dashboard's answer for a session, as its API serves it. */
async function dashboardSession(sid: string): Promise<{ status: number; body: any }> {
  return handleApi({ client: rt.client, temporalAddress: rt.temporal.address }, 'GET', new URL(`http://localhost/api/sessions/${sid}`));
}

const skip = usesPglite() && 'tampers through the Postgres server';
let rt: TestRuntime;

before(async () => {
  if (skip) return;
  rt = await startExampleRuntime({ toolOptions: { latencyMs: 20 } });
});
after(async () => rt?.stop());

/** A session run to its end with every scope sealed: tampering before that would be sealed in. */
async function sealedSession(question: string): Promise<string> {
  const { sessionId } = await runExampleSession(rt, question);
  await rt.worker.recorder.sealer.drain();
  for (const deadline = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 100))) {
    const { chains } = await rt.store.chainsOfSession(sessionId);
    if (chains.length > 0 && chains.every((c) => c.chainLength !== null)) return sessionId;
    assert.ok(Date.now() < deadline, `session ${sessionId} was not sealed in time`);
  }
}

/** The four commands, each on the scope (or session) it answers about. */
const commands = (sid: string): string[][] => [
  ['status', `${sid}.3`],
  ['root-cause', sid],
  ['footprint', sid],
  ['actions', `${sid}.2`],
];

test('an untouched session: every answer carries empty sealProblems and the CLI exits 0 with no warning', { skip }, async () => {
  const sid = await sealedSession('Is this record whole?');
  assert.deepEqual((await rt.client.status(`${sid}.3`, { checkSeals: true })).sealProblems, []);
  assert.deepEqual((await rt.client.footprint(sid, { checkSeals: true })).sealProblems, []);
  assert.deepEqual((await rt.client.rootCause(sid, { checkSeals: true })).sealProblems, []);
  assert.deepEqual((await rt.client.actionsUnder(`${sid}.2`, { checkSeals: true })).sealProblems, []);
  // Without the option the answers keep their shapes.
  assert.ok(Array.isArray(await rt.client.actionsUnder(`${sid}.2`)));
  assert.equal((await rt.client.status(`${sid}.3`)).sealProblems, undefined);
  for (const args of commands(sid)) {
    const run = await runCliFor(rt, args);
    assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    assert.doesNotMatch(run.stderr, /seal/, args.join(' '));
    const json = await runCliFor(rt, [...args, '--json']);
    assert.equal(json.code, 0, `${args.join(' ')} --json: ${json.stderr}`);
    assert.deepEqual(JSON.parse(json.stdout).sealProblems, [], `${args.join(' ')} --json`);
  }
  assert.deepEqual((await dashboardSession(sid)).body.sealProblems, [], "the dashboard's session answer says nothing either");
  const touched = await rt.client.wasTouched(sid, 'db:kv/secret');
  assert.equal(touched.proved, true, 'a complete no with nothing running is proved');
  assert.equal(touched.proved, touchedProved(touched));
});

test('a status rewritten, a row forged and a row deleted after sealing: each answer says its rows do not match their seals, and the CLI exits 3', { skip }, async () => {
  const sid = await sealedSession('Can the record be rewritten?');
  const t = `"${rt.schema}"`;
  const before = await rt.client.status(`${sid}.3`);
  assert.equal(before.scope.status, 'error', 'the translator failed');
  assert.ok(await rt.client.rootCause(sid), 'a root cause before');
  // The failed translator made to look successful.
  assert.equal((await testSql(`UPDATE ${t}.scopes SET status = 'success', failed_by = NULL WHERE scope_id = $1`, [`${sid}.3`])).rowCount, 1);
  // A write to a secret forged into the analyst's scope, a copy of a real row.
  const forged = `${sid}.2/a99#1`;
  const copied = await testSql(
    `INSERT INTO ${t}.actions SELECT (jsonb_populate_record(NULL::${t}.actions, to_jsonb(r) || $2::jsonb)).* FROM ${t}.actions r WHERE action_id = $1`,
    [`${sid}.2/a1#1`, JSON.stringify({ action_id: forged, resources: [{ uri: 'db:kv/secret', mode: 'write' }] })],
  );
  assert.equal(copied.rowCount, 1);
  // The analyst's failed fetch erased.
  assert.equal((await testSql(`DELETE FROM ${t}.actions WHERE action_id = $1`, [`${sid}.2/a2#1`])).rowCount, 1);

  const status = await rt.client.status(`${sid}.3`, { checkSeals: true });
  assert.equal(status.scope.status, 'success', 'the answer is read from the rewritten row');
  const named = status.sealProblems.map((p) => `${p.problem} ${p.recordId.slice(sid.length)}`).sort();
  assert.ok(named.includes('scope_changed .3'), named.join(', '));
  assert.ok(named.includes(`inserted .2/a99#1`), named.join(', '));
  assert.ok(named.some((n) => /^removed \.2/.test(n)), named.join(', '));
  assert.deepEqual(new Set(status.sealProblems.map((p) => p.scopeId)), new Set([`${sid}.2`, `${sid}.3`]));
  for (const answer of [
    await rt.client.footprint(sid, { checkSeals: true }),
    await rt.client.rootCause(sid, { checkSeals: true }),
    await rt.client.actionsUnder(`${sid}.2`, { checkSeals: true }),
  ]) {
    assert.deepEqual(answer.sealProblems, status.sealProblems, 'the same check of the same session');
  }

  const rows = new Set(status.sealProblems.map((p) => `${p.scopeId} ${p.recordId}`)).size;
  for (const args of commands(sid)) {
    const run = await runCliFor(rt, args);
    assert.equal(run.code, 3, `${args.join(' ')}: ${run.stdout}\n${run.stderr}`);
    assert.ok(run.stdout.length > 0, `${args.join(' ')} still prints its answer`);
    assert.match(
      run.stderr,
      new RegExp(`WARNING: ${rows} row\\(s\\) of session ${sid} do not match their seals \\(scopes ${sid}\\.2, ${sid}\\.3\\):.*scopetrail verify ${sid}`),
      args.join(' '),
    );
    const json = await runCliFor(rt, [...args, '--json']);
    assert.equal(json.code, 3, `${args.join(' ')} --json: ${json.stderr}`);
    assert.deepEqual(JSON.parse(json.stdout).sealProblems, status.sealProblems, `${args.join(' ')} --json`);
    assert.match(json.stderr, /do not match their seals/);
  }
  // The dashboard's session page is told, and shows it above the tree.
  const page = await dashboardSession(sid);
  assert.equal(page.status, 200);
  assert.deepEqual(page.body.sealProblems, status.sealProblems);
  const footprint = await runCliFor(rt, ['footprint', sid]);
  assert.match(footprint.stdout, /db:kv\/secret/, 'the forged write is in the answer, which the warning then disowns');

  const touched = await rt.client.wasTouched(sid, 'db:kv/secret');
  assert.equal(touched.complete, false);
  assert.equal(touched.proved, false);
});
