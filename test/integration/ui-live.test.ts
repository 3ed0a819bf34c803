/**
 * The dashboard following sessions while they run: a lead whose worker keeps calling
 * a tool until a handoff is signalled, on the real Temporal dev server and Postgres,
 * watched by Debian's Chromium without reloading the page. Expectations are read
 * from the store.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime';
import { browserSkipReason, browserTest, CHROMIUM_PATH, launchChromium, type Chromium } from '../helpers/browser';
import { createFixtureTools } from '../fixtures/tools';
import { liveCloser, liveLead } from '../fixtures/live-agents';
import { buildUi } from '../../client/ui-build';
import { startUiServer, type UiServer } from '../../client/ui-server';
import { touches } from '../../cim/forensics';

/** Skipped, with the reason and the install command, where no Chromium is found (never under CI). */
const skip = browserSkipReason();
const test = browserTest;

let rt: TestRuntime;
let server: UiServer;
let browser: Chromium;
let page: Page;
let running: string;
let finished: string;
let startedAt: number;
const worker = () => `${running}.1`;

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

before(async () => {
  if (skip) return;
  browser = await launchChromium();
  rt = await startTestRuntime({ agents: require.resolve('../fixtures/live-agents'), tools: Object.values(createFixtureTools().tools) });
  startedAt = Date.now();
  const done = await rt.client.startSession(liveCloser, { input: {} });
  await done.result();
  finished = done.sessionId;
  running = (await rt.client.startSession(liveLead, { input: { steps: 10_000 } })).sessionId;
  await until('the worker has called echo twice', async () => {
    await rt.worker.recorder.drain();
    return (await rt.store.actionsUnder(worker(), { descendants: false })).filter((a) => a.name === 'echo').length >= 2;
  });
  await buildUi({ log: (line) => console.error(line) });
  server = await startUiServer(rt.client, { port: 0, liveIntervalMs: 200 });
  page = await browser.context.newPage();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (running) await rt?.client.temporal.workflow.getHandle(running).terminate('test over').catch(() => undefined);
  await rt?.stop();
});

const rowIds = (p: Page) => p.locator('[data-testid=session-row]').evaluateAll((els) => els.map((e) => e.getAttribute('data-session-id')!));

test('the sessions list filters by status, agent and start time, keeps the filters in its link, and marks the running session', async () => {
  await page.goto(`${server.url}#/?status=running&agent=liveWorker&since=15m`);
  await page.locator(`[data-testid=session-row][data-session-id="${running}"]`).waitFor();
  assert.deepEqual(await rowIds(page), [running], 'only the running session that ran liveWorker');
  assert.equal(await page.locator(`[data-testid=session-row][data-session-id="${running}"]`).getAttribute('data-status'), 'running');
  assert.equal(await page.locator('[data-testid=status-filter]').inputValue(), 'running');
  assert.equal(await page.locator('[data-testid=agent-filter]').inputValue(), 'liveWorker');
  assert.equal(await page.locator('[data-testid=since-filter]').inputValue(), '15m');
  await page.locator('[data-testid=live-indicator][data-state=live]').waitFor();

  await page.locator('[data-testid=agent-filter]').selectOption('');
  await page.locator('[data-testid=status-filter]').selectOption('success');
  await page.locator(`[data-testid=session-row][data-session-id="${finished}"]`).waitFor();
  assert.deepEqual(await rowIds(page), [finished]);
  assert.match(page.url(), /#\/\?status=success&since=15m$/);

  // A start time after both sessions began lists neither.
  const later = new Date(Date.now() + 60_000).toISOString();
  await page.goto(`${server.url}#/?since=${encodeURIComponent(later)}`);
  await page.locator('text=No sessions recorded that match these filters yet.').waitFor();
});

test('the timeline draws a lane per scope, the retried call with both attempts, the delegation arrow, and grows while the worker runs', async () => {
  await page.goto(`${server.url}#/sessions/${encodeURIComponent(running)}/timeline`);
  await page.locator('[data-testid=timeline]').waitFor();
  const scopes = await rt.store.scopesOfSession(running);
  await until('every scope has a lane', async () => (await page.locator('[data-testid=timeline-lane]').count()) === scopes.length);
  const lanes = await page.locator('[data-testid=timeline-lane]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-scope-id')} ${e.getAttribute('data-running')}`));
  assert.deepEqual(lanes.sort(), scopes.map((s) => `${s.scopeId} ${s.status === 'running'}`).sort());
  assert.ok(lanes.includes(`${worker()} true`), 'the worker is marked running');

  const flaky = (await rt.store.actionsUnder(running, { descendants: false })).filter((a) => a.name === 'flaky');
  assert.deepEqual(flaky.map((a) => `${a.attempt} ${a.status}`).sort(), ['1 error', '2 success']);
  const bar = page.locator('[data-testid=timeline-bar][data-name=flaky]');
  assert.equal(await bar.getAttribute('data-attempts'), '2');
  assert.equal(await bar.getAttribute('data-status'), 'success');
  assert.deepEqual(
    await bar.locator('[data-testid=timeline-attempt]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-attempt')} ${e.getAttribute('data-status')}`)),
    ['1 error', '2 success'],
  );
  const arrow = page.locator('[data-testid=timeline-arrow]');
  assert.equal(await arrow.count(), 1);
  assert.equal(await arrow.getAttribute('data-kind'), 'delegation');
  assert.equal(await arrow.getAttribute('data-to'), worker());

  // No reload: the live stream brings the worker's next calls.
  const echoes = page.locator(`[data-testid=timeline-bar][data-scope-id="${worker()}"][data-name=echo]`);
  const before = await echoes.count();
  await until('more echo bars appear without a reload', async () => (await echoes.count()) >= before + 2);
  await rt.worker.recorder.drain();
  const stored = (await rt.store.actionsUnder(worker(), { descendants: false })).filter((a) => a.name === 'echo').length;
  assert.ok((await echoes.count()) <= stored, 'never more bars than the store has calls');
});

