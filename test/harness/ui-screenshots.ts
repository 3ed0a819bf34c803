/**
 * Screenshots of the dashboard for docs/dashboard.md: runs the example session three
 * times on a real Temporal dev server and store, serves the dashboard, and saves each
 * view at 1280x800 from Debian's Chromium.
 *
 *   npx tsx test/harness/ui-screenshots.ts [--out docs/screenshots]
 *
 * Needs TEMPORAL_ADDRESS (else a dev server is started) and Postgres at DATABASE_URL
 * (else the local test database; SCOPETRAIL_TEST_STORE=pglite uses the embedded store).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { launchChromium } from '../helpers/browser';
import { buildUi } from '../../client/ui-build';
import { startUiServer } from '../../client/ui-server';

const QUESTIONS = [
  'Which retry policy suits a flaky payment API?',
  'How should sub-agents share a rate-limited search quota?',
  'How do durable workflows make agent delegation auditable?',
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(__dirname, '..', '..', 'docs', 'screenshots') } } });
  const out = resolve(values.out!);
  mkdirSync(out, { recursive: true });
  const log = (line: string) => console.error(line);

  const rt = await startExampleRuntime();
  const browser = await launchChromium().catch(async (err) => {
    await rt.stop();
    throw err;
  });
  try {
    let sessionId = '';
    for (const q of QUESTIONS) {
      ({ sessionId } = await runExampleSession(rt, q, `answer: ${q}`));
      log(`ran session ${sessionId}`);
    }
    await buildUi({ log });
    const server = await startUiServer(rt.client, { port: 0 });
    try {
      const page = await browser.context.newPage();
      const shot = async (name: string) => {
        await page.screenshot({ path: join(out, name) });
        log(`wrote ${join(out, name)}`);
      };

      await page.goto(server.url);
      await page.locator('[data-testid=session-row]').nth(QUESTIONS.length - 1).waitFor();
      await shot('sessions.png');

      await page.goto(`${server.url}#/sessions/${encodeURIComponent(sessionId)}`);
      await page.locator('[data-testid=reconcile][data-state=complete]').waitFor();
      await shot('session-graph.png');

      await page.locator(`[data-testid=scope-node][data-scope-id="${sessionId}.1"]`).click();
      await page.locator('[data-testid=descendants-toggle]').check();
      await page.locator('[data-testid=footprint-table][data-descendants=true]').waitFor();
      await page.locator('[data-testid=scope-panel]').evaluate((el) => el.scrollIntoView({ block: 'start' }));
      await shot('scope-actions.png');

      await page.locator('[data-testid=nav-health]').click();
      await page.locator('[data-testid=health-row]').first().waitFor();
      await shot('health.png');
    } finally {
      await server.close();
    }
  } finally {
    await browser.close();
    await rt.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`ui-screenshots: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
