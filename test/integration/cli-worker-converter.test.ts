/**
 * `scopetrail worker --codec <module>` whose module gives `dataConverter.payloadConverterPath`
 * runs agents with that payload converter: sessions a client starts with it complete.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { ScopeClient } from '../../client/scope-client';
import type { Store } from '../../store/types';
import { TEST_DATABASE_URL, dropTestSchema, openTestStore } from '../helpers/runtime';
import { CLI_STORE_SKIP } from '../helpers/cli';
import { splitCaller } from '../fixtures/split-agents';
import { CUSTOM_ENCODING } from '../fixtures/custom-converter';

const ROOT = join(__dirname, '..', '..');
const skip = CLI_STORE_SKIP;
let temporal: TemporalEndpoint | undefined;
let store: Store | undefined;
let schema: string | undefined;
let child: ChildProcess | undefined;

after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await store?.close();
  if (schema) await dropTestSchema(schema);
  await temporal?.stop();
});

test('scopetrail worker takes a custom payload converter from --codec', { skip }, async () => {
  temporal = await ensureTemporal({ namespace: 'default', log: () => undefined });
  ({ store, schema } = await openTestStore());
  const taskQueue = `cli-conv-${randomBytes(4).toString('hex')}`;
  child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'scopetrail.js'), 'worker', '--json', '--database-url', TEST_DATABASE_URL, '--schema', schema, '--address', temporal.address, '--task-queue', taskQueue,
      '--agents', 'test/fixtures/split-agents.ts', '--tools', 'test/fixtures/echo-tools-module.ts', '--codec', 'test/fixtures/custom-data-converter.ts'],
    { cwd: ROOT, env: { ...process.env, SCOPETRAIL_FINGERPRINT_KEY: 'a'.repeat(64) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child!.stdout! }).once('line', () => resolve());
    child!.once('exit', (code) => reject(new Error(`the worker exited (${code}): ${stderr}`)));
  });
  const client = await ScopeClient.connect({ store: store!, address: temporal.address, taskQueue, dataConverter: { payloadConverterPath: require.resolve('../fixtures/custom-converter') } });
  try {
    const session = await client.startSession(splitCaller, { input: { text: 'converted', toolQueue: taskQueue } });
    const result = await Promise.race([session.result(), new Promise((_, reject) => setTimeout(() => reject(new Error(`no result in 30 s: ${stderr}`)), 30_000))]);
    assert.equal(result, 'converted');
    const history = await client.temporal.workflow.getHandle(session.sessionId).fetchHistory();
    const completed = history.events?.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes;
    const encoding = new TextDecoder().decode(completed?.result?.payloads?.[0]?.metadata?.encoding ?? new Uint8Array());
    assert.equal(encoding, CUSTOM_ENCODING, 'the worker encoded the result with the custom converter');
  } finally {
    await client.close();
  }
});
