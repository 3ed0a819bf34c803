/**
 * A payload codec that cannot encode for a while (a codec server down, a key service timing
 * out) while a session runs: the worker holds the records it could not encode, and the work
 * that produced them, until the codec answers again. Afterwards the session's records are
 * complete (reconcile and verify clean, every scope ended), stored encoded, and the worker's
 * log said what happened without quoting any of it.
 *
 * Only the store's codec fails (ScopetrailPlugin's `payloadCodecs`); Temporal's own payloads
 * go through the same AES codec, working, so the session's course is Temporal's as usual.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { createWorker, type ScopetrailWorker } from '../../worker/create-worker';
import { quietTemporalLogs } from '../../worker/runtime-logging';
import { ScopeClient } from '../../client/scope-client';
import type { Store } from '../../store/types';
import { isEncodedText } from '../../cim/encoded-text';
import { dropTestSchema, openTestStore } from '../helpers/runtime';
import { payloadCodec } from '../fixtures/aes-codec';
import { createVaultTools } from '../fixtures/vault-tools';
import { vaultKeeper } from '../fixtures/vault-agents';

const AGENTS = require.resolve('../fixtures/vault-agents');
const SECRET = `zq7-vault-${randomBytes(4).toString('hex')}`;
const OBJECTIVE = `guard the vault of ${SECRET}`;
/** How long the codec fails once it has first been asked to encode. */
const OUTAGE_MS = 4_000;
const dataConverter: DataConverter = {
  payloadCodecs: [payloadCodec],
  failureConverterPath: require.resolve('../fixtures/encoded-failures'),
};

/** The AES codec behind a codec server that does not answer for OUTAGE_MS from its first call. */
class OutageCodec implements PayloadCodec {
  failedCalls = 0;
  private downUntil: number | undefined;

  async encode(payloads: Payload[]): Promise<Payload[]> {
    this.downUntil ??= Date.now() + OUTAGE_MS;
    if (Date.now() < this.downUntil) {
      this.failedCalls += 1;
      throw new Error('codec server http://127.0.0.1:1/encode did not answer');
    }
    return payloadCodec.encode(payloads);
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return payloadCodec.decode(payloads);
  }
}

let temporal: TemporalEndpoint;
let store: Store;
let schema: string;
let worker: ScopetrailWorker;
let running: Promise<void>;
let client: ScopeClient;
let sessionId: string;
let result: unknown;
const codec = new OutageCodec();
const logged: string[] = [];

before(async () => {
  quietTemporalLogs('ERROR');
  temporal = await ensureTemporal({ namespace: 'default', log: () => undefined });
  ({ store, schema } = await openTestStore());
  const taskQueue = `codec-outage-${randomBytes(5).toString('hex')}`;
  worker = await createWorker({
    agents: AGENTS,
    tools: Object.values(createVaultTools()),
    store,
    taskQueue,
    address: temporal.address,
    spool: { dir: join(tmpdir(), `scopetrail-spool-${taskQueue}`) },
    dataConverter,
    payloadCodecs: [codec],
    log: (message, err) => logged.push(`${message}${err === undefined ? '' : ` ${String(err)}`}`),
  });
  running = worker.run();
  client = await ScopeClient.connect({ address: temporal.address, taskQueue, store, dataConverter });
  const session = await client.startSession(vaultKeeper, { input: { secret: SECRET }, objective: OBJECTIVE });
  sessionId = session.sessionId;
  result = await session.result();
  await worker.recorder.drain();
  await worker.recorder.sealer.drain();
});

after(async () => {
  await client?.close();
  await worker?.shutdown();
  await running?.catch(() => undefined);
  await store?.close();
  if (schema) await dropTestSchema(schema);
  await temporal?.stop();
});

describe('a payload codec that cannot encode for a while during a session', () => {
  test('the session runs to its result, and the codec did fail while it ran', () => {
    assert.match(String(result), new RegExp(`^closed: echoed closer echoed keeper ${SECRET}`));
    assert.ok(codec.failedCalls > 0, 'the store\'s codec refused to encode');
  });

  test('its records are complete: reconcile finds 0 differences, verify 0 problems, every scope ended', async () => {
    const report = await client.reconcile(sessionId);
    assert.deepEqual(report.differences, []);
    assert.equal(report.runs, 4);
    const scopes = await store.scopesOfSession(sessionId);
    assert.equal(scopes.length, 4);
    assert.deepEqual(scopes.filter((s) => s.status === 'running').map((s) => s.scopeId), []);
    assert.deepEqual((await client.verify(sessionId)).problems, []);
  });

  test('what it could not encode was stored encoded once it could', async () => {
    const root = (await store.scopesOfSession(sessionId)).find((s) => s.scopeId === sessionId)!;
    assert.ok(isEncodedText(root.objective), `stored objective: ${root.objective?.slice(0, 40)}`);
    assert.equal((await client.scope(sessionId)).objective, OBJECTIVE);
  });

  test('the worker said the codec failed and that it is back, without quoting the records', () => {
    const text = logged.join('\n');
    assert.match(text, /CODEC FAILING: the payload codec could not encode records \(Error: codec server http:\/\/127\.0\.0\.1:1\/encode did not answer\)/);
    assert.match(text, /codec is back after \d+ s: \d+ held records encoded/);
    assert.ok(!text.includes(SECRET), text);
  });
});
