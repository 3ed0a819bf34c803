/**
 * `npm test`: starts what the integration tests need once — a real Temporal dev
 * server (built from Go modules on first use) and a reachable Postgres — then runs
 * every test file with Node's test runner and prints a one-line summary.
 *
 *   npm test                    unit + integration
 *   npm test -- unit            only test/unit
 *   npm test -- test/integration/interleaving.test.ts
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pg from 'pg';
import { ensureTemporal } from '../devserver/dev-server';
import { TEST_DATABASE_URL } from './helpers/runtime';
import { redactUrl } from '../store/postgres';
import { CHROMIUM_INSTALL, CHROMIUM_PATH, browserSkipReason, underCi } from './helpers/browser';

const ROOT = join(__dirname, '..');
/** A second namespace for the isolation test (test/integration/namespaces.test.ts). */
const ISOLATION_NAMESPACE = 'scopetrail-isolation';

function testFiles(filter: string[]): string[] {
  const all = ['unit', 'integration'].flatMap((dir) =>
    (existsSync(join(__dirname, dir)) ? readdirSync(join(__dirname, dir)) : [])
      .filter((f) => f.endsWith('.test.ts'))
      .sort()
      .map((f) => relative(ROOT, join(__dirname, dir, f))),
  );
  if (filter.length === 0) return all;
  return all.filter((f) => filter.some((want) => f.includes(want)));
}

async function postgresReachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const files = testFiles(process.argv.slice(2));
  if (files.length === 0) {
    console.error(`no test file matches ${process.argv.slice(2).join(' ')}`);
    return 2;
  }
  // The tests run through tsx, which strips types without checking them: the full run checks them first.
  if (process.argv.length <= 2) {
    const started = Date.now();
    // The dashboard's frontend has its own tsconfig (DOM, JSX): checked as a second project.
    const failed = [ROOT, join(ROOT, 'ui')].find(
      (project) => spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', project], { stdio: 'inherit' }).status !== 0,
    );
    if (failed) {
      console.error(`typecheck failed (tsc -p ${relative(ROOT, failed) || '.'})`);
      console.log('0 passed, 1 failed');
      return 1;
    }
    console.error(`typecheck: ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  const needsServers = files.some((f) => f.includes('integration'));
  let stop = async () => undefined as void;
  if (needsServers) {
    const pgError = await postgresReachable(TEST_DATABASE_URL);
    if (pgError) {
      const strict = process.env.CI || process.env.SCOPETRAIL_REQUIRE_POSTGRES;
      console.error(`Postgres at ${redactUrl(TEST_DATABASE_URL)} is not reachable: ${pgError}`);
      if (strict) {
        console.error('Start Postgres or set DATABASE_URL (CI and SCOPETRAIL_REQUIRE_POSTGRES need a real server).');
        return 1;
      }
      console.error('!! Falling back to the embedded PGlite store for the integration tests. Set DATABASE_URL to test against Postgres.');
      env.SCOPETRAIL_TEST_STORE = 'pglite';
    } else {
      env.DATABASE_URL = TEST_DATABASE_URL;
      console.error(`Postgres: ${redactUrl(TEST_DATABASE_URL)}`);
    }
    const started = Date.now();
    const temporal = await ensureTemporal({ log: (l) => console.error(l), extraNamespaces: [ISOLATION_NAMESPACE] });
    const cli = temporal.cli;
    console.error(
      `Temporal: ${temporal.description}; ready in ${((Date.now() - started) / 1000).toFixed(1)} s` +
        (cli?.buildSeconds !== undefined ? ` (Temporal CLI build took ${cli.buildSeconds.toFixed(1)} s)` : ''),
    );
    env.TEMPORAL_ADDRESS = temporal.address;
    stop = temporal.stop;
  }

  const browserTests = files.some((f) => f.includes('ui.test.ts'));
  const browserSkip = browserTests ? browserSkipReason() : undefined;
  if (browserTests && underCi() && browserSkipReason({ ...process.env, CI: undefined })) {
    console.error(`!! CI requires the browser tests and there is no Chromium at ${CHROMIUM_PATH}: they will fail (${CHROMIUM_INSTALL}).`);
  }

  const tapFile = join(mkdtempSync(join(tmpdir(), 'scopetrail-test-')), 'results.tap');
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import', 'tsx',
        '--test',
        '--test-reporter=spec', '--test-reporter-destination=stdout',
        '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
        ...files,
      ],
      { cwd: ROOT, env, stdio: 'inherit' },
    );
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  await stop();
  const tap = readFileSync(tapFile, 'utf8');
  const count = (key: string) => Number(tap.match(new RegExp(`^# ${key} (\\d+)$`, 'm'))?.[1] ?? 0);
  const passed = count('pass');
  const failed = count('fail') + count('cancelled');
  const skipped = count('skipped');
  if (browserSkip) console.error(`browser tests skipped: ${browserSkip}`);
  // Only a run that ran nothing, not even a skip with its reason, is suspect.
  if (passed + failed + skipped === 0) {
    console.log('0 passed, 0 failed');
    return 1;
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return code === 0 && failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`test run failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
