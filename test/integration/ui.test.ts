/**
 * The dashboard end to end: the example session on the real Temporal dev server and
 * Postgres, the dashboard server on a free port, and Debian's Chromium clicking
 * through it. Every expectation is read back from the store or Temporal, not typed in.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import type { TestRuntime } from '../helpers/runtime';
import { browserSkipReason, browserTest, launchChromium, type Chromium } from '../helpers/browser';
import { buildUi } from '../../client/ui-build';
import { startUiServer, type UiServer } from '../../client/ui-server';
import { action, scope } from '../unit/fixtures';

let rt: TestRuntime;
let sessionId: string;
let server: UiServer;
let browser: Chromium;
let page: Page;

const skip = browserSkipReason();
const test = browserTest;

before(async () => {
  if (skip) return;
  // First, so that a machine (or CI) without Chromium fails at once with the reason.
  browser = await launchChromium();
  rt = await startExampleRuntime();
  ({ sessionId } = await runExampleSession(rt, 'How do durable workflows make delegation auditable?', 'answer with verified research'));
  await buildUi({ log: (line) => console.error(line) });
  server = await startUiServer(rt.client, { port: 0 });
  page = await browser.context.newPage();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await rt?.stop();
});

/** The page's window, inside page.evaluate callbacks (the project compiles without the DOM library). */
type BrowserWindow = { getComputedStyle(el: unknown): { strokeDasharray: string; stroke: string; borderTopColor: string } };

const node = (scopeId: string) => `[data-testid=scope-node][data-scope-id="${scopeId}"]`;

async function openSession(p: Page): Promise<void> {
  await p.goto(server.url);
  await p.locator(`[data-testid=session-row][data-session-id="${sessionId}"] a`).click();
  await p.locator('[data-testid=scope-graph]').waitFor();
}

test('the sessions list shows the session with its rolled-up status', async () => {
  const listed = (await rt.client.sessions()).find((s) => s.sessionId === sessionId);
  assert.ok(listed, 'the store lists the session');
  assert.equal(listed.status, 'degraded', 'the example session degrades (its translator fails)');
  await page.goto(server.url);
  const row = page.locator(`[data-testid=session-row][data-session-id="${sessionId}"]`);
  await row.waitFor();
  assert.equal(await row.locator('[data-testid=status-badge]').innerText(), listed.status);
  assert.match(await row.innerText(), new RegExp(`${listed.rootAgent}\\s*⇢\\s*${listed.finalAgent}`));
});

test('the session graph shows every scope, handoffs dashed apart from delegations, and the translator in the error colour', async () => {
  const scopes = await rt.store.scopesOfSession(sessionId);
  await openSession(page);
  assert.equal(await page.locator('[data-testid=scope-node]').count(), scopes.length);
  const shown = await page.locator('[data-testid=scope-node]').evaluateAll((els) => els.map((e) => e.getAttribute('data-scope-id')));
  assert.deepEqual(shown.sort(), scopes.map((s) => s.scopeId).sort());

  const edges = page.locator('[data-testid=scope-edge]');
  const delegations = scopes.filter((s) => s.parentScopeId !== null).length;
  const handoffs = scopes.filter((s) => s.handoffFromScopeId !== null).length;
  assert.equal(await page.locator('[data-testid=scope-edge][data-kind=delegation]').count(), delegations);
  assert.equal(await page.locator('[data-testid=scope-edge][data-kind=handoff]').count(), handoffs);
  assert.equal(await edges.count(), delegations + handoffs);
  const style = (kind: string) =>
    page.locator(`[data-testid=scope-edge][data-kind=${kind}] path`).first().evaluate((el) => {
      const cs = (globalThis as unknown as BrowserWindow).getComputedStyle(el);
      return { dash: cs.strokeDasharray, stroke: cs.stroke };
    });
  // Labels are drawn over the nodes, apart from their edges.
  const label = (kind: string) => page.locator(`[data-testid=edge-label][data-kind=${kind}]`).first().textContent();
  const [delegation, handoff] = [{ ...(await style('delegation')), label: await label('delegation') }, { ...(await style('handoff')), label: await label('handoff') }];
  assert.equal(delegation.dash, 'none', 'delegation edges are solid');
  assert.notEqual(handoff.dash, 'none', 'handoff edges are dashed');
  assert.notEqual(handoff.stroke, delegation.stroke, 'and drawn in another colour');
  assert.equal(handoff.label, 'handoff');
  assert.equal(delegation.label, 'delegates');

  const translator = scopes.find((s) => s.agent === 'translator')!;
  assert.equal(translator.status, 'error');
  const box = (selector: string) => page.locator(`${selector} .node-box`).evaluate((el) => (globalThis as unknown as BrowserWindow).getComputedStyle(el).stroke);
  const swatch = (status: string) => page.locator(`[data-testid=swatch-${status}]`).evaluate((el) => (globalThis as unknown as BrowserWindow).getComputedStyle(el).borderTopColor);
  assert.equal(await page.locator(node(translator.scopeId)).getAttribute('data-status'), 'error');
  assert.equal(await box(node(translator.scopeId)), await swatch('error'), 'the translator is drawn in the legend\'s error colour');
  assert.notEqual(await swatch('error'), await swatch('success'));
  const success = scopes.find((s) => s.status === 'success')!;
  assert.equal(await box(node(success.scopeId)), await swatch('success'));
  const recovered = scopes.filter((s) => s.recovered).map((s) => s.scopeId).sort();
  const marked = await page
    .locator('[data-testid=scope-node]:has([data-testid=recovered-marker])')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-scope-id')));
  assert.deepEqual(marked.sort(), recovered, 'every recovered scope carries the marker');
});

