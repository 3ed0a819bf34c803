/**
 * scopetrail as a user installs it: `npm pack`, then a project in a temporary folder
 * outside the repository installs the tarball, writes its own agents and tools against
 * `scopetrail` and `scopetrail/workflow`, typechecks under strict settings and runs with
 * plain node (CommonJS and ESM) against the real Temporal server and Postgres. One more
 * program adds ScopetrailPlugin beside OpenTelemetryPlugin in its own Worker.create.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_DATABASE_URL, dropTestSchema, usesPglite } from '../helpers/runtime';

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(__dirname, '..', 'fixtures', 'consumer');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const skip = usesPglite() ? 'the consumer and its CLI share a store: needs Postgres' : false;

let work = '';
let consumer = '';
let tarball = '';
const schemas: string[] = [];

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const res = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 });
  if (res.error) throw res.error;
  return res;
}

function ok(res: SpawnSyncReturns<string>, what: string): string {
  assert.equal(res.status, 0, `${what} failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    exactOptionalPropertyTypes: true,
    // Temporal's own .d.ts do not pass exactOptionalPropertyTypes; scopetrail ships .d.ts, so this flag now covers it.
    skipLibCheck: true,
    outDir: 'dist',
    rootDir: 'src',
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  },
  include: ['src'],
};

function writeProject(dir: string, type: 'commonjs' | 'module', extra: Record<string, string> = {}): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  for (const f of ['agents.ts', 'tools.ts', 'main.ts']) cpSync(join(FIXTURE, 'src', f), join(dir, 'src', f));
  for (const [to, from] of Object.entries(extra)) cpSync(join(FIXTURE, from), join(dir, 'src', to));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'scopetrail-consumer-'));
  assert.ok(!work.startsWith(ROOT), 'the consumer must live outside the repository');
  const packed = JSON.parse(ok(run('npm', ['pack', '--json', '--pack-destination', work], ROOT), 'npm pack')) as Array<{
    filename: string;
    size: number;
    files: Array<{ path: string }>;
  }>;
  tarball = join(work, packed[0]!.filename);
  console.error(`tarball: ${(statSync(tarball).size / 1024).toFixed(0)} KiB, ${packed[0]!.files.length} files`);

  consumer = join(work, 'app');
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      dependencies: {
        scopetrail: `file:${tarball}`,
        zod: '^4.0.0',
        '@temporalio/client': '1.24.0',
        '@temporalio/worker': '1.24.0',
        '@temporalio/workflow': '1.24.0',
        '@temporalio/interceptors-opentelemetry': '1.24.0',
        '@opentelemetry/sdk-trace-base': '^1.25.1',
        '@opentelemetry/resources': '^1.25.1',
      },
    }),
  );
  const started = Date.now();
  ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], consumer), 'npm install of the tarball');
  console.error(`install of the tarball (with Temporal and OpenTelemetry): ${((Date.now() - started) / 1000).toFixed(1)} s`);

  writeProject(join(consumer, 'cjs'), 'commonjs', { 'where.ts': 'cjs/where.ts', 'plugin.ts': 'plugin/main.ts' });
  writeProject(join(consumer, 'esm'), 'module', { 'where.ts': 'esm/where.ts' });
});

after(async () => {
  for (const schema of schemas) await dropTestSchema(schema);
  if (work && !process.env.SCOPETRAIL_KEEP_TEST_DATA) rmSync(work, { recursive: true, force: true });
});

test('the tarball ships built JS and .d.ts, no TypeScript sources, no tests, and the prebuilt dashboard', { skip }, () => {
  const pkg = join(consumer, 'node_modules', 'scopetrail');
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
  const shipped = files(pkg).map((f) => f.slice(pkg.length + 1)).filter((f) => !f.startsWith('node_modules/'));
  assert.deepEqual(shipped.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), []);
  assert.ok(shipped.includes('dist/index.js') && shipped.includes('dist/index.d.ts'));
  assert.ok(shipped.includes('dist/workflows/index.js') && shipped.includes('dist/cim/index.d.ts'));
  assert.ok(shipped.includes('dist/workflows/model-agent.js') && shipped.includes('dist/workflows/model-agent.d.ts'), 'scopetrail/workflow/model');
  assert.ok(shipped.some((f) => f.startsWith('dist/cim/ocsf/schema/')), 'the vendored OCSF definitions');
  assert.ok(shipped.includes('dist/store/migrations/001_cim.sql'));
  assert.ok(shipped.includes('dist/ui/dist/index.html'), 'the dashboard is prebuilt');
  assert.deepEqual(shipped.filter((f) => f.startsWith('test/') || f.startsWith('bench/')), []);
  assert.ok(shipped.includes('LICENSE'), 'the license the package declares');
  // Every file the README links to is in the package beside it.
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  const linked = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
  assert.ok(linked.length > 5, 'the README links to its docs');
  assert.deepEqual(linked.filter((l) => !shipped.includes(l)), [], 'README links that point nowhere in the package');
});

test('an install brings no build tools and one copy of @temporalio/workflow', { skip }, () => {
  for (const dev of ['tsx', 'vite', 'react', 'typescript', '@temporalio/testing']) {
    assert.ok(!existsSync(join(consumer, 'node_modules', dev)), `${dev} was installed`);
  }
  const copies = ok(run('npm', ['ls', '@temporalio/workflow', '--all', '--parseable'], consumer), 'npm ls')
    .split('\n')
    .filter((l) => l.endsWith('@temporalio/workflow'));
  assert.deepEqual([...new Set(copies)], [join(consumer, 'node_modules', '@temporalio', 'workflow')]);
});

for (const flavour of ['cjs', 'esm'] as const) {
  test(`a ${flavour === 'cjs' ? 'CommonJS' : 'ESM'} project typechecks strictly, runs with plain node and is queried by ScopeClient and the installed bin`, { skip }, () => {
    const dir = join(consumer, flavour);
    ok(run(TSC, ['-p', dir], consumer), `tsc (${flavour})`);
    const schema = `c_${randomBytes(5).toString('hex')}`;
    schemas.push(schema);
    const env = { DATABASE_URL: TEST_DATABASE_URL, CONSUMER_SCHEMA: schema };
    const started = Date.now();
    const res = run(process.execPath, [join(dir, 'dist', 'main.js')], consumer, env);
    const out = ok(res, `node ${flavour}/dist/main.js`);
    console.error(`${flavour} run (${((Date.now() - started) / 1000).toFixed(1)} s, ${res.stderr.split('\n').filter(Boolean).length} stderr lines): ${out.trim()}`);
    const report = JSON.parse(out) as { sessionId: string; result: { escalated: boolean }; scopes: number; actions: string[]; differences: number };
    assert.equal(report.result.escalated, true);
    assert.equal(report.scopes, 2);
    assert.deepEqual(report.actions, ['tool_call:lookupTicket:success', 'delegate:escalator:success', 'tool_call:notifyOnCall:success', 'llm_call:llm:success']);
    assert.equal(report.differences, 0);

    const bin = join(consumer, 'node_modules', '.bin', 'scopetrail');
    const flags = ['--database-url', TEST_DATABASE_URL, '--schema', schema, '--address', process.env.TEMPORAL_ADDRESS ?? 'localhost:7233'];
    const tree = ok(run(bin, ['tree', report.sessionId, ...flags], consumer), 'scopetrail tree');
    assert.match(tree, /escalator@0\.1\.0 · delegated by triage/);
    const actions = JSON.parse(ok(run(bin, ['actions', report.sessionId, '--descendants', '--json', ...flags], consumer), 'scopetrail actions')) as {
      actions: Array<{ name: string; scopeId: string }>;
    };
    assert.deepEqual(actions.actions.map((a) => a.name).sort(), ['escalator', 'llm', 'lookupTicket', 'notifyOnCall']);
    const reconcile = run(bin, ['reconcile', report.sessionId, ...flags], consumer);
    assert.equal(reconcile.status, 0, `reconcile found differences:\n${reconcile.stdout}${reconcile.stderr}`);
  });
}

test('ScopetrailPlugin beside OpenTelemetryPlugin in a project\'s own Worker.create records both spans and CIM rows', { skip }, () => {
  ok(run(TSC, ['-p', join(consumer, 'cjs')], consumer), 'tsc (cjs)');
  const schema = `c_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  const out = ok(run(process.execPath, [join(consumer, 'cjs', 'dist', 'plugin.js')], consumer, { DATABASE_URL: TEST_DATABASE_URL, CONSUMER_SCHEMA: schema }), 'node plugin.js');
  console.error(`plugin run: ${out.trim()}`);
  const report = JSON.parse(out) as { spans: string[]; actions: string[]; differences: number };
  assert.deepEqual(report.spans, ['RunWorkflow', 'StartActivity', 'StartChildWorkflow']);
  assert.deepEqual(report.actions, ['tool_call:lookupTicket:success', 'delegate:escalator:success', 'tool_call:notifyOnCall:success', 'llm_call:llm:success']);
  assert.equal(report.differences, 0);
});

test('the starter that scopetrail init writes installs and runs green with npm start (dev server, embedded store)', { skip }, () => {
  const bin = join(consumer, 'node_modules', '.bin', 'scopetrail');
  const starter = join(work, 'starter');
  const written = JSON.parse(ok(run(bin, ['init', starter, '--scopetrail-spec', `file:${tarball}`, '--json'], work), 'scopetrail init')) as { files: string[] };
  assert.deepEqual(written.files.filter((f) => f.startsWith('src/')).sort(), ['src/agents.ts', 'src/main.ts', 'src/runtime.ts', 'src/tools.ts', 'src/worker.ts']);
  const refused = run(bin, ['init', starter], work);
  assert.equal(refused.status, 2, 'a folder that is not empty is refused');
  assert.match(refused.stderr, /invalid <dir> .*it exists and is not empty/);

  const started = Date.now();
  ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], starter), 'npm install (starter)');
  console.error(`starter install: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // The embedded store, as for a newcomer without Postgres; the test's Temporal server stands in for the dev server.
  const out = ok(run('npm', ['start'], starter, { DATABASE_URL: '' }), 'npm start (starter)');
  assert.match(out, /triage@0\.1\.0 · root · success/);
  assert.match(out, /escalator@0\.1\.0 · delegated by triage · success/);
  assert.match(out, /was api:pager touched under \S+\? yes/);
  assert.match(out, /reconcile against Temporal history: 0 differences/);

  // The query the run suggests, through the installed bin, reads the project's embedded store.
  const asked = /ask more: npx scopetrail (actions \S+ --descendants --data-dir \.scopetrail\/store)/.exec(out);
  assert.ok(asked, `npm start names a query to try:\n${out}`);
  const starterBin = join(starter, 'node_modules', '.bin', 'scopetrail');
  const actions = ok(run(starterBin, asked[1]!.split(' '), starter, { DATABASE_URL: '' }), 'the suggested query');
  assert.match(actions, /tool_call +lookupTicket +1 +success/);
  const without = run(starterBin, ['actions', asked[1]!.split(' ')[1]!], starter, { DATABASE_URL: '', XDG_DATA_HOME: join(work, 'no-data-home') });
  assert.equal(without.status, 1);
  assert.match(without.stderr, /no embedded store at .*no-data-home.*: this folder has one: add --data-dir \.scopetrail\/store/);
});
