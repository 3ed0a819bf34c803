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
