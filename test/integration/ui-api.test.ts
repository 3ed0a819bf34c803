/**
 * The dashboard's JSON API and the `scopetrail ui` command, against the example
 * session on the real Temporal dev server and Postgres: answers match the store,
 * bad input is a 400 naming the parameter, unknown ids are 404s.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { TEST_DATABASE_URL, usesPglite, type TestRuntime } from '../helpers/runtime';
import { buildUi } from '../../client/ui-build';
import { startUiServer, type UiServer } from '../../client/ui-server';
import { CLI_STORE_SKIP, runCliFor } from '../helpers/cli';
import { scope } from '../unit/fixtures';

let rt: TestRuntime;
let sessionId: string;
let server: UiServer;

before(async () => {
  rt = await startExampleRuntime();
  ({ sessionId } = await runExampleSession(rt, 'Which scopes touched the notes?'));
  await buildUi({ log: (line) => console.error(line) });
  server = await startUiServer(rt.client, { port: 0 });
});
after(async () => {
  await server?.close();
  await rt?.stop();
});

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(path, server.url));
  return { status: res.status, body: await res.json() };
}

test('the API answers from the store: sessions, a session\'s tree, actions filtered by kind, health', async () => {
  const sessions = await get('/api/sessions?limit=10');
  assert.equal(sessions.status, 200);
  assert.deepEqual(sessions.body.sessions.map((s: { sessionId: string }) => s.sessionId), [sessionId]);
  assert.deepEqual([sessions.body.limit, sessions.body.truncated], [10, false]);
  assert.equal((await get('/api/sessions')).body.limit, 50, 'the default limit');

  const session = await get(`/api/sessions/${sessionId}`);
  assert.equal(session.status, 200);
  assert.equal(session.body.tree.size, (await rt.store.scopesOfSession(sessionId)).length);
  assert.equal(session.body.summary.status, 'degraded');

  const tools = await get(`/api/scopes/${sessionId}/actions?descendants=true&kind=tool_call`);
  const expected = await rt.store.actionsUnder(sessionId, { descendants: true, kinds: ['tool_call'] });
  assert.equal(tools.status, 200);
  assert.deepEqual(tools.body.actions.map((a: { actionId: string }) => a.actionId).sort(), expected.map((a) => a.actionId).sort());

  const health = await get('/api/health');
  const translator = health.body.agents.find((a: { agent: string }) => a.agent === 'translator');
  assert.deepEqual([translator.scopes, translator.errorRate, translator.failedCalls], [1, 1, 1]);
});

test('bad query parameters are a 400 naming the parameter', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['/api/sessions?limit=abc', 'limit', /invalid query parameter "limit": use a whole number/],
    ['/api/sessions?limit=0', 'limit', /use at least 1/],
    ['/api/sessions?status=broken', 'status', /invalid query parameter "status"/],
    ['/api/sessions?since=yesterday', 'since', /invalid query parameter "since"/],
    ['/api/sessions?since=0000-01-01T00:00:00Z', 'since', /invalid query parameter "since": use a time from 0001-01-01/],
    ['/api/sessions?since=2026-02-30T00:00:00Z', 'since', /invalid query parameter "since"/],
    ['/api/sessions?limit=1&limit=2', 'limit', /^query parameter "limit" is given 2 times: give it once$/],
    ['/api/sessions?colour=red', 'colour', /unknown query parameter "colour"/],
    ['/api/sessions?after=page2', 'after', /invalid query parameter "after": not a cursor a sessions listing gave/],
    [`/api/scopes/${sessionId}/actions?descendants=maybe`, 'descendants', /use true or false/],
    [`/api/scopes/${sessionId}/actions?kind=tool_call,nap`, 'kind', /invalid query parameter "kind"/],
    [`/api/scopes/${sessionId}/footprint?descendants=`, 'descendants', /invalid query parameter "descendants"/],
    [`/api/sessions/${sessionId}/reconcile?repair=true`, 'repair', /unknown query parameter "repair"/],
    [`/api/scopes/${'x'.repeat(1001)}/actions`, 'scopeId', /invalid path segment "scopeId"/],
    ['/api/scopes/%E0%A4%A/actions', 'scopeId', /not valid percent-encoding/],
  ];
  for (const [path, field, message] of cases) {
    const res = await get(path);
    assert.equal(res.status, 400, `${path} → ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.field, field, path);
    assert.match(res.body.error.message, message, path);
  }
});

test('unknown ids and routes are 404s, other methods 405', async () => {
  const session = await get('/api/sessions/ses-nope');
  assert.equal(session.status, 404);
  assert.match(session.body.error.message, /no session "ses-nope" in the store/);
  const scope = await get(`/api/scopes/${sessionId}.9/actions`);
  assert.equal(scope.status, 404);
  assert.match(scope.body.error.message, new RegExp(`no scope "${sessionId}\\.9"`));
  assert.equal((await get('/api/nothing-here')).status, 404);
  const post = await fetch(new URL('/api/sessions', server.url), { method: 'POST' });
  assert.equal(post.status, 405);
});

test('static files are served from the build, and never from outside it', async () => {
  const page = await fetch(server.url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  const html = await page.text();
  const script = html.match(/src="\.\/(assets\/[^"]+\.js)"/)?.[1];
  assert.ok(script, 'index.html loads a built script');
  const js = await fetch(new URL(script, server.url));
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  for (const path of ['/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json']) {
    const res = await fetch(new URL(path, server.url));
    assert.doesNotMatch(await res.text(), /"name": "scopetrail"/, path);
  }
  // The page is at / (its views are in the fragment); a path that names nothing is a 404, not the page.
  for (const path of ['/assets/missing-0000.js', '/sessions/x', '/index.htm']) {
    const res = await fetch(new URL(path, server.url));
    assert.equal(res.status, 404, path);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/, path);
  }
  assert.equal((await fetch(new URL('/index.html', server.url))).status, 200);
});

const CLI = join(__dirname, '..', '..', 'bin', 'scopetrail.js');

test('scopetrail ui --port 0 serves the store and prints its URL; a bad --port is a usage error', { skip: usesPglite() && 'the CLI needs the Postgres store to share it' }, async () => {
  const child = spawn(
    process.execPath,
    [CLI, 'ui', '--port', '0', '--json', '--database-url', TEST_DATABASE_URL, '--schema', rt.schema, '--address', rt.temporal.address],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', () => reject(new Error(`scopetrail ui exited early: ${stderr}`)));
    });
    const { url, port } = JSON.parse(first) as { url: string; port: number };
    assert.equal(url, `http://127.0.0.1:${port}/`);
    const res = await fetch(new URL('/api/sessions', url));
    const body = (await res.json()) as { sessions: Array<{ sessionId: string }> };
    assert.deepEqual(body.sessions.map((s) => s.sessionId), [sessionId]);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);

  const bad = spawn(process.execPath, [CLI, 'ui', '--port', 'eighty'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let badErr = '';
  bad.stderr.on('data', (d) => (badErr += d));
  const code = await new Promise<number | null>((resolve) => bad.on('exit', resolve));
  assert.equal(code, 2);
  assert.match(badErr, /invalid --port "eighty": give a port number/);
});

test('on loopback, a request whose Host is another name is refused (DNS rebinding)', async () => {
  const { request } = await import('node:http');
  const status = (host: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(new URL('/api/sessions', server.url), { headers: { host } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  const port = new URL(server.url).port;
  assert.equal(await status(`attacker.example:${port}`), 403);
  assert.equal(await status(`127.0.0.1:${port}`), 200);
  assert.equal(await status(`localhost:${port}`), 200);
});

/** A request with a raw target and Host, as a non-browser client can send. */
function rawRequest(base: string, path: string, host?: string): Promise<{ status: number; body: string }> {
  return import('node:http').then(
    ({ request }) =>
      new Promise((resolve, reject) => {
        const u = new URL(base);
        const req = request({ hostname: u.hostname, port: u.port, path, headers: host ? { host } : {} }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      }),
  );
}

test('a request target that is no URL is a 400 naming the URL, not a 500', async () => {
  for (const path of ['//', '//user:pw@', '/\\\\']) {
    const res = await rawRequest(server.url, path);
    assert.equal(res.status, 400, `${path} → ${res.body}`);
    assert.equal(JSON.parse(res.body).error.field, 'url', path);
  }
});

test('bound to any loopback address, the dashboard refuses other Host names and accepts loopback ones', async () => {
  const other = await startUiServer(rt.client, { port: 0, host: '127.0.0.2' });
  try {
    const port = new URL(other.url).port;
    assert.equal((await rawRequest(other.url, '/api/health', `attacker.example:${port}`)).status, 403);
    assert.equal((await rawRequest(other.url, '/api/health', `127.0.0.2:${port}`)).status, 200);
    assert.equal((await rawRequest(other.url, '/api/health', `localhost:${port}`)).status, 200);
  } finally {
    await other.close();
  }
});

// Last in this file: it adds sessions to the store that the tests above do not expect.
test('the status filter finds older sessions behind newer ones of another status, in the API and the CLI', { skip: CLI_STORE_SKIP }, async () => {
  const newer = ['ok-1', 'ok-2', 'ok-3'].map((id, i) =>
    scope(id, { sessionId: id, startedAt: new Date(Date.now() + 60_000 * (i + 1)).toISOString(), endedAt: null, status: 'success' }),
  );
  await rt.store.upsertScopes(newer.map((s) => ({ ...s, endedAt: s.startedAt })));
  const degraded = await get('/api/sessions?status=degraded&limit=2');
  assert.equal(degraded.status, 200);
  assert.deepEqual(degraded.body.sessions.map((s: { sessionId: string }) => s.sessionId), [sessionId]);
  const listed = await runCliFor(rt, ['sessions', '--status', 'degraded', '--limit', '2', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(JSON.parse(listed.stdout).sessions.map((s: { sessionId: string }) => s.sessionId), [sessionId]);
  // Four sessions now: a limit of 2 leaves two out, and the API, the table and --json say so.
  const cut = await get('/api/sessions?limit=2');
  assert.deepEqual([cut.body.sessions.length, cut.body.truncated], [2, true]);
  const table = await runCliFor(rt, ['sessions', '--limit', '2']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stderr, /the newest 2 sessions shown; older ones match too: the next page with --after s1\.[\w-]+, raise --limit/);
  // The pages after it, in the API and the CLI, hold the rest once each.
  const rest = await get(`/api/sessions?limit=2&after=${encodeURIComponent(cut.body.next)}`);
  assert.equal(rest.status, 200);
  const restCli = await runCliFor(rt, ['sessions', '--limit', '2', '--after', cut.body.next, '--json']);
  assert.equal(restCli.code, 0, restCli.stderr);
  const all = await get('/api/sessions?limit=100');
  const pages = [...cut.body.sessions, ...rest.body.sessions].map((s: { sessionId: string }) => s.sessionId);
  assert.deepEqual(pages, all.body.sessions.map((s: { sessionId: string }) => s.sessionId));
  assert.deepEqual(JSON.parse(restCli.stdout).sessions.map((s: { sessionId: string }) => s.sessionId), pages.slice(2));
  const badAfter = await runCliFor(rt, ['sessions', '--after', 'page2']);
  assert.equal(badAfter.code, 2, badAfter.stderr);
  assert.match(badAfter.stderr, /invalid --after: not a cursor a sessions listing gave/);
  assert.doesNotMatch(table.stdout, /older ones/);
  const cutJson = await runCliFor(rt, ['sessions', '--limit', '2', '--json']);
  assert.equal(JSON.parse(cutJson.stdout).truncated, true);
  assert.doesNotMatch(cutJson.stderr, /older ones/);
  const whole = await runCliFor(rt, ['sessions']);
  assert.doesNotMatch(whole.stderr, /older ones/, 'no hint when nothing was left out');
  const since = await runCliFor(rt, ['sessions', '--since', '0000-01-01T00:00:00Z']);
  assert.equal(since.code, 2, since.stderr);
  assert.match(since.stderr, /invalid --since: use a time from 0001-01-01/);
});

test('a session whose handoff chain is 5 000 scopes long is served whole, not a 500 from an overflowed stack', async () => {
  const deepId = `deep-ui-${Date.now().toString(36)}`;
  const base = Date.now() - 60_000;
  const at = (i: number) => new Date(base + i).toISOString();
  const scopes = [scope(deepId, { sessionId: deepId, startedAt: at(0), endedAt: at(1) })];
  for (let i = 1; i < 5_000; i++) {
    scopes.push(scope(`${deepId}~${i}`, { sessionId: deepId, kind: 'handoff', handoffFromScopeId: scopes[i - 1]!.scopeId, delegatedBy: null, startedAt: at(i), endedAt: at(i + 1) }));
  }
  await rt.store.upsertScopes(scopes);
  const session = await get(`/api/sessions/${deepId}`);
  assert.equal(session.status, 200, session.body?.error?.message);
  assert.equal(session.body.tree.size, 5_000);
  let node = session.body.tree.roots[0];
  for (let i = 1; i < 5_000; i++) node = node.handoffs[0];
  assert.equal(node.scope.scopeId, `${deepId}~4999`);
});
