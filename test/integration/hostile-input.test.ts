/**
 * Hostile input against a real runtime (Temporal dev server + Postgres):
 *  - SQL-injection and wildcard payloads through every ScopeClient method and CLI
 *    command that takes a string: each answers with a clear error or an empty result,
 *    and nothing in the store changes;
 *  - garbage `scopetrail.handoff` signals sent raw to a running agent: each is recorded
 *    as a failed `signal` action naming the field, the agent neither fails nor hands
 *    off, and a valid request afterwards does hand off;
 *  - a session id the client refuses: no workflow, no rows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import pg from 'pg';
import { startTestRuntime, TEST_DATABASE_URL, usesPglite, type TestRuntime } from '../helpers/runtime';
import { runCliFor } from '../helpers/cli';
import { createFixtureTools } from '../fixtures/tools';
import { guarded, waiter } from '../fixtures/agents';
import { COMMANDS } from '../../client/cli-commands';
import { InvalidArgumentError, UnknownIdError } from '../../client/scope-client';
import { HANDOFF_SIGNAL, HandoffRequest, type ActionRecord } from '../../cim/schemas';
import { digest } from '../../store/digest';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// SQL injection through the client and the CLI
// ---------------------------------------------------------------------------------------

describe('SQL injection and wildcards in every string argument', () => {
  let rt: TestRuntime;
  let sid: string;
  let before_: { session: [number, number]; all: [number, number] };

  before(async () => {
    rt = await startExampleRuntime({ toolOptions: { latencyMs: 20 } });
    ({ sessionId: sid } = await runExampleSession(rt, 'Is it injectable?', 'answer'));
    before_ = await counts(rt, sid);
  });
  after(async () => rt?.stop());

  function payloads(): string[] {
    return [
      "'; DROP TABLE scopetrail.actions; --",
      `'; DROP TABLE "${rt.schema}".actions; --`,
      `${sid}'; DELETE FROM "${rt.schema}".scopes; --`,
      "' OR '1'='1",
      "' OR 1=1 --",
      '" OR ""="',
      "') OR ('a'='a",
      '%',
      '_',
      `${sid}%`,
      `${sid.slice(0, -1)}_`,
      '\\',
      `${sid}\\`,
      '$1',
      "$1'; --",
      '$$; DROP TABLE x; $$',
      '\u2019 OR \u20181\u2019=\u20181',
      '\u02bc OR 1=1 --',
      '\uff07 OR 1=1 --',
      '\u0000',
      `${sid}\u0000`,
      `x\u0000'; DROP TABLE "${rt.schema}".actions; --`,
    ];
  }

  interface Violation {
    call: string;
    payload: string;
    outcome: string;
  }

  /** A clear refusal: the client's own errors, which name the argument or the unknown id. */
  function clearError(err: unknown): boolean {
    return err instanceof UnknownIdError || err instanceof InvalidArgumentError;
  }

  async function judge(
    violations: Violation[],
    call: string,
    payload: string,
    run: () => Promise<unknown>,
    emptyAnswer: ((value: unknown) => boolean) | null,
    extraClear: (err: unknown) => boolean = () => false,
  ): Promise<void> {
    try {
      const value = await run();
      if (!emptyAnswer) violations.push({ call, payload, outcome: `answered ${JSON.stringify(value)?.slice(0, 200)} for an id that does not exist` });
      else if (!emptyAnswer(value)) violations.push({ call, payload, outcome: `answered with data: ${JSON.stringify(value)?.slice(0, 300)}` });
    } catch (err) {
      if (!clearError(err) && !extraClear(err)) {
        violations.push({ call, payload, outcome: `${(err as Error)?.name}: ${(err as Error)?.message ?? String(err)}` });
      }
    }
  }

  test('every ScopeClient method answers a clear error or an empty result, and leaks no row', async () => {
    const c = rt.client;
    const violations: Violation[] = [];
    const isEmptyList = (v: unknown) => Array.isArray(v) && v.length === 0;
    const notTouched = (v: unknown) => {
      const r = v as { touched: boolean; actions: unknown[]; denied: unknown[] };
      return r.touched === false && r.actions.length === 0 && r.denied.length === 0;
    };
    const notFound = (err: unknown) => (err as Error)?.name === 'WorkflowNotFoundError';
    for (const p of payloads()) {
      await judge(violations, 'scopeTree(p)', p, () => c.scopeTree(p), null);
      await judge(violations, 'scope(p)', p, () => c.scope(p), null);
      await judge(violations, 'actionsUnder(p)', p, () => c.actionsUnder(p), null);
      await judge(violations, 'actionsUnder(p, descendants)', p, () => c.actionsUnder(p, { descendants: true }), null);
      await judge(violations, 'actionsUnder(sid, { tool: p })', p, () => c.actionsUnder(sid, { tool: p }), isEmptyList);
      await judge(violations, 'actionsUnder(sid, { descendants, tool: p })', p, () => c.actionsUnder(sid, { descendants: true, tool: p }), isEmptyList);
      await judge(violations, 'actionsUnder(sid, { kinds: [p] })', p, () => c.actionsUnder(sid, { kinds: [p as never] }), null);
      await judge(violations, 'actionsUnder(sid, { kinds: [tool_call, p] })', p, () => c.actionsUnder(sid, { descendants: true, kinds: ['tool_call', p as never] }), null);
      await judge(violations, 'actionsOfSession(p)', p, () => c.actionsOfSession(p), isEmptyList);
      await judge(violations, 'rootCause(p)', p, () => c.rootCause(p), null);
      await judge(violations, 'footprint(p)', p, () => c.footprint(p), null);
      await judge(violations, 'wasTouched(p, api:web-search)', p, () => c.wasTouched(p, 'api:web-search'), null);
      await judge(violations, 'wasTouched(sid, p)', p, () => c.wasTouched(sid, p), notTouched);
      await judge(violations, 'status(p)', p, () => c.status(p), null);
      await judge(violations, 'drift(p)', p, () => c.drift(p), isEmptyList);
      await judge(violations, 'timeline(p)', p, () => c.timeline(p), null);
      await judge(violations, 'sessions({ agent: p })', p, () => c.sessions({ agent: p }), isEmptyList);
      await judge(violations, 'sessions({ since: p })', p, () => c.sessions({ since: p }), null);
      await judge(violations, 'sessions({ status: p })', p, () => c.sessions({ status: p as never }), null);
      await judge(violations, 'reconcile(p)', p, () => c.reconcile(p), null);
      await judge(violations, 'requestHandoff(p, …)', p, () => c.requestHandoff(p, { to: 'reviewer', reason: 'hostile' }), null, notFound);
      // Methods newer than this test that take a session id are held to the same rule.
      for (const name of ['verify'] as const) {
        const method = (c as unknown as Partial<Record<string, (id: string) => Promise<unknown>>>)[name];
        if (typeof method === 'function') await judge(violations, `${name}(p)`, p, () => method.call(c, p), null);
      }
    }
    assert.deepEqual(violations, [], `${violations.length} unclear answers:\n${violations.map((v) => `  ${v.call} with ${JSON.stringify(v.payload)}: ${v.outcome}`).join('\n')}`);
  });

  test('every CLI command exits 2 (bad argument), 1 naming the unknown id, or 0 with an empty answer', { skip: usesPglite() && 'the CLI reads Postgres by URL' }, async () => {
    async function cli(...args: string[]) {
      const run = await runCliFor(rt, args);
      return { code: run.code, out: run.stdout, err: run.errLines };
    }
    const violations: Violation[] = [];
    const unknownId = /: no (session|scope|agent) "/;
    const emptyJson = (pick: (doc: Record<string, unknown>) => boolean) => (out: string) => {
      try {
        return pick(JSON.parse(out) as Record<string, unknown>);
      } catch {
        return false;
      }
    };
    const cases: Array<{ argv: (p: string) => string[]; empty?: (out: string) => boolean }> = [
      { argv: (p) => ['tree', p] },
      { argv: (p) => ['scope', p] },
      { argv: (p) => ['actions', p] },
      { argv: (p) => ['actions', p, '--descendants'] },
      { argv: (p) => ['actions', sid, `--tool=${p}`, '--json'], empty: emptyJson((d) => Array.isArray(d.actions) && d.actions.length === 0) },
      { argv: (p) => ['actions', sid, '--descendants', `--tool=${p}`, '--json'], empty: emptyJson((d) => Array.isArray(d.actions) && d.actions.length === 0) },
      { argv: (p) => ['actions', sid, `--kind=${p}`] },
      { argv: (p) => ['root-cause', p] },
      { argv: (p) => ['footprint', p] },
      { argv: (p) => ['touched', p, 'api:web-search'] },
      { argv: (p) => ['touched', sid, p, '--json'], empty: emptyJson((d) => d.touched === false) },
      { argv: (p) => ['status', p] },
      { argv: (p) => ['drift', p] },
      { argv: (p) => ['timeline', p] },
      { argv: (p) => ['sessions', `--agent=${p}`, '--json'], empty: emptyJson((d) => Array.isArray(d.sessions) && d.sessions.length === 0) },
      { argv: (p) => ['sessions', `--since=${p}`] },
      { argv: (p) => ['sessions', `--status=${p}`] },
      { argv: (p) => ['reconcile', p] },
      // Every other command that takes a <session> or <scope>, present or added later.
      ...Object.entries(COMMANDS)
        .filter(([name, c]) => /^<(session|scope)>$/.test(c.args.trim()) && !['tree', 'scope', 'root-cause', 'status', 'timeline', 'reconcile'].includes(name))
        .map(([name]) => ({ argv: (p: string) => [name, p] })),
    ];
    for (const p of payloads()) {
      for (const { argv, empty } of cases) {
        const args = argv(p);
        const r = await cli(...args);
        const call = `scopetrail ${args.map((a) => (a === p ? '<p>' : a.replace(p, '<p>'))).join(' ')}`;
        const ok =
          (r.code === 2 && r.err.length === 1 && r.err[0]!.startsWith('scopetrail')) ||
          (r.code === 1 && r.err.length === 1 && unknownId.test(r.err[0]!)) ||
          (r.code === 0 && empty !== undefined && empty(r.out));
        if (!ok) violations.push({ call, payload: p, outcome: `exit ${r.code}: ${JSON.stringify(r.err)} ${r.out.slice(0, 200)}` });
      }
    }
    assert.deepEqual(violations, [], `${violations.length} unclear answers:\n${violations.map((v) => `  ${v.call} with ${JSON.stringify(v.payload)}: ${v.outcome}`).join('\n')}`);
  });

  test('after all of it: the same rows, zero reconcile differences, and every table still there', async () => {
    await rt.worker.recorder.drain();
    assert.deepEqual(await counts(rt, sid), before_, 'row counts (session scopes/actions, all scopes/actions) unchanged');
    const report = await rt.client.reconcile(sid);
    assert.deepEqual(report.differences, []);
    const tree = await rt.client.scopeTree(sid);
    assert.equal(tree.size, 7);
    if (!usesPglite()) {
      const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await db.connect();
      try {
        const { rows } = await db.query<{ table_name: string }>(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
          [rt.schema],
        );
        const tables = rows.map((r) => r.table_name);
        for (const t of ['actions', 'manifests', 'migrations', 'payloads', 'scopes']) assert.ok(tables.includes(t), `table ${t} exists: ${tables.join(', ')}`);
      } finally {
        await db.end();
      }
    }
  });
});