async function shownActions(p: Page, descendants: boolean): Promise<string[]> {
  await p.locator(`[data-testid=actions-count][data-loaded-descendants="${descendants}"]`).waitFor();
  return p.locator('[data-testid=action-row]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action-id')!));
}

test('clicking a scope lists its actions; including descendants brings the list to the store\'s count', async () => {
  const researcher = `${sessionId}.1`;
  const own = await rt.store.actionsUnder(researcher, { descendants: false });
  const all = await rt.store.actionsUnder(researcher, { descendants: true });
  assert.ok(all.length > own.length, 'the researcher delegated work that did actions of its own');
  await page.locator(node(researcher)).click();
  await page.locator(`[data-testid=scope-panel][data-scope-id="${researcher}"]`).waitFor();
  assert.deepEqual((await shownActions(page, false)).sort(), own.map((a) => a.actionId).sort());
  assert.equal(await page.locator('[data-testid=actions-count]').innerText(), String(own.length));

  await page.locator('[data-testid=descendants-toggle]').check();
  assert.deepEqual((await shownActions(page, true)).sort(), all.map((a) => a.actionId).sort());
  assert.equal(await page.locator('[data-testid=actions-count]').innerText(), String(all.length));
});

test('the footprint lists the resources the selected scope touched', async () => {
  const report = await rt.client.footprint(`${sessionId}.1`, { descendants: true });
  assert.ok(report.resources.length > 0);
  await page.locator('[data-testid=footprint-table][data-descendants=true]').waitFor();
  const rows = await page
    .locator('[data-testid=footprint-row]')
    .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-mode')} ${e.getAttribute('data-resource')}`));
  assert.deepEqual(rows.sort(), report.resources.map((r) => `${r.mode} ${r.uri}`).sort());
});

test('the health view shows the failing agent\'s error rate', async () => {
  const scopes = await rt.store.allScopes({ agent: 'translator' });
  const ended = scopes.filter((s) => s.status !== 'running');
  const rate = ended.filter((s) => s.status === 'error').length / ended.length;
  assert.ok(rate > 0, 'the translator failed');
  await page.locator('[data-testid=nav-health]').click();
  const row = page.locator('[data-testid=health-row][data-agent=translator]');
  await row.waitFor();
  assert.equal(await row.locator('[data-testid=error-rate]').innerText(), `${Math.round(rate * 1000) / 10}%`);
  assert.equal(await page.locator('[data-testid=health-row][data-agent=researcher] [data-testid=error-rate]').innerText(), '0%');
});