test('zoom is in the link: zooming in widens the timeline, and the link reopens it zoomed', async () => {
  const svg = page.locator('[data-testid=timeline]');
  const width = Number(await svg.getAttribute('width'));
  await page.locator('[data-testid=zoom-in]').click();
  await page.locator('[data-testid=timeline][data-zoom="2"]').waitFor();
  assert.match(page.url(), /\/timeline\?zoom=2$/);
  assert.ok(Number(await svg.getAttribute('width')) > width * 1.5);
  const p = await browser.context.newPage();
  await p.goto(page.url());
  await p.locator('[data-testid=timeline][data-zoom="2"]').waitFor();
  assert.equal(await p.locator('[data-testid=zoom-level]').innerText(), '2×');
  await p.close();
});

test('the resource view lists who touched api:* in read mode within the range, running scopes marked, and its link reopens it', async () => {
  await rt.worker.recorder.drain();
  const actions = [...(await rt.store.actionsOfSession(running)), ...(await rt.store.actionsOfSession(finished))];
  const expected = [...new Set(touches(actions, 'api:*').flatMap((a) => a.resources.filter((r) => r.mode === 'read').map((r) => `${a.scopeId} ${r.uri} ${r.mode}`)))].sort();
  assert.ok(expected.length >= 3, 'the lead, the worker and the closer session touched api resources');

  const from = new Date(startedAt - 60_000).toISOString();
  await page.goto(`${server.url}#/resources`);
  await page.locator('[data-testid=resource-glob]').fill('api:*');
  await page.locator('[data-testid=mode-read]').check();
  await page.locator('[data-testid=resource-from]').fill(from.slice(0, 19));
  await page.locator('[data-testid=resource-search]').click();
  await page.locator('[data-testid=resource-table]').waitFor();
  const rows = await page.locator('[data-testid=resource-row]').evaluateAll((els) =>
    els.map((e) => `${e.getAttribute('data-scope-id')} ${e.getAttribute('data-resource')} ${e.getAttribute('data-mode')}`),
  );
  assert.deepEqual(rows.sort(), expected);
  assert.equal(await page.locator(`[data-testid=resource-row][data-scope-id="${worker()}"]`).getAttribute('data-running'), 'true');
  assert.equal(await page.locator(`[data-testid=resource-row][data-session-id="${finished}"]`).getAttribute('data-running'), 'false');
  assert.match(await page.locator('[data-testid=resource-summary]').innerText(), /^2 sessions, 3 scopes/);
  const link = page.url();
  assert.match(link, /#\/resources\?glob=api%3A\*&mode=read&from=/);

  const p = await browser.context.newPage();
  await p.goto(link);
  await p.locator('[data-testid=resource-table]').waitFor();
  assert.equal(await p.locator('[data-testid=resource-glob]').inputValue(), 'api:*');
  assert.equal(await p.locator('[data-testid=mode-read]').isChecked(), true);
  assert.equal(await p.locator('[data-testid=resource-row]').count(), expected.length);
  // A range that ended before anything ran finds nothing.
  await p.goto(`${server.url}#/resources?glob=${encodeURIComponent('api:*')}&to=${encodeURIComponent(new Date(startedAt - 60_000).toISOString())}`);
  await p.locator('text=Nothing touched api:* in this range.').waitFor();
  await p.close();
});

test('with ?live=0 the page polls the change token instead of holding a stream open, and still follows the running session', async () => {
  const p = await browser.context.newPage();
  const asked: string[] = [];
  p.on('request', (r) => asked.push(new URL(r.url()).pathname));
  await p.goto(`${server.url}?live=0#/sessions/${encodeURIComponent(running)}/timeline`);
  await p.locator('[data-testid=live-indicator][data-via=poll][data-state=live]').waitFor();
  const echoes = p.locator(`[data-testid=timeline-bar][data-scope-id="${worker()}"][data-name=echo]`);
  await echoes.first().waitFor();
  const before = await echoes.count();
  await until('more echo bars appear without a stream or a reload', async () => (await echoes.count()) >= before + 2);
  // Views keep the address's ?live=0 as they move: the links change only the part after #.
  await p.locator('[data-testid=nav-sessions]').click();
  await p.locator(`[data-testid=session-row][data-session-id="${running}"]`).waitFor();
  await p.locator('[data-testid=live-indicator][data-via=poll]').waitFor();
  assert.ok(asked.includes('/api/changes'), 'the change token was polled');
  assert.ok(!asked.includes('/api/live'), `no stream was opened: ${[...new Set(asked)].join(' ')}`);
  await p.close();
});

test('eight tabs all load and follow the store over one stream; when the tab holding it closes, another takes over', async () => {
  // A browser of its own: the page the other tests use already holds this one's stream.
  const own = await launchChromium();
  const streams: string[] = [];
  own.context.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/live') streams.push(r.url());
  });
  try {
    const views = [
      '#/',
      `#/sessions/${encodeURIComponent(running)}/timeline`,
      `#/sessions/${encodeURIComponent(running)}`,
      `#/sessions/${encodeURIComponent(finished)}`,
      `#/resources?glob=${encodeURIComponent('api:*')}`,
      '#/health',
      `#/sessions/${encodeURIComponent(running)}/timeline`,
      '#/?status=running',
      `#/sessions/${encodeURIComponent(finished)}/timeline`,
    ];
    const tabs: Page[] = [];
    for (const view of views) {
      const p = await own.context.newPage();
      // The seventh tab of a browser that opened a stream per tab never loaded: its page waited for a connection.
      await p.goto(`${server.url}${view}`, { timeout: 15_000 });
      await p.locator('main h1, main .crumbs').first().waitFor({ timeout: 15_000 });
      tabs.push(p);
    }
    for (const p of tabs.filter((_, i) => views[i] !== '#/health')) await p.locator('[data-testid=live-indicator][data-state=live][data-via=stream]').waitFor();
    await tabs[0]!.locator(`[data-testid=session-row][data-session-id="${running}"]`).waitFor();
    await tabs[7]!.locator(`[data-testid=session-row][data-session-id="${running}"]`).waitFor();
    assert.equal(streams.length, 1, `one stream for ${tabs.length} tabs: ${streams.join(' ')}`);

    // A tab that does not hold the stream still follows the running session.
    const echoes = (p: Page) => p.locator(`[data-testid=timeline-bar][data-scope-id="${worker()}"][data-name=echo]`);
    const grows = async (p: Page) => {
      await echoes(p).first().waitFor();
      const before = await echoes(p).count();
      await until('more echo bars appear in a tab that relays the stream', async () => (await echoes(p).count()) >= before + 2);
    };
    await grows(tabs[6]!);
    // The first tab held the stream; closed, another takes it over and the others keep following.
    await tabs.shift()!.close();
    await until('another tab opened the stream', async () => streams.length === 2);
    await grows(tabs[5]!);
    assert.equal(await tabs[3]!.locator(`[data-testid=live-indicator]`).getAttribute('data-state'), 'live');
  } finally {
    await own.close();
  }
});