async function counts(rt: TestRuntime, sid: string): Promise<{ session: [number, number]; all: [number, number] }> {
  const [scopes, actions, allScopes, allActions] = await Promise.all([
    rt.store.scopesOfSession(sid),
    rt.store.actionsOfSession(sid),
    rt.store.allScopes(),
    rt.store.actionsOfAgent(),
  ]);
  return { session: [scopes.length, actions.length], all: [allScopes.length, allActions.length] };
}

// ---------------------------------------------------------------------------------------
// Garbage handoff signals, and session ids that must be refused
// ---------------------------------------------------------------------------------------

describe('the handoff signal and the session id from outside', () => {
  let fx: TestRuntime;
  before(async () => {
    fx = await startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });
  });
  after(async () => fx?.stop());

  /** Signal actions of a session once the store holds at least `n` of them. */
  async function signalActions(sessionId: string, n: number, timeoutMs = 30_000): Promise<ActionRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await fx.worker.recorder.drain();
      const signals = (await fx.store.actionsOfSession(sessionId)).filter((a) => a.kind === 'signal');
      if (signals.length >= n || Date.now() > deadline) return signals;
      await sleep(100);
    }
  }

  const garbageField = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constantFrom('', 'not an agent!', "chainC'; DROP TABLE scopetrail.actions; --", '1chainC', 'chain-C', 'x'.repeat(101), 'y'.repeat(2001)),
  );
  const garbage = fc
    .oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ to: garbageField, reason: garbageField, input: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [], noNullPrototype: true }),
      fc.record({ to: fc.constant('chainC'), reason: garbageField }, { noNullPrototype: true }),
      fc.record({ to: garbageField, reason: fc.constant('a valid reason') }, { noNullPrototype: true }),
    )
    // What goes over the wire is JSON.
    .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
    .filter((v) => !HandoffRequest.safeParse(v).success);

  test('garbage handoff signals: each recorded as a failed signal naming the field; no failure, no handoff; then a valid one hands off', async () => {
    const s = await fx.client.startSession(waiter, { input: { steps: 100_000 } });
    const handle = fx.client.temporal.workflow.getHandle(s.sessionId);
    const problems: string[] = [];
    let failure: unknown;
    try {
      const fixed: unknown[] = [null, 42, 'chainC', [], {}, { to: 'chainC' }, { reason: 'no target' }, { to: 'chainC', reason: '' }];
      const generated = fc.sample(garbage, { numRuns: 25 });
      const sent: unknown[] = [...fixed, ...generated];
      await handle.signal(HANDOFF_SIGNAL); // no argument at all
      for (const payload of sent) await handle.signal(HANDOFF_SIGNAL, payload);
      const total = sent.length + 1;

      const signals = await signalActions(s.sessionId, total);
      assert.equal(signals.length, total, 'every signal is recorded');
      const description = await handle.describe();
      assert.equal(description.status.name, 'RUNNING', 'the agent neither failed nor finished');
      assert.equal((await fx.store.scopesOfSession(s.sessionId)).length, 1, 'no handoff happened');

      for (const args of [[] as unknown[], ...sent.map((p) => [p])]) {
        const shown = JSON.stringify(args).slice(0, 80);
        const recorded = signals.filter((a) => a.inputDigest === digest({ args, from: null }));
        const field = HandoffRequest.safeParse(args[0]).error?.issues[0]?.path.join('.') ?? '';
        if (recorded.length === 0) {
          problems.push(`${shown}: no signal action with its digest`);
          continue;
        }
        for (const a of recorded) {
          if (a.status !== 'error') problems.push(`${shown}: status ${a.status}`);
          // The error names the field that is wrong; for a payload that is not an object, the request itself.
          const m = /handoff request: invalid field "([^"]*)"/.exec(a.error ?? '');
          if (!m || m[1] === '') problems.push(`${shown}: error names no field: ${JSON.stringify(a.error)}`);
          else if (field && m[1] !== field) problems.push(`${shown}: names "${m[1]}", not "${field}"`);
        }
      }
    } catch (err) {
      failure = err;
    }

    // Whatever happened above, a valid request must still hand off.
    await fx.client.requestHandoff(s.sessionId, { to: 'chainC', reason: 'a router takes over', input: { hops: ['router'] } });
    assert.deepEqual(await s.result(), ['router', 'C']);
    await fx.worker.recorder.drain();
    const scopes = await fx.store.scopesOfSession(s.sessionId);
    assert.deepEqual(scopes.map((x) => `${x.scopeId}:${x.agent}:${x.kind}:${x.status}`), [
      `${s.sessionId}:waiter:root:success`,
      `${s.sessionId}~1:chainC:handoff:success`,
    ]);
    const actions = await fx.store.actionsOfSession(s.sessionId);
    const accepted = actions.filter((a) => a.kind === 'signal' && a.status === 'success');
    assert.equal(accepted.length, 1, 'exactly one accepted handoff request');
    assert.equal(accepted[0]!.inputDigest, digest({ args: [{ to: 'chainC', reason: 'a router takes over', input: { hops: ['router'] } }], from: null }));
    const handoffs = actions.filter((a) => a.kind === 'handoff');
    assert.deepEqual(handoffs.map((h) => [h.scopeId, h.name, h.targetScopeId]), [[s.sessionId, 'chainC', `${s.sessionId}~1`]]);

    if (failure) throw failure;
    assert.deepEqual(problems, [], `${problems.length} garbage signals recorded wrongly:\n  ${problems.join('\n  ')}`);
  });

  test('startSession with an invalid sessionId is refused naming "sessionId": no workflow, no rows', async () => {
    const before = [(await fx.store.allScopes()).length, (await fx.store.actionsOfAgent()).length];
    const bad = ['has space', 'tilde~1', `${'x'.repeat(151)}`, "x'; DROP TABLE scopetrail.scopes; --", '../etc/passwd', 'tab\there', 'nul\u0000byte', 'ünïcode', ''];
    for (const sessionId of bad) {
      await assert.rejects(
        fx.client.startSession(waiter, { input: { steps: 1 }, sessionId }),
        (err: Error) => {
          assert.ok(err instanceof InvalidArgumentError, `${JSON.stringify(sessionId)}: ${err.name}: ${err.message}`);
          assert.match(err.message, /startSession: invalid field "sessionId"/);
          return true;
        },
      );
      if (sessionId !== '') {
        await assert.rejects(fx.client.temporal.workflow.getHandle(sessionId).describe(), (err: Error) => {
          assert.equal(err.name, 'WorkflowNotFoundError', `${JSON.stringify(sessionId)}: ${err.message}`);
          return true;
        });
      }
      if (!sessionId.includes('\u0000')) assert.deepEqual(await fx.store.scopesOfSession(sessionId), []);
    }
    await fx.worker.recorder.drain();
    assert.deepEqual([(await fx.store.allScopes()).length, (await fx.store.actionsOfAgent()).length], before, 'nothing was written');
  });
});