test('the session view shows the reconcile result as complete', async () => {
  const report = await rt.client.reconcile(sessionId);
  assert.equal(report.differences.length, 0);
  await openSession(page);
  const panel = page.locator('[data-testid=reconcile]:not([data-state=loading])');
  await panel.waitFor();
  assert.equal(await panel.getAttribute('data-state'), 'complete');
  const text = await page.locator('[data-testid=reconcile-result]').innerText();
  assert.match(text, /complete/);
  const n = (k: number, noun: string) => `${k} ${noun}${k === 1 ? '' : 's'}`;
  assert.match(text, new RegExp(`${n(report.runs, 'workflow run')} read; ${n(report.expected.scopes, 'scope')} and ${n(report.expected.actions, 'action')} expected`));
});

test('a link to a scope the session does not have says so, instead of showing nothing', async () => {
  const p = await browser.context.newPage();
  try {
    for (const [scopeId, hint] of [[`${sessionId}.99`, false], ['ses-other.1', true]] as const) {
      await p.goto(`${server.url}#/sessions/${encodeURIComponent(sessionId)}/scopes/${encodeURIComponent(scopeId)}`);
      await p.locator('[data-testid=scope-graph]').waitFor();
      const alert = p.locator('[role=alert]');
      await alert.waitFor();
      const text = await alert.innerText();
      assert.match(text, new RegExp(`Session ${sessionId} has no scope ${scopeId.replace(/\./g, '\\.')}`));
      assert.equal(/starts with its session's/.test(text), hint);
    }
  } finally {
    await p.close();
  }
});

test('without a reachable Temporal server the reconcile panel says so, and the rest still works', async () => {
  const { ScopeClient } = await import('../../client/scope-client');
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  const offline = await ScopeClient.connect({ store: rt.store, address: '127.0.0.1:1', taskQueue: rt.taskQueue });
  const other = await startUiServer(offline, { port: 0 });
  try {
    const res = await fetch(`${other.url}api/sessions/${encodeURIComponent(sessionId)}/reconcile`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { error: { message: string } };
    assert.match(body.error.message, /Temporal at 127\.0\.0\.1:1 is not reachable/);
    const p = await browser.context.newPage();
    await p.goto(`${other.url}#/sessions/${encodeURIComponent(sessionId)}`);
    await p.locator('[data-testid=reconcile][data-state=unavailable]').waitFor();
    assert.match(await p.locator('[data-testid=reconcile]').innerText(), /Temporal unavailable: Temporal at 127\.0\.0\.1:1 is not reachable/);
    assert.equal(await p.locator('[data-testid=scope-node]').count(), (await rt.store.scopesOfSession(sessionId)).length);
    await p.close();
  } finally {
    await other.close();
    await offline.close();
  }
});

/** Delivers each BroadcastChannel message at least 300 ms after the one before (page script, plain JavaScript). */
const SPACED_RELAY = `{
  const Native = BroadcastChannel;
  globalThis.BroadcastChannel = class extends Native {
    set onmessage(handler) {
      let next = 0;
      super.onmessage = handler && ((e) => {
        const at = Math.max(Date.now(), next);
        next = at + 300;
        setTimeout(() => handler.call(this, e), at - Date.now());
      });
    }
    get onmessage() { return super.onmessage; }
  };
}`;

test('a page loads with one request for what it shows: the resource view and the session view do not ask twice', async () => {
  const p = await browser.context.newPage();
  const asked: string[] = [];
  p.on('request', (r) => asked.push(new URL(r.url()).pathname));
  // As on a loaded machine, the messages relayed from the tab holding the stream (its
  // opening, then its first token) arrive apart, with renders between them; none of
  // them may cost a request. Here they are spaced 300 ms, well inside FIRST_TOKEN_MS.
  await p.addInitScript({ content: SPACED_RELAY });
  try {
    await p.goto(`${server.url}#/resources?glob=${encodeURIComponent('note:*')}`);
    await p.locator('[data-testid=live-indicator][data-state=live]').waitFor();
    await p.locator('[data-testid=resource-table], .message-info').first().waitFor();
    // Past the wait for a first token, and past the relayed messages: nothing more is asked
    // (the session has ended, nothing changes).
    await p.waitForTimeout(2_000);
    assert.equal(asked.filter((a) => a === '/api/resources').length, 1, asked.join(' '));
    await p.goto(`${server.url}#/sessions/${encodeURIComponent(sessionId)}`);
    await p.locator('[data-testid=scope-graph]').waitFor();
    await p.waitForTimeout(2_000);
    assert.equal(asked.filter((a) => a === `/api/sessions/${sessionId}`).length, 1, asked.join(' '));
  } finally {
    await p.close();
  }
});

test('a link to a session the store does not have says not found, on the badge as in the page, and stops asking', async () => {
  for (const query of ['', '?live=0']) {
    const p = await browser.context.newPage();
    try {
      await p.goto(`${server.url}${query}#/sessions/ses-nobody-has`);
      const badge = p.locator('[data-testid=live-indicator][data-state=missing]');
      await badge.waitFor();
      assert.equal(await badge.innerText(), 'not found');
      await p.locator('[role=alert]').waitFor();
      assert.match(await p.locator('[role=alert]').innerText(), /Could not load session ses-nobody-has/);
    } finally {
      await p.close();
    }
  }
});

test('times are shown in UTC and marked so', async () => {
  const listed = (await rt.client.sessions()).find((s) => s.sessionId === sessionId)!;
  await page.goto(server.url);
  const row = page.locator(`[data-testid=session-row][data-session-id="${sessionId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), new RegExp(`${listed.startedAt.slice(0, 10)} ${listed.startedAt.slice(11, 19)} UTC`));
});

// The tests below add sessions the ones above do not expect.

/** The page's document, inside page.evaluate callbacks (the project compiles without the DOM library). */
type Doc = { document: { documentElement: { scrollWidth: number; clientWidth: number } } };
type Box = { getBoundingClientRect(): { left: number; right: number; width: number }; scrollWidth: number; clientWidth: number };

/** A session of 150 delegations written straight to the store, with hostile text: a bidi override, an 8000-character objective, a 2000-character URI. */
async function hostileSession(): Promise<string> {
  const id = `ses-hostile-${Date.now().toString(36)}`;
  const base = Date.now() - 60_000;
  const at = (ms: number) => new Date(base + ms).toISOString();
  const scopes = [scope(id, { sessionId: id, objective: 'do \u202Eevil\u202C now', startedAt: at(0), endedAt: at(5_000), workflowId: id })];
  for (let i = 1; i <= 150; i++) {
    scopes.push(scope(`${id}.${i}`, {
      sessionId: id, parentScopeId: id, depth: 1, path: `/${id}/${id}.${i}/`, startedAt: at(i), endedAt: at(i + 1), workflowId: `${id}.${i}`,
      objective: i === 150 ? 'x'.repeat(8_000) : `part ${i}`,
    }));
  }
  await rt.store.upsertScopes(scopes);
  const uri = `db:${'long/'.repeat(400)}end`;
  await rt.store.upsertActions([
    action(`${id}-a1`, id, { sessionId: id, name: 'lookup', error: 'failed at \u202Eevil\u202C', status: 'error', resources: [{ uri, mode: 'read' }],
      startedAt: at(10), endedAt: at(20), workflowId: id }),
  ]);
  return id;
}

let hostile: Promise<string> | undefined;
async function openHostile(p: Page, scopeId?: string): Promise<string> {
  const id = await (hostile ??= hostileSession());
  const target = scopeId ?? id;
  await p.goto(`${server.url}#/sessions/${encodeURIComponent(id)}/scopes/${encodeURIComponent(target)}`);
  await p.locator(`[data-testid=scope-panel][data-scope-id="${target}"]`).waitFor();
  return id;
}

const pageWidth = (p: Page) => p.evaluate(() => (globalThis as unknown as Doc).document.documentElement.scrollWidth);

test('agent-provided text is shown with its bidi overrides as escapes, not obeyed', async () => {
  const p = await browser.context.newPage();
  try {
    const id = await openHostile(p);
    const panel = p.locator(`[data-testid=scope-panel][data-scope-id="${id}"]`);
    assert.match(await panel.innerText(), /do \\u202eevil\\u202c now/);
    assert.doesNotMatch(await panel.innerText(), /\u202E/);
    await p.locator('[data-testid=action-row]').waitFor();
    assert.match(await p.locator('[data-testid=action-row]').innerText(), /failed at \\u202eevil\\u202c/);
  } finally {
    await p.close();
  }
});

test('long values stay inside the page: a URI chip inside its cell, an 8000-character objective wrapped', async () => {
  const p = await browser.context.newPage();
  try {
    const id = await openHostile(p);
    await p.locator('[data-testid=action-row]').waitFor();
    // The chip of a 2000-character URI stays in its cell, clear of the TOOK column.
    const chip = await p.locator('[data-testid=action-row] .chip').evaluate((el) => {
      const e = el as unknown as Box & { closest(s: string): Box };
      return { chip: e.getBoundingClientRect(), cell: e.closest('td').getBoundingClientRect() };
    });
    assert.ok(chip.chip.right <= chip.cell.right + 1, `chip ends at ${chip.chip.right}, its cell at ${chip.cell.right}`);
    assert.ok((await pageWidth(p)) <= 1280, `the page is ${await pageWidth(p)} px wide`);
    await openHostile(p, `${id}.150`);
    assert.ok((await pageWidth(p)) <= 1280, `with the long objective, the page is ${await pageWidth(p)} px wide`);
  } finally {
    await p.close();
  }
});

test('a graph of 150 delegations keeps a readable size and scrolls sideways; its far node opens with a click', async () => {
  const p = await browser.context.newPage();
  try {
    const id = await openHostile(p);
    const graph = await p.locator('[data-testid=scope-graph]').evaluate((el) => {
      const svg = el as unknown as Box & { width: { baseVal: { value: number } } };
      return { drawn: svg.getBoundingClientRect().width, width: svg.width.baseVal.value };
    });
    assert.ok(graph.drawn >= graph.width * 0.69, `drawn ${graph.drawn} px for a ${graph.width} px layout`);
    const wrap = await p.locator('[data-testid=graph-wrap]').evaluate((el) => ({ scroll: (el as unknown as Box).scrollWidth, client: (el as unknown as Box).clientWidth }));
    assert.ok(wrap.scroll > wrap.client, 'the graph scrolls sideways');
    await p.locator(`[data-testid=scope-node][data-scope-id="${id}.150"]`).click();
    await p.locator(`[data-testid=scope-panel][data-scope-id="${id}.150"]`).waitFor();
  } finally {
    await p.close();
  }
});

test('the sessions list says when older sessions are left out, and shows more on request', async () => {
  const base = Date.now() - 3_600_000;
  const many = Array.from({ length: 205 }, (_, i) => {
    const id = `ses-many-${String(i).padStart(3, '0')}`;
    return scope(id, { sessionId: id, workflowId: id, startedAt: new Date(base + i * 1000).toISOString(), endedAt: new Date(base + i * 1000 + 500).toISOString() });
  });
  await rt.store.upsertScopes(many);
  const total = (await rt.client.sessions({ limit: 10_000 })).length;
  assert.ok(total > 200);
  const p = await browser.context.newPage();
  try {
    await p.goto(server.url);
    await p.locator('[data-testid=sessions-more]').waitFor();
    assert.equal(await p.locator('[data-testid=session-row]').count(), 200);
    assert.match(await p.locator('[data-testid=sessions-more]').innerText(), /The newest 200 sessions are shown; older ones are not\./);
    await p.locator('[data-testid=show-more]').click();
    await p.locator('[data-testid=sessions-table][data-truncated=false]').waitFor();
    assert.equal(await p.locator('[data-testid=session-row]').count(), total);
    assert.equal(await p.locator('[data-testid=sessions-more]').count(), 0);

    // A page of older sessions is a link of its own: the sessions after the cursor of the page before.
    const first = (await (await fetch(new URL("api/sessions?limit=200", server.url))).json()) as { sessions: Array<{ sessionId: string }>; next?: string };
    assert.ok(first.next);
    await p.goto(`${server.url}#/?after=${encodeURIComponent(first.next!)}`);
    await p.locator('[data-testid=older-page]').waitFor();
    await p.locator('[data-testid=session-row]').first().waitFor();
    const older = await p.locator('[data-testid=session-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session-id')));
    assert.equal(older.length, total - 200);
    const shown = new Set(first.sessions.map((s) => s.sessionId));
    assert.ok(older.every((id) => id && !shown.has(id)), 'no session of the first page is repeated');
    await p.locator('[data-testid=newest-sessions]').click();
    await p.locator('[data-testid=sessions-more]').waitFor();
    assert.equal(await p.locator('[data-testid=session-row]').count(), 200);
  } finally {
    await p.close();
  }
});