/** Chromium's own command line, as a user runs it for a capture; killed (its process group) if it has not ended in time. */
function runChromium(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(CHROMIUM_PATH, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: stderr.slice(-2000), timedOut });
    });
  });
}

test('a headless capture on virtual time finishes with ?live=0: the screenshot is written and the sessions are shown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scopetrail-capture-'));
  try {
    // Chromium's clock does not move while a request is open: a page that streams never lets the budget run out.
    const args = (out: string) => [
      '--headless', '--no-sandbox', `--user-data-dir=${join(dir, 'profile')}`, out, '--window-size=1400,900', '--virtual-time-budget=10000', `${server.url}?live=0`,
    ];
    const png = join(dir, 'sessions.png');
    const shot = await runChromium(args(`--screenshot=${png}`));
    assert.equal(shot.timedOut, false, 'the capture ended by itself');
    assert.equal(shot.code, 0, shot.stderr);
    assert.deepEqual([...readFileSync(png).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG was written');
    const dom = await runChromium(args('--dump-dom'));
    assert.equal(dom.timedOut, false);
    const shown = [...dom.stdout.matchAll(/data-testid="session-row" data-session-id="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(shown.sort(), [finished, running].sort(), 'the page as captured lists both sessions');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a handoff signalled while the timeline is open appears live as a dashed arrow, and the session ends in success', async () => {
  await page.goto(`${server.url}#/sessions/${encodeURIComponent(running)}/timeline`);
  await page.locator(`[data-testid=timeline-lane][data-scope-id="${worker()}"][data-running=true]`).waitFor();
  await rt.client.requestHandoff(worker(), { to: 'liveCloser', reason: 'the closer takes over' });
  const handoff = page.locator('[data-testid=timeline-arrow][data-kind=handoff]');
  await handoff.waitFor({ timeout: 30_000 });
  await page.locator('[data-testid=live-indicator][data-running="0"]').waitFor({ timeout: 30_000 });
  const scopes = await rt.store.scopesOfSession(running);
  const target = scopes.find((s) => s.kind === 'handoff')!;
  assert.equal(target.handoffFromScopeId, worker());
  assert.equal(await handoff.getAttribute('data-from'), worker());
  assert.equal(await handoff.getAttribute('data-to'), target.scopeId);
  await page.locator('[data-testid=timeline-lane][data-running=true]').first().waitFor({ state: 'detached' });
  assert.equal(await page.locator('[data-testid=timeline-lane]').count(), scopes.length);
  const summary = (await rt.client.sessions()).find((s) => s.sessionId === running)!;
  assert.equal(summary.status, 'success');
  assert.equal(await page.locator('.card-head [data-testid=status-badge]').first().innerText(), 'success');
});

test('a scope\'s deep link reopens the graph with the scope selected and its descendants included', async () => {
  const all = await rt.store.actionsUnder(running, { descendants: true });
  const p = await browser.context.newPage();
  await p.goto(`${server.url}#/sessions/${encodeURIComponent(running)}/scopes/${encodeURIComponent(running)}?descendants=1`);
  await p.locator(`[data-testid=scope-panel][data-scope-id="${running}"]`).waitFor();
  await p.locator('[data-testid=actions-count][data-loaded-descendants="true"]').waitFor();
  assert.equal(await p.locator('[data-testid=descendants-toggle]').isChecked(), true);
  assert.equal(await p.locator('[data-testid=actions-count]').innerText(), String(all.length));
  await p.locator('[data-testid=descendants-toggle]').uncheck();
  await p.locator('[data-testid=actions-count][data-loaded-descendants="false"]').waitFor();
  assert.match(p.url(), new RegExp(`/scopes/${running}$`));
  await p.close();
});

test('the live stream and the new routes answer bad input with a 400 or 404 naming the field', async () => {
  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    return { status: res.status, body: (await res.json()) as { error: { field?: string; message: string } } };
  };
  assert.deepEqual((await get('api/live?session=nope')).status, 404);
  assert.equal((await get('api/live?sesion=x')).body.error.field, 'sesion');
  assert.equal((await get('api/resources')).body.error.field, 'glob');
  assert.equal((await get('api/resources?glob=a&mode=read,steal')).body.error.field, 'mode');
  const backwards = await get('api/resources?glob=a&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z');
  assert.equal(backwards.status, 400);
  assert.equal(backwards.body.error.field, 'to');
  assert.equal((await get('api/resources?glob=a&limit=0')).body.error.field, 'limit');
  assert.equal((await get(`api/sessions/nope/timeline`)).status, 404);
});

test('the live stream sends the change token as its event id and nothing again to a client that has it', async () => {
  const url = `${server.url}api/live?session=${encodeURIComponent(finished)}`;
  const read = async (headers: Record<string, string>) => {
    const abort = new AbortController();
    const res = await fetch(url, { headers, signal: abort.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    let text = '';
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), new Promise<null>((ok) => setTimeout(() => ok(null), deadline - Date.now()))]);
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    abort.abort();
    return text;
  };
  const first = await read({});
  const id = /^id: ([0-9a-f]+)$/m.exec(first)?.[1];
  assert.ok(id, `an event with an id: ${first}`);
  assert.match(first, /event: change\ndata: \{"session":"[^"]+","cursor":"[0-9a-f]+","runningScopes":0\}/);
  const again = await read({ 'last-event-id': id });
  assert.doesNotMatch(again, /event: change/, 'a finished session sends a reconnecting client nothing new');
});
