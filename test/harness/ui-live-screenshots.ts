/**
 * Screenshots of the dashboard's live views for docs/dashboard.md: the example session
 * (finished) and a lead whose worker is still running, both in one store, served to
 * Debian's Chromium at 1280x800. Writes sessions-filtered.png, timeline.png,
 * timeline-running.png and resources.png.
 *
 *   npx tsx test/harness/ui-live-screenshots.ts [--out docs/screenshots]
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { startTestRuntime } from '../helpers/runtime';
import { launchChromium } from '../helpers/browser';
import { createFixtureTools } from '../fixtures/tools';
import { liveLead } from '../fixtures/live-agents';
import { buildUi } from '../../client/ui-build';
import { startUiServer } from '../../client/ui-server';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(__dirname, '..', '..', 'docs', 'screenshots') } } });
  const out = resolve(values.out!);
  mkdirSync(out, { recursive: true });
  const log = (line: string) => console.error(line);

  const example = await startExampleRuntime();
  const live = await startTestRuntime({ agents: require.resolve('../fixtures/live-agents'), tools: Object.values(createFixtureTools().tools), schema: example.schema });
  const browser = await launchChromium();
  let running = '';
  try {
    const { sessionId } = await runExampleSession(example, 'How do durable workflows make agent delegation auditable?', 'answer with verified research');
    log(`ran session ${sessionId}`);
    running = (await live.client.startSession(liveLead, { input: { steps: 10_000 } })).sessionId;
    await new Promise((ok) => setTimeout(ok, 2_500));
    await buildUi({ log });
    const server = await startUiServer(example.client, { port: 0, liveIntervalMs: 300 });
    try {
      const page = await browser.context.newPage();
      const shot = async (name: string) => {
        await page.screenshot({ path: join(out, name) });
        log(`wrote ${join(out, name)}`);
      };
      await page.goto(`${server.url}#/?since=1h`);
      await page.locator(`[data-testid=session-row][data-session-id="${running}"]`).waitFor();
      await page.locator('[data-testid=live-indicator][data-state=live]').waitFor();
      await shot('sessions-filtered.png');

      await page.goto(`${server.url}#/sessions/${encodeURIComponent(sessionId)}/timeline`);
      await page.locator('[data-testid=timeline-arrow]').first().waitFor();
      await shot('timeline.png');

      await page.goto(`${server.url}#/sessions/${encodeURIComponent(running)}/timeline?zoom=2`);
      await page.locator('[data-testid=timeline-lane][data-running=true]').first().waitFor();
      await new Promise((ok) => setTimeout(ok, 1_000));
      await shot('timeline-running.png');

      await page.goto(`${server.url}#/resources?glob=${encodeURIComponent('api:*')}&mode=read`);
      await page.locator('[data-testid=resource-table]').waitFor();
      await shot('resources.png');
    } finally {
      await server.close();
    }
  } finally {
    await browser.close();
    if (running) await live.client.temporal.workflow.getHandle(running).terminate('screenshots taken').catch(() => undefined);
    await live.stop();
    await example.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`ui-live-screenshots: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
