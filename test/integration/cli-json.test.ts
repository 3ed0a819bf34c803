/**
 * Every `scopetrail` command takes --json and prints machine-readable JSON on stdout:
 * query commands one document, long-running commands one JSON line per event, errors
 * an `{ error }` document, all with the usual exit codes. Progress never reaches stdout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TEST_DATABASE_URL, usesPglite, type TestRuntime } from '../helpers/runtime';
import { runCliFor } from '../helpers/cli';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { dropSchema } from '../helpers/drop-schema';
import { runCli } from '../../client/cli';
import { COMMANDS } from '../../client/cli-commands';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver';
import { scope as scopeRow } from '../unit/fixtures';

const ROOT = join(__dirname, '..', '..');
let rt: TestRuntime;
let sid: string;
let receiver: OtlpReceiver;

before(async () => {
  rt = await startExampleRuntime();
  receiver = await startOtlpReceiver();
  ({ sessionId: sid } = await runExampleSession(rt, 'Which commands speak JSON?', 'answer'));
});
after(async () => {
  await receiver?.close();
  await rt?.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], stderr?: { isTTY: boolean; write(t: string): void; columns?: number }): Promise<Run> {
  return runCliFor(rt, args, stderr);
}

/** Runs bin/scopetrail.js as a user would; `until` sends SIGINT once stdout satisfies it. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv, until?: (stdout: string) => boolean | Promise<boolean>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'scopetrail.js'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!until || signalled) return;
      void Promise.resolve(until(stdout)).then((ready) => {
        if (!ready || signalled) return;
        signalled = true;
        child.kill('SIGINT');
      }, reject);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

function parsed(run: Run, label: string): any {
  try {
    return JSON.parse(run.stdout);
  } catch (err) {
    assert.fail(`${label}: stdout is not one JSON document (${(err as Error).message}):\n${run.stdout.slice(0, 500)}\nstderr: ${run.stderr}`);
  }
}

describe('--json', { skip: usesPglite() && 'the CLI reads Postgres by URL' }, () => {
  test('every query command prints one JSON document on stdout', async () => {
    const textFile = join(mkdtempSync(join(tmpdir(), 'scopetrail-cli-json-')), 'answer.txt');
    writeFileSync(textFile, 'Durable workflows bind each delegation to its own scope, so every tool call can be traced.\n');
    const researcher = `${sid}.1`;
    // One case per command; a command added without one fails the last assertion.
    const cases: Record<string, { args: string[]; code?: number; check: (doc: any) => void }> = {
      sessions: { args: ['sessions'], check: (d) => assert.ok(d.sessions.some((s: any) => s.sessionId === sid)) },
      'root-cause': { args: ['root-cause', sid], check: (d) => assert.equal(d.rootCause.agent, 'translator') },
      footprint: { args: ['footprint', sid], check: (d) => assert.ok(d.resources.some((r: any) => r.uri === 'api:web-search')) },
      touched: { args: ['touched', sid, 'db:notes*'], check: (d) => assert.deepEqual([d.touched, d.complete], [false, true]) },
      status: { args: ['status', sid], check: (d) => assert.equal(d.scope.status, 'degraded') },
      roles: { args: ['roles'], check: (d) => assert.ok(d.roles.some((r: any) => r.agent === 'orchestrator' && r.orchestrator)) },
      drift: { args: ['drift'], check: (d) => assert.ok(Array.isArray(d.drift)) },
      timeline: { args: ['timeline', sid], check: (d) => assert.equal(d.events[0].type, 'scope_started') },
      verify: { args: ['verify', sid], check: (d) => assert.deepEqual(d.problems, []) },
      'verify-usage': { args: ['verify-usage'], check: (d) => assert.deepEqual([d.namespace, d.differences, d.repaired], ['default', [], false]) },
      reconcile: { args: ['reconcile', sid], check: (d) => assert.deepEqual([d.expected.actions, d.differences.length], [19, 0]) },
      tree: { args: ['tree', sid], check: (d) => assert.deepEqual([d.scopes, d.roots[0].agent], [7, 'orchestrator']) },
      actions: { args: ['actions', researcher, '--descendants'], check: (d) => assert.ok(d.actions.length > 0) },
      scope: { args: ['scope', researcher], check: (d) => assert.equal(d.agent, 'researcher') },
      attribute: { args: ['attribute', sid, textFile], check: (d) => assert.equal(d.sessionId, sid) },
      'export-otel': { args: ['export-otel', sid, '--endpoint', receiver.tracesUrl], check: (d) => assert.equal(d.total, 20) },
      'export-ocsf': { args: ['export-ocsf', sid, '--out', join(dirname(textFile), 'ocsf.jsonl')], check: (d) => assert.deepEqual([d.sessions, d.events], [1, 19]) },
      init: {
        args: ['init', join(dirname(textFile), 'starter')],
        check: (d) => assert.ok(d.files.includes('package.json') && d.files.includes('src/agents.ts') && d.dir.endsWith('starter')),
      },
      // Its success is in agent-upgrade.test.ts, against workers of two builds; here, a deployment no worker serves.
      deployment: {
        args: ['deployment', 'set-current', 'no-such-deployment', 'v1', '--wait', '0'],
        code: 1,
        check: (d) => assert.deepEqual([d.error.command, d.error.kind, /no-such-deployment.*could not be set/.test(d.error.message)], ['deployment', 'failure', true]),
      },
      // What it drops is in retention.test.ts; here, a dry run that changes nothing.
      prune: {
        args: ['prune', '--before', '2000-01-01', '--dry-run'],
        check: (d) => assert.deepEqual([d.dryRun, d.months, d.pruned, d.before], [true, [], [], '2000-01-01T00:00:00.000Z']),
      },
      // What a replay writes is in quarantine-replay.test.ts; here, an empty spool folder.
      quarantine: {
        args: ['quarantine', '--spool', dirname(textFile)],
        check: (d) => assert.deepEqual([d.spool, d.files, d.entries], [dirname(textFile), [], []]),
      },
      // Long-running and end-to-end commands are run as processes below.
      worker: { args: [], check: () => undefined },
      ui: { args: [], check: () => undefined },
      dev: { args: [], check: () => undefined },
      run: { args: [], check: () => undefined },
    };
    for (const [name, c] of Object.entries(cases)) {
      if (c.args.length === 0) continue;
      const run = await cli([...c.args, '--json']);
      assert.equal(run.code, c.code ?? 0, `${name}: exit ${run.code}, stderr: ${run.stderr}`);
      c.check(parsed(run, name));
    }
    assert.deepEqual(Object.keys(COMMANDS).filter((n) => !(n in cases)), [], 'every command has a --json case here');
  });

  test('errors are JSON documents on stdout, with the exit codes unchanged', async () => {
    const unknown = await cli(['tree', 'ses-nonexistent', '--json']);
    assert.equal(unknown.code, 1);
    assert.deepEqual(parsed(unknown, 'unknown session').error, {
      command: 'tree', exitCode: 1, kind: 'not_found',
      message: 'no session "ses-nonexistent" in the store; check the id (scopetrail sessions lists them)',
    });
    assert.match(unknown.stderr, /^scopetrail tree: no session "ses-nonexistent"/, 'people still get the sentence on stderr');

    const usage = await cli(['sessions', '--limit', 'many', '--json']);
    assert.equal(usage.code, 2);
    assert.deepEqual(parsed(usage, 'bad flag').error, { command: 'sessions', exitCode: 2, kind: 'usage', message: 'invalid --limit "many": give a positive whole number' });

    const lines: string[] = [];
    const badOption = await runCli(['tree', '--json', '--colour'], { log: (t) => lines.push(t), err: () => undefined });
    assert.equal(badOption, 2);
    const error = JSON.parse(lines.join('\n')).error;
    assert.deepEqual([error.command, error.kind], ['tree', 'usage']);
    assert.match(error.message, /^--colour is not an option of tree \(it takes --database-url, /);

    const missing = await cli(['footprint', '--json']);
    assert.deepEqual([missing.code, parsed(missing, 'missing').error.message], [2, 'missing argument <scope>']);

    const badExample = await cli(['run', 'nope', '--json']);
    assert.deepEqual([badExample.code, parsed(badExample, 'bad example').error.kind], [2, 'usage']);

    // An agent nothing knows of is a mistyped name, not one without drift.
    const noAgent = await cli(['drift', 'nobodyAtAll', '--json']);
    assert.deepEqual([noAgent.code, parsed(noAgent, 'unknown agent').error.kind], [1, 'not_found']);
    assert.match(parsed(noAgent, 'unknown agent').error.message, /^no agent "nobodyAtAll" in the store/);
    const known = await cli(['drift', 'orchestrator', '--json']);
    assert.equal(known.code, 0, known.stderr);

    const ambiguous = await cli(['sessions', '--limit', '-1']);
    assert.equal(ambiguous.code, 2);
    assert.doesNotMatch(ambiguous.stderr, /\\u000a|\n./, 'Node\'s own line breaks are one line, not escapes');
  });

  test('a query of a schema no worker prepared says so, and creates nothing', async () => {
    const typo = `${rt.schema}_typo`;
    const before = await schemaExists(typo);
    assert.equal(before, false);
    for (const args of [['sessions'], ['tree', sid], ['roles']]) {
      const run = await runCliFor({ schema: typo, temporal: rt.temporal }, [...args, '--json']);
      assert.equal(run.code, 1, `${args[0]}: ${run.stdout}`);
      const { error } = parsed(run, args[0]!);
      // Not not_found, which says an id is unknown: no id was looked up anywhere.
      assert.equal(error.kind, 'no_store');
      assert.match(error.message, new RegExp(`no scopetrail store in schema "${typo}" of postgres .*: check --schema and --database-url`));
    }
    assert.equal(await schemaExists(typo), false, 'no schema was created');
  });

  test('tree of a session whose handoff chain is 5 000 scopes long: one JSON document, and the tree for people, without overflowing the stack', async () => {
    const deepId = `deep-${randomBytes(4).toString('hex')}`;
    const base = Date.now() - 60_000;
    const at = (i: number) => new Date(base + i).toISOString();
    const scopes = [scopeRow(deepId, { sessionId: deepId, startedAt: at(0), endedAt: at(1) })];
    for (let i = 1; i < 5_000; i++) {
      const id = `${deepId}~${i}`;
      scopes.push(scopeRow(id, { sessionId: deepId, kind: 'handoff', handoffFromScopeId: scopes[i - 1]!.scopeId, delegatedBy: null, startedAt: at(i), endedAt: at(i + 1) }));
    }
    await rt.store.upsertScopes(scopes);
    const run = await cli(['tree', deepId, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const doc = parsed(run, 'deep tree');
    assert.equal(doc.scopes, 5_000);
    let node = doc.roots[0];
    for (let i = 1; i < 5_000; i++) node = node.handoffs[0];
    assert.deepEqual([node.scopeId, node.handoffs], [`${deepId}~4999`, []]);
    const human = await cli(['tree', deepId]);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout.split('\n').length, 5_001);
  });

  test('a Temporal server that does not answer is named with its address and what to do, not as gRPC\'s bare UNAVAILABLE', async () => {
    const run = await runCliFor({ schema: rt.schema, temporal: { address: '127.0.0.1:1' } as TestRuntime['temporal'] }, ['reconcile', sid, '--json']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^scopetrail reconcile: Temporal at 127\.0\.0\.1:1 is not reachable \(.*\): start it \(scopetrail dev starts one with a worker\), or give its address with --address or TEMPORAL_ADDRESS$/);
    assert.equal(JSON.parse(run.stdout).error.kind, 'failure');
  });

  test('an empty list of actions says which filter it was asked with', async () => {
    const run = await runCliFor(rt, ['actions', sid, '--tool', 'nosuch', '--kind', 'tool_call', '--descendants']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `no actions of kind tool_call, of tool "nosuch" under ${sid} or its descendants`);
  });

  test('--help --json lists the commands', async () => {
    const out: string[] = [];
    assert.equal(await runCli(['--help', '--json'], { log: (t) => out.push(t), err: () => undefined }), 0);
    const doc = JSON.parse(out.join('\n'));
    assert.deepEqual(doc.commands.map((c: any) => c.name).sort(), Object.keys(COMMANDS).sort());
    assert.equal(doc.exitCodes.differences, 3);
  });

  test('reconcile draws its progress on stderr only, and leaves no bar behind', async () => {
    for (const isTTY of [true, false]) {
      const writes: string[] = [];
      const run = await cli(['reconcile', sid, '--json'], { isTTY, columns: 80, write: (t) => writes.push(t) });
      assert.equal(run.code, 0);
      assert.equal(parsed(run, 'reconcile').sessionId, sid);
      if (isTTY) assert.ok(writes.length === 0 || writes.at(-1) === '\r\u001b[2K', 'a drawn bar is erased');
      else assert.deepEqual(writes.filter((w) => w.includes('\r') || w.includes('\u001b')), [], 'no control characters off a terminal');
    }
  });

  test('worker and dev --json print a ready line and a stopped line', async () => {
    const schema = `t_${randomBytes(5).toString('hex')}`;
    try {
      for (const command of ['worker', 'dev']) {
        const env = { ...process.env, TEMPORAL_ADDRESS: rt.temporal.address };
        const run = await spawnCli(
          [command, '--json', '--database-url', TEST_DATABASE_URL, '--schema', schema, '--task-queue', `cli-json-${randomBytes(4).toString('hex')}`],
          env,
          (stdout) => stdout.includes('\n'),
        );
        assert.equal(run.code, 0, `${command}: ${run.stderr}`);
        const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
        assert.deepEqual(events.map((e) => e.event), ['ready', 'stopped'], command);
        assert.equal(events[0].llm.provider, 'scripted');
        assert.ok(events[0].agents.some((a: any) => a.name === 'orchestrator'));
        assert.equal(events[0].temporalAddress, rt.temporal.address);
      }
    } finally {
      await dropSchema(TEST_DATABASE_URL, schema);
    }
  });

  test('worker --json keeps the Temporal core\'s own warnings off stdout: they go to stderr, without colour codes', async () => {
    // A namespace the server does not have fails the start; the core may warn about it first.
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'scopetrail.js'), 'worker', '--json', '--namespace', `no-such-ns-${randomBytes(4).toString('hex')}`,
        '--database-url', TEST_DATABASE_URL, '--schema', rt.schema],
      { cwd: ROOT, env: { ...process.env, TEMPORAL_ADDRESS: rt.temporal.address }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // It exits by itself: the namespace is looked up before the SDK starts workflow threads it would leave running.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    assert.equal(code, 1, `the worker exits 1 on its own\n${stderr}`);
    assert.match(stderr, /scopetrail worker: Namespace no-such-ns-\S+ was not found/, `the reason is shown, on stderr\n${stderr}`);
    // Whatever the core logs goes to stderr, uncoloured: stdout carries the JSON alone.
    assert.doesNotMatch(stderr, /\u001b\[/, 'no colour codes');
    assert.doesNotMatch(stdout, /\u001b|WARN/, 'stdout holds JSON only');
    assert.equal(JSON.parse(stdout).error.command, 'worker', stdout);
  });

  test('ui --json prints the dashboard\'s address as a JSON line', async () => {
    const run = await spawnCli(
      ['ui', '--json', '--port', '0', '--database-url', TEST_DATABASE_URL, '--schema', rt.schema],
      { ...process.env, TEMPORAL_ADDRESS: rt.temporal.address },
      // The dashboard answering proves the command is past printing its line and listening for Ctrl-C.
      async (stdout) => stdout.includes('\n') && (await fetch(JSON.parse(stdout.split('\n')[0]!).url)).ok,
    );
    assert.equal(run.code, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.match(lines[0].url, /^http:\/\/127\.0\.0\.1:\d+/);
  });

  test('run demo --json prints the session as one document', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: rt.temporal.address };
    delete env.DATABASE_URL; // the embedded store (--memory), not the test database's default schema
    const run = await spawnCli(['run', 'demo', '--memory', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const doc = parsed(run, 'run demo');
    assert.match(doc.sessionId, /^ses-/);
    assert.equal(doc.tree.scopes, 7);
    assert.equal(doc.llm.provider, 'scripted');
    const llmCalls = JSON.stringify(doc.tree).match(/"kind":"llm_call"/g) ?? [];
    assert.equal(llmCalls.length, 2);
    assert.ok(doc.forensicQuery.actions.length > 0);
  });
});

async function schemaExists(schema: string): Promise<boolean> {
  const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
  try {
    const { rows } = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    return rows.length > 0;
  } finally {
    await db.end();
  }
}