// ---------------------------------------------------------------------------------------
// A NUL byte in free text that reaches the store
// ---------------------------------------------------------------------------------------

describe('a NUL byte in free text that reaches the store', () => {
  // Postgres (and PGlite) refuse U+0000 in text and in jsonb strings. Free text — an
  // objective, a handoff reason, a resource a tool reports from its input — accepts it at
  // the client, in the signal and in the tool, so it must either be refused there, naming
  // the field, or be stored; it must never leave a record the store can never take,
  // blocking every record after it. Each case gets its own runtime (worker, recorder,
  // spool), so one case cannot poison another.
  const fixtures = () => startTestRuntime({ agents: require.resolve('../fixtures/agents'), tools: Object.values(createFixtureTools().tools) });

  /** Waits until the store holds `n` scopes of the session (or gives up), returns how many it holds. */
  async function recordedScopes(rt: TestRuntime, sessionId: string, n: number): Promise<number> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      await rt.worker.recorder.drain();
      const got = (await rt.store.scopesOfSession(sessionId)).length;
      if (got >= n || Date.now() > deadline) return got;
      await sleep(200);
    }
  }

  /** Then an ordinary session on the same worker: is it recorded, completely? */
  async function nextSessionRecorded(rt: TestRuntime): Promise<string> {
    const next = await rt.client.startSession(waiter, { input: { steps: 1 } });
    await next.result();
    const got = await recordedScopes(rt, next.sessionId, 1);
    if (got !== 1) return `not recorded (recorder: ${rt.worker.recorder.written} written, ${rt.worker.recorder.spooled} spooled)`;
    const diffs = (await rt.client.reconcile(next.sessionId)).differences.length;
    return diffs === 0 ? 'recorded' : `recorded with ${diffs} reconcile differences`;
  }

  test('an objective with a NUL byte is refused naming "objective", or recorded — and recording goes on', async () => {
    const rt = await fixtures();
    try {
      let accepted: string;
      try {
        const s = await rt.client.startSession(waiter, { input: { steps: 1 }, objective: 'look\u0000here' });
        assert.equal(await s.result(), 'finished without handoff');
        const got = await recordedScopes(rt, s.sessionId, 1);
        accepted = got === 1 ? 'recorded' : 'accepted but not recorded';
      } catch (err) {
        assert.ok(err instanceof InvalidArgumentError, `${(err as Error).name}: ${(err as Error).message}`);
        assert.match(err.message, /invalid field "objective"/);
        accepted = 'refused';
      }
      const next = await nextSessionRecorded(rt);
      assert.ok(accepted !== 'accepted but not recorded' && next === 'recorded', `the NUL session was ${accepted}; the next ordinary session was ${next}`);
    } finally {
      await rt.stop();
    }
  });

  test('a handoff reason with a NUL byte is refused naming "reason", or the handoff is recorded — and recording goes on', async () => {
    const rt = await fixtures();
    try {
      const s = await rt.client.startSession(waiter, { input: { steps: 100_000 } });
      let accepted: string;
      try {
        await rt.client.requestHandoff(s.sessionId, { to: 'chainC', reason: 'over\u0000to you', input: { hops: [] } });
        assert.deepEqual(await s.result(), ['C']);
        const got = await recordedScopes(rt, s.sessionId, 2);
        accepted = got === 2 ? 'recorded' : `accepted but ${got} of 2 scopes recorded`;
      } catch (err) {
        assert.ok(err instanceof InvalidArgumentError, `${(err as Error).name}: ${(err as Error).message}`);
        assert.match(err.message, /invalid field "reason"/);
        accepted = 'refused';
        await rt.client.temporal.workflow.getHandle(s.sessionId).terminate('test over');
      }
      const next = await nextSessionRecorded(rt);
      assert.ok(!accepted.startsWith('accepted but') && next === 'recorded', `the NUL handoff was ${accepted}; the next ordinary session was ${next}`);
    } finally {
      await rt.stop();
    }
  });

  test('a resource a tool reports from its input, with a NUL byte, is recorded — and recording goes on', async () => {
    // readDataset reports `data:<name>`; the name is the tool's (valid) input, e.g. from a model or a user.
    const rt = await fixtures();
    try {
      const s = await rt.client.startSession(guarded, { input: { dataset: 'public/x\u0000y' } });
      assert.equal(await s.result(), 42);
      const got = await recordedScopes(rt, s.sessionId, 2);
      const read = (await rt.store.actionsOfSession(s.sessionId)).find((a) => a.name === 'readDataset');
      const next = await nextSessionRecorded(rt);
      assert.ok(got === 2 && read !== undefined && next === 'recorded', `the session was ${got === 2 ? '' : 'not '}recorded (readDataset ${read ? 'found' : 'missing'}); the next ordinary session was ${next}`);
      assert.equal(read!.resources.length, 1);
      assert.match(read!.resources[0]!.uri, /^data:public\/x.y$/);
    } finally {
      await rt.stop();
    }
  });
});
