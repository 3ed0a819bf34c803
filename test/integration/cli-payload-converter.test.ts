/**
 * Histories written with a custom payload converter (an encoding of the app's own): the
 * CLI reads them when --codec names a module exporting `dataConverter` with its
 * `payloadConverterPath`, and without it says a converter or codec is missing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { createWorker, type ScopetrailWorker } from '../../worker/create-worker';
import { quietTemporalLogs } from '../../worker/runtime-logging';
import { ScopeClient } from '../../client/scope-client';
import type { Store } from '../../store/types';
import { dropTestSchema, openTestStore } from '../helpers/runtime';
import { CLI_STORE_SKIP, runCliFor } from '../helpers/cli';
import { createFixtureTools } from '../fixtures/tools';
import { leaf } from '../fixtures/agents';

const CONVERTER_MODULE = 'test/fixtures/custom-data-converter.ts';
const skip = CLI_STORE_SKIP;
let temporal: TemporalEndpoint;
let store: Store;
let schema: string;
let worker: ScopetrailWorker;
let running: Promise<void>;
let sessionId: string;

before(async () => {
  if (skip) return;
  quietTemporalLogs('ERROR');
  temporal = await ensureTemporal({ namespace: 'default', log: () => undefined });
  ({ store, schema } = await openTestStore());
  const taskQueue = `test-${randomBytes(5).toString('hex')}`;
  const dataConverter = { payloadConverterPath: require.resolve('../fixtures/custom-converter') };
  const { tools } = createFixtureTools();
  worker = await createWorker({ agents: require.resolve('../fixtures/agents'), tools: Object.values(tools), store, taskQueue, address: temporal.address, dataConverter, spool: false, log: () => undefined });
  running = worker.run();
  const client = await ScopeClient.connect({ store, address: temporal.address, taskQueue, dataConverter });
  try {
    const handle = await client.startSession(leaf, { input: { text: 'converted' } });
    sessionId = handle.sessionId;
    assert.equal(await handle.result(), 'converted');
  } finally {
    await client.close();
  }
  await worker.recorder.sealer.drain();
});

after(async () => {
  if (skip) return;
  await worker?.shutdown();
  await running?.catch(() => undefined);
  await store?.close();
  await dropTestSchema(schema);
  await temporal?.stop();
});

test('reconcile, verify and touched read a history written with a custom payload converter given by --codec', { skip }, async () => {
  const rt = { schema, temporal };
  for (const args of [['reconcile', sessionId], ['verify', sessionId], ['touched', sessionId, 'echo']]) {
    const without = await runCliFor(rt, args);
    assert.equal(without.code, 1, `${args[0]} without the converter: ${without.stdout}`);
    assert.match(without.stderr, /Unknown encoding: json\/x-scopetrail-test/);
    assert.match(without.stderr, /payload converter or codec/);
    assert.match(without.stderr, /payloadConverterPath/);
    assert.match(without.stderr, /payloadCodecs/);
    const withConverter = await runCliFor(rt, [...args, '--codec', CONVERTER_MODULE]);
    assert.equal(withConverter.code, 0, `${args[0]} with the converter: ${withConverter.stderr}\n${withConverter.stdout}`);
  }
  const reconciled = await runCliFor(rt, ['reconcile', sessionId, '--codec', CONVERTER_MODULE]);
  assert.match(reconciled.stdout, /0 differences/);
});

test('a --codec module whose payloadConverterPath names no converter is refused, naming it', { skip }, async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'converter-'));
  writeFileSync(join(dir, 'dc.js'), "exports.dataConverter = { payloadConverterPath: './missing' };");
  writeFileSync(join(dir, 'dc2.js'), "exports.dataConverter = { payloadConverterPath: require.resolve('./plain') };");
  writeFileSync(join(dir, 'plain.js'), 'exports.nothing = 1;');
  const missing = await runCliFor({ schema, temporal }, ['reconcile', sessionId, '--codec', join(dir, 'dc.js')]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /dataConverter\.payloadConverterPath: no module at "\.\/missing"/);
  const plain = await runCliFor({ schema, temporal }, ['reconcile', sessionId, '--codec', join(dir, 'dc2.js')]);
  assert.match(plain.stderr, /exports no `payloadConverter`/);
});
